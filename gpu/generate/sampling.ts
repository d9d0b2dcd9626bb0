// Choosing the next token from one row of logits, on the CPU in float64: repetition penalty, temperature,
// top-k, top-p (nucleus), then a draw from a seeded stream. The order follows Hugging Face's logits
// processors (penalty → temperature → top-k → top-p), so the same settings mean the same thing there.
// Temperature 0 is greedy decoding; top-k = 1 is greedy too (ties go to the lowest id either way, as in the
// GPU argmax kernel, so the two paths agree exactly).

import { rng } from '../cpu/tensor.js';
import { nameSeed } from '../nn/module.js';

export interface SamplingOptions {
  /** 0 = greedy; otherwise logits are divided by it. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 = off. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = off. */
  topP: number;
  /** CTRL's penalty (Keskar et al. 2019) on tokens already in the context: positive logits ÷ r, negative × r; 1 = off. */
  repetitionPenalty: number;
  /** The same seed gives the same tokens (for the same logits). */
  seed: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, seed: 1 };

/** Fills defaults and refuses values that would silently do something else; messages name the option. */
export function resolveSampling(given: Partial<SamplingOptions> = {}): SamplingOptions {
  const o = { ...DEFAULT_SAMPLING, ...given };
  const fail = (name: string, rule: string, value: number) => {
    throw new RangeError(`sampling: ${name} must be ${rule} (got ${value})`);
  };
  if (!Number.isFinite(o.temperature) || o.temperature < 0) fail('temperature', 'a number ≥ 0', o.temperature);
  if (!Number.isInteger(o.topK) || o.topK < 0) fail('topK', 'an integer ≥ 0 (0 = off)', o.topK);
  if (!Number.isFinite(o.topP) || o.topP <= 0 || o.topP > 1) fail('topP', 'in (0, 1] (1 = off)', o.topP);
  if (!Number.isFinite(o.repetitionPenalty) || o.repetitionPenalty <= 0)
    fail('repetitionPenalty', 'a number > 0 (1 = off)', o.repetitionPenalty);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) fail('seed', 'an integer in [0, 2³²)', o.seed);
  return o;
}

/** Greedy decoding needs nothing but the argmax, which the GPU can compute (no logits readback). */
export function isPlainGreedy(o: SamplingOptions): boolean {
  return o.temperature === 0 && o.repetitionPenalty === 1;
}

/** One independent random stream per batch row, so a row's draws do not depend on the other rows. */
export function rowRandom(seed: number, row: number): () => number {
  return rng(nameSeed(seed, `generate.row.${row}`));
}

/** The first index of the maximum (ties → lowest id). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * The next token from `logits` (one row, already cut to the tokenizer's vocabulary). `context` holds the ids
 * the repetition penalty applies to (prompt and generated so far). Non-finite logits are an error: sampling
 * from them would silently produce garbage.
 */
export function sampleToken(
  logits: ArrayLike<number>,
  context: Iterable<number>,
  o: SamplingOptions,
  random: () => number,
): number {
  const scores = Float64Array.from(logits);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`sampling: logit ${i} is ${scores[i]} (the model diverged?)`);
  }
  if (o.repetitionPenalty !== 1) {
    for (const id of new Set(context)) {
      if (id < scores.length)
        scores[id] = scores[id] > 0 ? scores[id] / o.repetitionPenalty : scores[id] * o.repetitionPenalty;
    }
  }
  if (o.temperature === 0 || o.topK === 1) return argmax(scores);
  for (let i = 0; i < scores.length; i++) scores[i] /= o.temperature;

  // Candidates by descending score, ties by ascending id; sorting is only needed when a filter is on.
  let candidates = Array.from(scores.keys());
  if (o.topK > 0 || o.topP < 1) {
    candidates.sort((a, b) => scores[b] - scores[a] || a - b);
    if (o.topK > 0) candidates = candidates.slice(0, o.topK);
  }
  let top = -Infinity;
  for (const i of candidates) top = Math.max(top, scores[i]);
  let weights = candidates.map((i) => Math.exp(scores[i] - top));
  if (o.topP < 1) {
    const total = weights.reduce((a, b) => a + b, 0);
    let cumulative = 0;
    let keep = 0;
    while (keep < weights.length && cumulative < o.topP * total) cumulative += weights[keep++];
    candidates = candidates.slice(0, Math.max(1, keep));
    weights = weights.slice(0, candidates.length);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  let u = random() * total;
  for (let k = 0; k < candidates.length; k++) {
    u -= weights[k];
    if (u < 0) return candidates[k];
  }
  return candidates[candidates.length - 1]; // u within rounding of the total
}
