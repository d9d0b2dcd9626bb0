// float64 reference of `tokenScores`: per row the negative log-likelihood of the target, the first
// arg-max index, and the scored flag.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';

export function tokenScoresRef(logits: CpuTensor, targets: ArrayLike<number>, ignoreIndex = -100): CpuTensor {
  const [rows, vocab] = logits.shape;
  const out = cpuTensor([rows, 3]);
  for (let n = 0; n < rows; n++) {
    const row = logits.data.subarray(n * vocab, (n + 1) * vocab);
    let best = 0;
    for (let k = 1; k < vocab; k++) if (row[k] > row[best]) best = k;
    let sum = 0;
    for (let k = 0; k < vocab; k++) sum += Math.exp(row[k] - row[best]);
    const lse = row[best] + Math.log(sum);
    const t = targets[n];
    const scored = t !== ignoreIndex;
    out.data[3 * n] = !scored ? 0 : t >= 0 && t < vocab ? lse - row[t] : NaN;
    out.data[3 * n + 1] = best;
    out.data[3 * n + 2] = scored ? 1 : 0;
  }
  return out;
}
