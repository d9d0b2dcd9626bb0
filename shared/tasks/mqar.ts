// MQAR — multi-query associative recall, as Zoology's generator (zoology/data/multiquery_ar.py) builds it.
// Keys come from [1, V/2), values from [V/2, V); an example opens with num_kv_pairs distinct keys, each
// followed by its value (k v k v …, repeated num_passes times for JRT-style re-reading). In the rest, every
// key is asked once: query slot g (the key goes at position context + 2g) is drawn without replacement
// with p(g) ∝ (g+1)^(power_a − 1), which strongly favours short gaps. The target at a query key's position
// is its value; everything else is ignored. Other positions hold 0, or random tokens from [0, V) when
// random_non_queries = 1 (Zoology's default; its paper's Figure 2 used 0). The random fillers come from
// the whole vocabulary, keys included: at Zoology's V = 8192 a key almost never reappears as a filler, but
// at V = 128 and T = 64 each key does ~0.4 times per sequence (a distractor before its query), so small
// vocabularies train noticeably slower with them (docs/examples/README.md §3).

import type { Rng } from './random.js';
import { int, type TaskDefinition, type TaskParams } from './task.js';

export const mqar: TaskDefinition = {
  name: 'mqar',
  title: 'MQAR (multi-query associative recall)',
  description:
    'Key-value pairs k1 v1 … kN vN, then each key queried once at power-law-distributed gaps; the target at a query is its value. Keys in [1, V/2), values in [V/2, V).',
  params: [
    int('vocab_size', 8192, 4, 1 << 20, 'Vocabulary size V (Zoology: 8192); must exceed seq_len'),
    int('seq_len', 64, 4, 1 << 16, 'Sequence length T (even)'),
    int('num_kv_pairs', 4, 1, 1 << 14, 'Key-value pairs N per example'),
    {
      name: 'power_a',
      description: 'Power-law exponent a of query gaps (1 = uniform)',
      default: 0.01,
      min: 1e-4,
      max: 1,
      integer: false,
    },
    int('random_non_queries', 1, 0, 1, '1: fill unused positions with random tokens; 0: with token 0'),
    int('num_passes', 1, 1, 8, 'Times the key-value block is repeated (JRT)'),
  ],
  check(p) {
    if (p.seq_len % 2) return `seq_len ${p.seq_len} must be even`;
    if (p.vocab_size <= p.seq_len) return `vocab_size ${p.vocab_size} must exceed seq_len ${p.seq_len}`;
    const needed = 2 * p.num_kv_pairs * p.num_passes + 2 * p.num_kv_pairs;
    if (needed > p.seq_len)
      return `2·num_kv_pairs·num_passes + 2·num_kv_pairs = ${needed} exceeds seq_len ${p.seq_len}`;
    const keys = Math.floor(p.vocab_size / 2) - 1;
    if (p.num_kv_pairs > keys) return `num_kv_pairs ${p.num_kv_pairs} exceeds the ${keys} available keys`;
    return null;
  },
  vocabSize: (p) => p.vocab_size,
  seqLen: (p) => p.seq_len,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const { vocab_size: V, seq_len: T, num_kv_pairs: N, num_passes: passes } = p;
    const half = Math.floor(V / 2);
    const keys = rng.distinct(N, 1, half);
    const values = rng.distinct(N, half, V);
    const context = 2 * N * passes;
    for (let pass = 0; pass < passes; pass++) {
      for (let j = 0; j < N; j++) {
        inputs[pass * 2 * N + 2 * j] = keys[j];
        inputs[pass * 2 * N + 2 * j + 1] = values[j];
      }
    }
    const space = (T - context) / 2;
    const gaps = powerLawSlots(rng, space, N, p.power_a);
    for (let j = 0; j < N; j++) {
      const at = context + 2 * gaps[j];
      inputs[at] = keys[j];
      targets[at] = values[j];
    }
    // Zoology replaces every 0 in the inputs (never a key or value: those are ≥ 1) with a random token.
    if (p.random_non_queries) for (let t = 0; t < T; t++) if (inputs[t] === 0) inputs[t] = rng.int(V);
  },
};

/**
 * `count` distinct slots of [0, space), drawn one after another with probability ∝ (g+1)^(a−1) among
 * the slots not yet taken (numpy's choice(replace=False, p=…)).
 */
function powerLawSlots(rng: Rng, space: number, count: number, a: number): number[] {
  const weights = Array.from({ length: space }, (_, g) => (g + 1) ** (a - 1));
  let total = weights.reduce((s, w) => s + w, 0);
  const slots: number[] = [];
  for (let k = 0; k < count; k++) {
    let r = rng.next() * total;
    let g = 0;
    while (g < space - 1 && (weights[g] === 0 || r >= weights[g])) {
      r -= weights[g];
      g++;
    }
    while (weights[g] === 0) g--; // rounding ran past the last free slot
    slots.push(g);
    total -= weights[g];
    weights[g] = 0;
  }
  return slots;
}
