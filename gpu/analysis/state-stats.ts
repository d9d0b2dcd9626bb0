// Statistics of the recurrent state over time (Stuffed Mamba's analyze_states.py): after each streamed
// chunk, per layer, state entry and head, the RMS (the norm over √elements), mean, variance and largest
// magnitude, over the batch rows. A "head" is the entry's second axis ([B, H, …] → H heads: the heads of
// matrix states, the channels of diagonal ones); when that axis is wider than `maxHeads` it is split into
// `maxHeads` contiguous channel groups so a 2048-channel Mamba layer stays readable.

import type { HostTensor } from './stream.js';

export interface HeadStats {
  rms: number;
  mean: number;
  variance: number;
  maxAbs: number;
  /** Elements that are NaN or ±∞ (excluded from the other figures). */
  nonFinite: number;
}

export interface HeadLayout {
  heads: number;
  /** Channels of the second axis per reported head (1 = real heads/channels). */
  groupSize: number;
}

export const MAX_HEADS = 16;

export function headLayout(shape: readonly number[], maxHeads = MAX_HEADS): HeadLayout {
  const axis = shape.length >= 2 ? shape[1] : 1;
  if (axis <= maxHeads) return { heads: Math.max(axis, 1), groupSize: 1 };
  const groupSize = Math.ceil(axis / maxHeads);
  return { heads: Math.ceil(axis / groupSize), groupSize };
}

/** Per head statistics of one state entry [B, H, …], over the batch rows and the head's elements. */
export function entryStats(t: HostTensor, maxHeads = MAX_HEADS): HeadStats[] {
  const [B = 1, axis = 1] = t.shape;
  const { heads, groupSize } = headLayout(t.shape, maxHeads);
  const inner = axis === 0 || B === 0 ? 0 : t.data.length / (B * axis);
  const acc = Array.from({ length: heads }, () => ({ n: 0, sum: 0, sumSq: 0, maxAbs: 0, nonFinite: 0 }));
  for (let b = 0; b < B; b++)
    for (let c = 0; c < axis; c++) {
      const a = acc[Math.floor(c / groupSize)];
      const base = (b * axis + c) * inner;
      for (let i = 0; i < inner; i++) {
        const v = t.data[base + i];
        if (!Number.isFinite(v)) {
          a.nonFinite++;
          continue;
        }
        a.n++;
        a.sum += v;
        a.sumSq += v * v;
        a.maxAbs = Math.max(a.maxAbs, Math.abs(v));
      }
    }
  return acc.map((a) => {
    const mean = a.n ? a.sum / a.n : NaN;
    const meanSq = a.n ? a.sumSq / a.n : NaN;
    return {
      rms: Math.sqrt(meanSq),
      mean,
      variance: Math.max(0, meanSq - mean * mean),
      maxAbs: a.maxAbs,
      nonFinite: a.nonFinite,
    };
  });
}

/**
 * Entries that are not memory the model accumulates but fixed windows or counters: short-conv and
 * token-shift histories, positions, reset flags, and an attention layer's KV cache (it grows by design).
 */
export function isMemoryEntry(family: string, entry: string): boolean {
  if (family === 'attention' || family === 'convolution') return false;
  return !['conv', 'position', 'reset', 'shift'].includes(entry) && !entry.endsWith('_conv1d');
}
