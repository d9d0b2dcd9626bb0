// float64 reference of the mean cross-entropy with an ignore index, and its gradient.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';
import { logSoftmaxRef } from './softmax.ref.js';

/** Mean of −log softmax(logits)[n, target[n]] over rows whose target ≠ ignoreIndex; 0 if none. */
export function crossEntropyRef(logits: CpuTensor, targets: ArrayLike<number>, ignoreIndex = -100): CpuTensor {
  const [rows, vocab] = logits.shape;
  const logp = logSoftmaxRef(logits);
  let total = 0;
  let count = 0;
  for (let n = 0; n < rows; n++) {
    const t = targets[n];
    if (t === ignoreIndex) continue;
    count++;
    total += t >= 0 && t < vocab ? -logp.data[n * vocab + t] : NaN;
  }
  return cpuTensor([1], [count > 0 ? total / count : 0]);
}

/** g/count · (softmax − onehot) on counted rows, 0 on ignored rows, NaN on out-of-range rows. */
export function crossEntropyGradRef(
  logits: CpuTensor,
  targets: ArrayLike<number>,
  g: CpuTensor,
  ignoreIndex = -100,
): CpuTensor {
  const [rows, vocab] = logits.shape;
  const logp = logSoftmaxRef(logits);
  let count = 0;
  for (let n = 0; n < rows; n++) if (targets[n] !== ignoreIndex) count++;
  const grad = cpuTensor(logits.shape);
  for (let n = 0; n < rows; n++) {
    if (targets[n] === ignoreIndex) continue;
    const inRange = targets[n] >= 0 && targets[n] < vocab;
    for (let k = 0; k < vocab; k++) {
      if (!inRange) {
        grad.data[n * vocab + k] = NaN;
        continue;
      }
      grad.data[n * vocab + k] =
        (g.data[0] / count) * (Math.exp(logp.data[n * vocab + k]) - (k === targets[n] ? 1 : 0));
    }
  }
  return grad;
}
