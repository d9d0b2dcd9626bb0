// Induction heads (Mamba's synthetic, after Olsson et al.): random tokens in which a TRIGGER token
// appears once followed by some token b; the sequence ends with TRIGGER again and the target there is b.
// Only that last position is scored. Tokens 0…D−1 fill the sequence, TRIGGER = D never appears in it
// except at those two places.

import type { Rng } from './random.js';
import { int, type TaskDefinition, type TaskParams } from './task.js';

export const inductionHeads: TaskDefinition = {
  name: 'induction-heads',
  title: 'Induction heads',
  description:
    'Random tokens with TRIGGER b somewhere, ending in TRIGGER; the target at the end is b. Tokens 0..D-1, TRIGGER D; only the last position is scored.',
  params: [
    int('seq_len', 256, 4, 1 << 20, 'Sequence length T'),
    int('num_tokens', 16, 2, 1 << 16, 'Alphabet size D (besides TRIGGER)'),
  ],
  vocabSize: (p) => p.num_tokens + 1,
  seqLen: (p) => p.seq_len,
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array) {
    const { seq_len: T, num_tokens: D } = p;
    for (let t = 0; t < T; t++) inputs[t] = rng.int(D);
    const at = rng.int(T - 2); // TRIGGER at `at`, b at at+1 ≤ T−2, final TRIGGER at T−1
    inputs[at] = D;
    inputs[T - 1] = D;
    targets[T - 1] = inputs[at + 1];
  },
};
