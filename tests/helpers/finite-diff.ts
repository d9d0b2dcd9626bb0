// Finite-difference gradient checks of float64 references: the reference's analytic gradient of
// L = sum(f(inputs) · upstream) must match central differences, element by element.

import type { CpuTensor } from '../../gpu/cpu/tensor.js';
import { rng } from '../../gpu/cpu/tensor.js';

export function checkGradients(
  f: (inputs: CpuTensor[]) => CpuTensor,
  inputs: CpuTensor[],
  upstream: CpuTensor,
  analytic: (CpuTensor | null)[],
  { eps = 1e-6, tolerance = 1e-5, samples = 24, seed = 7 } = {},
): void {
  const loss = (xs: CpuTensor[]) => {
    const y = f(xs);
    let total = 0;
    for (let i = 0; i < y.data.length; i++) total += y.data[i] * upstream.data[i];
    return total;
  };
  const pick = rng(seed);
  inputs.forEach((input, k) => {
    const grad = analytic[k];
    if (!grad) return;
    const n = input.data.length;
    const indices = n <= samples ? [...Array(n).keys()] : Array.from({ length: samples }, () => Math.floor(pick() * n));
    let scale = 0;
    for (const v of grad.data) scale = Math.max(scale, Math.abs(v));
    for (const i of indices) {
      const saved = input.data[i];
      input.data[i] = saved + eps;
      const plus = loss(inputs);
      input.data[i] = saved - eps;
      const minus = loss(inputs);
      input.data[i] = saved;
      const numeric = (plus - minus) / (2 * eps);
      const error = Math.abs(numeric - grad.data[i]) / Math.max(scale, 1e-8);
      if (!(error <= tolerance)) {
        throw new Error(
          `finite differences: input ${k} element ${i}: analytic ${grad.data[i]} vs numeric ${numeric} (relative ${error.toExponential(2)})`,
        );
      }
    }
  });
}
