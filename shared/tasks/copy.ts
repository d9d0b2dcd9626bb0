// Copying tasks.
// copy: S = x1…xL BLANK×lag SEP x1…xL; inputs = S[0:T], targets = S[1:T+1] scored where the target is
//   part of the copy (from the SEP position on), so T = 2L + lag. Data tokens 0…D−1, BLANK = D, SEP = D+1.
// selective-copy (Mamba, Gu & Dao 2023): a context of T − N tokens that is BLANK except for N data
//   tokens at random positions, then N MARK tokens; the target at the i-th MARK is the i-th data token (in
//   order of position). No teacher forcing: the marks carry no information. Data 0…D−1, BLANK = D, MARK = D+1.

import type { Rng } from './random.js';
import { int, type TaskDefinition, type TaskParams } from './task.js';

export const copy: TaskDefinition = {
  name: 'copy',
  title: 'Copy',
  description:
    'x1..xL, BLANK×lag, SEP, then x1..xL again; scored on predicting the copy. Data 0..D-1, BLANK D, SEP D+1; seq_len = 2L + lag.',
  params: [
    int('copy_len', 16, 1, 1 << 16, 'Tokens L to copy'),
    int('lag', 0, 0, 1 << 20, 'BLANK tokens between the data and SEP'),
    int('num_tokens', 8, 2, 1 << 16, 'Data alphabet size D'),
  ],
  vocabSize: (p) => p.num_tokens + 2,
  seqLen: (p) => 2 * p.copy_len + p.lag,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const { copy_len: L, lag, num_tokens: D } = p;
    const data = Array.from({ length: L }, () => rng.int(D));
    const s = [...data, ...Array<number>(lag).fill(D), D + 1, ...data];
    for (let t = 0; t < s.length - 1; t++) inputs[t] = s[t];
    for (let j = 0; j < L; j++) targets[L + lag + j] = data[j]; // position of SEP, then the copy so far
  },
};

export const selectiveCopy: TaskDefinition = {
  name: 'selective-copy',
  title: 'Selective copy',
  description:
    'N data tokens scattered among BLANKs, then N MARKs; the target at the i-th MARK is the i-th data token. Data 0..D-1, BLANK D, MARK D+1.',
  params: [
    int('seq_len', 256, 2, 1 << 20, 'Sequence length T (context T − N, then N marks)'),
    int('num_data', 16, 1, 1 << 16, 'Data tokens N to remember'),
    int('num_tokens', 16, 2, 1 << 16, 'Data alphabet size D'),
  ],
  check: (p) =>
    p.seq_len - p.num_data < p.num_data
      ? `seq_len ${p.seq_len} leaves a context of ${p.seq_len - p.num_data}, fewer than num_data ${p.num_data}`
      : null,
  vocabSize: (p) => p.num_tokens + 2,
  seqLen: (p) => p.seq_len,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const { seq_len: T, num_data: N, num_tokens: D } = p;
    const context = T - N;
    const positions = rng.distinct(N, 0, context).sort((a, b) => a - b);
    inputs.fill(D, 0, context);
    inputs.fill(D + 1, context);
    positions.forEach((at, i) => {
      const token = rng.int(D);
      inputs[at] = token;
      targets[context + i] = token;
    });
  },
};
