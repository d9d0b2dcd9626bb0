// Helpers of the class-A layer tests: gradients of float64 references by central differences (the
// reference backward of whole mixers), and GPU-side utilities.

import { backward } from '../../gpu/autograd.js';
import { cpuTensor, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import type { Tensor } from '../../gpu/tensor.js';
import { upload } from '../helpers/gpu.js';

/**
 * ∂/∂inputs of Σ f(inputs) · upstream by central differences on every element (float64, so the error is
 * ~eps² · f''' ≈ 1e-10 relative: far below the 1e-4 the GPU is held to).
 */
export function centralDifferences(
  f: (inputs: CpuTensor[]) => CpuTensor,
  inputs: CpuTensor[],
  upstream: CpuTensor,
  eps = 1e-5,
): CpuTensor[] {
  const loss = () => {
    const y = f(inputs);
    let total = 0;
    for (let i = 0; i < y.data.length; i++) total += y.data[i] * upstream.data[i];
    return total;
  };
  const center = loss();
  const at = (input: CpuTensor, i: number, value: number) => {
    const saved = input.data[i];
    input.data[i] = value;
    const l = loss();
    input.data[i] = saved;
    return l;
  };
  return inputs.map((input) => {
    const grad = cpuTensor(input.shape);
    for (let i = 0; i < input.data.length; i++) {
      const x = input.data[i];
      const plus = at(input, i, x + eps);
      const minus = at(input, i, x - eps);
      // Piecewise functions (minGRU's g, ReLU) have kinks: when the two one-sided slopes disagree, the
      // step straddles one, so shrink it until the point is smooth at that scale (a kink within 1e-9 of a
      // random input is vanishingly rare).
      const forward = (plus - center) / eps;
      const backwardSlope = (center - minus) / eps;
      if (Math.abs(forward - backwardSlope) > 1e-3 * Math.max(Math.abs(forward), Math.abs(backwardSlope), 1e-2)) {
        const small = eps / 1e4;
        grad.data[i] = (at(input, i, x + small) - at(input, i, x - small)) / (2 * small);
      } else grad.data[i] = (plus - minus) / (2 * eps);
    }
    return grad;
  });
}

/** Backpropagates Σ y · upstream on the GPU. */
export function backwardWith(engine: Engine, y: Tensor, upstream: CpuTensor): void {
  backward(sumAll(mul(y, upload(engine, upstream))));
}

/** Splits [B, T, ...] into T tensors of [B, ...] (for step-by-step runs). */
export function tokens(x: CpuTensor): CpuTensor[] {
  const [B, T] = x.shape;
  const inner = x.data.length / B / T;
  return Array.from({ length: T }, (_, t) => {
    const data = new Float64Array(B * inner);
    for (let b = 0; b < B; b++) data.set(x.data.subarray((b * T + t) * inner, (b * T + t + 1) * inner), b * inner);
    return cpuTensor([B, ...x.shape.slice(2)], data);
  });
}

/** Stacks T tensors of [B, ...] into [B, T, ...]. */
export function stack(steps: CpuTensor[]): CpuTensor {
  const [B] = steps[0].shape;
  const inner = steps[0].data.length / B;
  const T = steps.length;
  const out = cpuTensor([B, T, ...steps[0].shape.slice(1)]);
  steps.forEach((s, t) => {
    for (let b = 0; b < B; b++) out.data.set(s.data.subarray(b * inner, (b + 1) * inner), (b * T + t) * inner);
  });
  return out;
}
