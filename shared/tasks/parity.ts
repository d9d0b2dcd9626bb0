// Parity (the state-tracking probe of Grazzi et al. 2024): n random bits, n drawn uniformly from
// [min_bits, max_bits], then EQ; the target at EQ is the parity (XOR) of the bits. Shorter examples are
// padded with PAD after EQ (unscored), so train-short / test-long sweeps share one format. With
// running = 1 every bit position is scored too, with the parity of the bits so far (cumulative parity).
// Tokens: 0, 1, EQ = 2, PAD = 3; seq_len = max_bits + 1.

import type { Rng } from './random.js';
import { int, type TaskDefinition, type TaskParams } from './task.js';

export const PARITY = { EQ: 2, PAD: 3 } as const;

export const parity: TaskDefinition = {
  name: 'parity',
  title: 'Parity',
  description:
    'Bits b1..bn (n in [min_bits, max_bits]) then EQ; target at EQ = XOR of the bits (and at every bit when running = 1). Tokens 0, 1, EQ 2, PAD 3.',
  params: [
    int('min_bits', 3, 1, 1 << 20, 'Fewest bits'),
    int('max_bits', 40, 1, 1 << 20, 'Most bits (seq_len = max_bits + 1)'),
    int('running', 0, 0, 1, '1: also score the parity so far at every bit'),
  ],
  check: (p) => (p.min_bits > p.max_bits ? `min_bits ${p.min_bits} is above max_bits ${p.max_bits}` : null),
  vocabSize: () => 4,
  seqLen: (p) => p.max_bits + 1,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const n = rng.range(p.min_bits, p.max_bits);
    let xor = 0;
    for (let i = 0; i < n; i++) {
      const bit = rng.int(2);
      xor ^= bit;
      inputs[i] = bit;
      if (p.running) targets[i] = xor;
    }
    inputs[n] = PARITY.EQ;
    targets[n] = xor;
    inputs.fill(PARITY.PAD, n + 1);
  },
};
