// Modular arithmetic with precedence (Fan, Chi & Rudnicky 2024, "ModArith"): an expression
// n0 op1 n1 op2 n2 … of numbers in [0, M) and operators + − ×, × binding tighter than + and −. The target
// at every number position is the value of the expression so far, mod M (only the last number when
// final_only = 1); operator positions are not scored. Tokens: numbers 0…M−1, + = M, − = M+1, × = M+2.
// seq_len is odd: (seq_len + 1)/2 numbers and (seq_len − 1)/2 operators.

import type { Rng } from './random.js';
import { int, type TaskDefinition, type TaskParams } from './task.js';

export const modularArithmetic: TaskDefinition = {
  name: 'modular-arithmetic',
  title: 'Modular arithmetic',
  description:
    'n0 op n1 op n2 … (ops + − ×, × first); target at each number = value so far mod M. Numbers 0..M-1, + M, − M+1, × M+2.',
  params: [
    int('modulus', 5, 2, 1000, 'Modulus M'),
    int('seq_len', 39, 1, 1 << 20, 'Sequence length (odd)'),
    int('final_only', 0, 0, 1, '1: score only the final value'),
  ],
  check: (p) => (p.seq_len % 2 === 0 ? `seq_len ${p.seq_len} must be odd (numbers and operators alternate)` : null),
  vocabSize: (p) => p.modulus + 3,
  seqLen: (p) => p.seq_len,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const M = p.modulus;
    const mod = (x: number) => ((x % M) + M) % M;
    // Running evaluation: `sum` holds the finished terms, `term` the product being built.
    let sum = 0;
    let term = rng.int(M);
    inputs[0] = term;
    const last = p.seq_len - 1;
    if (!p.final_only || last === 0) targets[0] = term;
    for (let t = 1; t < p.seq_len; t += 2) {
      const op = rng.int(3);
      const n = rng.int(M);
      inputs[t] = M + op;
      inputs[t + 1] = n;
      if (op === 2) term = mod(term * n);
      else {
        sum = mod(sum + term);
        term = op === 0 ? n : mod(-n);
      }
      if (!p.final_only || t + 1 === last) targets[t + 1] = mod(sum + term);
    }
  },
};
