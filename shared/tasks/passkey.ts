// Passkey retrieval in token form (after the InfiniteBench/Stuffed Mamba prompt): a filler pattern that
// repeats, with the needle KEY d1…dk END hidden at a chosen depth, then QUERY, after which the model must
// produce the k digits. Token ids: digits 0–9, KEY = 10, END = 11, QUERY = 12, filler 13 … 13+F−1 (the
// filler cycles through them, like the repeated "The grass is green…" block). The full sequence is
// S = filler[0:m] KEY d END filler[m:] QUERY d, of length T+1; inputs = S[0:T], targets = S[1:T+1] scored
// only where the target is an answer digit. The needle starts after m = floor(depth · fillerLength) filler
// tokens, depth drawn uniformly from [depth_min, depth_max] (set both to fix it).

import type { Rng } from './random.js';
import { int, type TaskDefinition, type TaskParams } from './task.js';

export const PASSKEY = { KEY: 10, END: 11, QUERY: 12, FILLER: 13 } as const;

export const passkey: TaskDefinition = {
  name: 'passkey',
  title: 'Passkey retrieval',
  description:
    'Repeating filler with "KEY d1..dk END" hidden at a chosen depth, then QUERY; the targets after QUERY are the k digits. Digits 0-9, KEY 10, END 11, QUERY 12, filler from 13.',
  params: [
    int('seq_len', 256, 8, 1 << 20, 'Sequence length T'),
    int('digits', 5, 1, 20, 'Digits k in the passkey'),
    int('filler_tokens', 8, 1, 1024, 'Distinct filler tokens F, cycled'),
    { name: 'depth_min', description: 'Smallest needle depth (0 = start)', default: 0, min: 0, max: 1, integer: false },
    {
      name: 'depth_max',
      description: 'Largest needle depth (1 = just before the query)',
      default: 1,
      min: 0,
      max: 1,
      integer: false,
    },
  ],
  check(p) {
    if (p.depth_min > p.depth_max) return `depth_min ${p.depth_min} is above depth_max ${p.depth_max}`;
    if (p.seq_len + 1 < 2 * p.digits + 3)
      return `seq_len ${p.seq_len} is too short for a ${p.digits}-digit needle and answer (needs ≥ ${2 * p.digits + 2})`;
    return null;
  },
  vocabSize: (p) => PASSKEY.FILLER + p.filler_tokens,
  seqLen: (p) => p.seq_len,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const { seq_len: T, digits: k, filler_tokens: F } = p;
    const key = Array.from({ length: k }, () => rng.int(10));
    const fillerLength = T + 1 - (2 * k + 3);
    const depth = p.depth_min + (p.depth_max - p.depth_min) * rng.next();
    const m = Math.min(fillerLength, Math.floor(depth * fillerLength));
    const s: number[] = [];
    for (let i = 0; i < m; i++) s.push(PASSKEY.FILLER + (i % F));
    s.push(PASSKEY.KEY, ...key, PASSKEY.END);
    for (let i = m; i < fillerLength; i++) s.push(PASSKEY.FILLER + (i % F));
    s.push(PASSKEY.QUERY, ...key);
    for (let t = 0; t < T; t++) inputs[t] = s[t];
    for (let j = 0; j < k; j++) targets[T - k + j] = key[j]; // S[T-k+1+j] is answer digit j
  },
};
