// float64 reference of the rotary position embedding (RoFormer; fla's RotaryEmbedding): channel pairs
// of each head are rotated by θ = p · base^(−2f/D) at absolute position p and frequency index f.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';

export interface RotaryRefOptions {
  /** Position of token 0 per batch row (default 0). */
  offset?: number[];
  base?: number;
  /** Pairs (2f, 2f+1) (GPT-J style) instead of (f, f + D/2) (GPT-NeoX / fla default). */
  interleaved?: boolean;
  /** −1 rotates backwards (the adjoint, i.e. the backward pass). */
  direction?: 1 | -1;
}

/** x: [B, T, H, D] with D even. */
export function rotaryRef(x: CpuTensor, o: RotaryRefOptions = {}): CpuTensor {
  const [B, T, H, D] = x.shape;
  const half = D / 2;
  const base = o.base ?? 10000;
  const y = cpuTensor(x.shape);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = (o.offset?.[b] ?? 0) + t;
      for (let h = 0; h < H; h++) {
        const row = ((b * T + t) * H + h) * D;
        for (let f = 0; f < half; f++) {
          const theta = (o.direction ?? 1) * p * Math.pow(base, (-2 * f) / D);
          const [i, j] = o.interleaved ? [2 * f, 2 * f + 1] : [f, f + half];
          const x1 = x.data[row + i];
          const x2 = x.data[row + j];
          y.data[row + i] = x1 * Math.cos(theta) - x2 * Math.sin(theta);
          y.data[row + j] = x1 * Math.sin(theta) + x2 * Math.cos(theta);
        }
      }
    }
  }
  return y;
}
