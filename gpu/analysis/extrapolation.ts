// Length extrapolation from per-token scores (evals.md §1, §3): the loss at each position averaged over
// sequences, averaged again over fixed buckets (Stuffed Mamba's eval_per_token.py, LM-Infinite's per-index
// mean), the loss at 1, 2, 4, 8, 16× the training length, and the extrapolation factor: how far past the
// training length the bucket perplexity stays within (1 + ε) of the in-distribution perplexity.

import { SCORE } from './token-scores.js';

export interface PositionLoss {
  /** Mean loss at each position over the sequences that score it (NaN where none does). */
  loss: Float64Array;
  /** Sequences scoring each position. */
  count: Int32Array;
}

/** scores [batch, length, 3] → mean loss per position. */
export function positionLoss(scores: Float32Array, batch: number, length: number): PositionLoss {
  const loss = new Float64Array(length);
  const count = new Int32Array(length);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < length; t++) {
      const at = (b * length + t) * 3;
      if (scores[at + SCORE.SCORED] === 0) continue;
      loss[t] += scores[at + SCORE.NLL];
      count[t]++;
    }
  for (let t = 0; t < length; t++) loss[t] = count[t] ? loss[t] / count[t] : NaN;
  return { loss, count };
}

export interface Bucket {
  /** First position (0-based) and one past the last. */
  start: number;
  end: number;
  loss: number;
  perplexity: number;
  /** Scored tokens that went into the mean. */
  tokens: number;
}

/** Token-weighted mean loss over [start, end). NaN when nothing there is scored. */
export function meanLoss(p: PositionLoss, start: number, end: number): { loss: number; tokens: number } {
  let sum = 0;
  let tokens = 0;
  for (let t = Math.max(0, start); t < Math.min(end, p.loss.length); t++) {
    if (!p.count[t]) continue;
    sum += p.loss[t] * p.count[t];
    tokens += p.count[t];
  }
  return { loss: tokens ? sum / tokens : NaN, tokens };
}

export function buckets(p: PositionLoss, size: number): Bucket[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`bucket size ${size} must be a positive integer`);
  const out: Bucket[] = [];
  for (let start = 0; start < p.loss.length; start += size) {
    const end = Math.min(start + size, p.loss.length);
    const { loss, tokens } = meanLoss(p, start, end);
    out.push({ start, end, loss, perplexity: Math.exp(loss), tokens });
  }
  return out;
}

export interface MultipleLoss {
  multiple: number;
  /** The window [start, end) the loss is averaged over: the `window` positions ending at multiple × T. */
  start: number;
  end: number;
  loss: number;
  perplexity: number;
}

/** Loss in the window of `window` positions that ends at m·trainLength, for each m that fits. */
export function lossAtMultiples(
  p: PositionLoss,
  trainLength: number,
  multiples: readonly number[],
  window: number,
): MultipleLoss[] {
  return multiples
    .filter((m) => m * trainLength <= p.loss.length)
    .map((m) => {
      const end = m * trainLength;
      const start = Math.max(0, end - Math.min(window, trainLength));
      const { loss } = meanLoss(p, start, end);
      return { multiple: m, start, end, loss, perplexity: Math.exp(loss) };
    });
}

export interface ExtrapolationFactor {
  /** Largest position / T up to which every bucket past T stays within (1 + ε) of the perplexity at T. */
  factor: number;
  /** True when no bucket broke the tolerance: the factor is then a lower bound (the probe's length). */
  lowerBound: boolean;
  /** First position of the first bucket over the tolerance, if any. */
  breaksAt: number | null;
  referencePerplexity: number;
  tolerance: number;
}

/**
 * The reference is the loss of the `window` positions ending at T (as `lossAtMultiples` at m = 1); the
 * buckets are walked from T on, and the first one whose perplexity exceeds (1 + ε)·reference ends the
 * run of good buckets. A NaN bucket (non-finite loss) breaks it too.
 */
export function extrapolationFactor(
  p: PositionLoss,
  trainLength: number,
  bucketSize: number,
  window: number,
  tolerance: number,
): ExtrapolationFactor {
  const [reference] = lossAtMultiples(p, trainLength, [1], window);
  if (!reference || !Number.isFinite(reference.loss))
    throw new RangeError(`extrapolation: no scored positions up to the training length ${trainLength}`);
  const limit = reference.loss + Math.log1p(tolerance);
  const length = p.loss.length;
  for (let start = trainLength; start < length; start += bucketSize) {
    const end = Math.min(start + bucketSize, length);
    const { loss, tokens } = meanLoss(p, start, end);
    if (tokens === 0) continue;
    if (!(loss <= limit))
      return {
        factor: start / trainLength,
        lowerBound: false,
        breaksAt: start,
        referencePerplexity: reference.perplexity,
        tolerance,
      };
  }
  return {
    factor: length / trainLength,
    lowerBound: true,
    breaksAt: null,
    referencePerplexity: reference.perplexity,
    tolerance,
  };
}
