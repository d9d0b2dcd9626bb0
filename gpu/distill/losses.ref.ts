// float64 references of the distillation losses and their gradients (the oracle of tests/distill/losses.test.ts):
//   KL(teacher‖student) at temperature τ:  τ² · mean over scored rows of Σ_v p_v (log p_v − log q_v),
//     p = softmax(z_teacher / τ), q = softmax(z_student / τ)  (Hinton et al.'s τ² keeps gradients comparable
//     across temperatures); d/dz_student = τ · (q − p) / rows scored.
//   MSE:  mean over elements of (a − b)²;  d/da = 2 (a − b) / n.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';
import { logSoftmaxRef } from '../ops/softmax.ref.js';

function scaled(x: CpuTensor, factor: number): CpuTensor {
  return { shape: [...x.shape], data: x.data.map((v) => v * factor) };
}

/** Which rows count: target ≠ ignoreIndex (all rows without targets). */
function scoredRows(rows: number, targets: ArrayLike<number> | undefined, ignoreIndex: number): boolean[] {
  return Array.from({ length: rows }, (_, r) => !targets || targets[r] !== ignoreIndex);
}

export function klDivergenceRef(
  student: CpuTensor,
  teacher: CpuTensor,
  temperature: number,
  targets?: ArrayLike<number>,
  ignoreIndex = -100,
): CpuTensor {
  const [rows, vocab] = student.shape;
  const logQ = logSoftmaxRef(scaled(student, 1 / temperature));
  const logP = logSoftmaxRef(scaled(teacher, 1 / temperature));
  const scored = scoredRows(rows, targets, ignoreIndex);
  let total = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    if (!scored[r]) continue;
    count++;
    for (let v = 0; v < vocab; v++) {
      const i = r * vocab + v;
      total += Math.exp(logP.data[i]) * (logP.data[i] - logQ.data[i]);
    }
  }
  return cpuTensor([1], [count > 0 ? (temperature * temperature * total) / count : 0]);
}

/** Gradient of `g · klDivergenceRef` with respect to the student's logits. */
export function klDivergenceGradRef(
  student: CpuTensor,
  teacher: CpuTensor,
  temperature: number,
  g: CpuTensor,
  targets?: ArrayLike<number>,
  ignoreIndex = -100,
): CpuTensor {
  const [rows, vocab] = student.shape;
  const logQ = logSoftmaxRef(scaled(student, 1 / temperature));
  const logP = logSoftmaxRef(scaled(teacher, 1 / temperature));
  const scored = scoredRows(rows, targets, ignoreIndex);
  const count = scored.filter(Boolean).length;
  const dz = cpuTensor(student.shape);
  if (count === 0) return dz;
  const factor = (g.data[0] * temperature) / count;
  for (let r = 0; r < rows; r++) {
    if (!scored[r]) continue;
    for (let v = 0; v < vocab; v++) {
      const i = r * vocab + v;
      dz.data[i] = factor * (Math.exp(logQ.data[i]) - Math.exp(logP.data[i]));
    }
  }
  return dz;
}

export function mseRef(a: CpuTensor, b: CpuTensor): CpuTensor {
  let total = 0;
  for (let i = 0; i < a.data.length; i++) total += (a.data[i] - b.data[i]) ** 2;
  return cpuTensor([1], [total / a.data.length]);
}

/** Gradient of `g · mseRef` with respect to `a` (the student side; `b` is the teacher's constant). */
export function mseGradRef(a: CpuTensor, b: CpuTensor, g: CpuTensor): CpuTensor {
  const n = a.data.length;
  return { shape: [...a.shape], data: a.data.map((v, i) => (2 * g.data[0] * (v - b.data[i])) / n) };
}
