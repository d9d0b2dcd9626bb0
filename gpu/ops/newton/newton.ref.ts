// float64 reference of the Newton (DEER / ParaRNN) solve of s_t = f(s_{t−1}, x_t) for all t at once:
// start from s_t = f(0, x_t) (f(s0, x_0) at t = 0), then repeat
//   r_t = f(s_{t−1}, x_t) − s_t,  J_t = ∂f/∂s_{t−1},  solve δ_t = J_t δ_{t−1} + r_t (δ_{−1} = 0),  s += δ.
// The residual max|r| of iterate k is residuals[k]. The backward pass at the solution is ordinary BPTT
// (diag-rnn.ref.ts), which is what the GPU's parallel adjoint must reproduce.

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';
import { jacobianRef, type DiagCell } from './diag-cells.js';
import { diagDims, initialAt, paramsAt, preAt, previousState } from './diag-rnn.ref.js';

export interface NewtonRefResult {
  /** iterates[k] = the states after k Newton steps, [B, T, S, d]. */
  iterates: CpuTensor[];
  /** residuals[k] = max |f(s_{t−1}) − s_t| of iterates[k]. */
  residuals: number[];
}

export function newtonRef(
  cell: DiagCell,
  x: CpuTensor,
  params: CpuTensor,
  iterations: number,
  s0?: CpuTensor,
): NewtonRefResult {
  const dims = diagDims(cell, x);
  const { B, T, d, S } = dims;
  const at = (b: number, t: number, q: number, u: number) => ((b * T + t) * S + q) * d + u;
  let s = cpuTensor([B, T, S, d]);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let u = 0; u < d; u++) {
        const sp = t === 0 ? initialAt(s0, dims, b, u) : new Array<number>(S).fill(0);
        cell
          .step(preAt(x, dims, b, t, u), paramsAt(params, dims, u), sp)
          .forEach((v, q) => (s.data[at(b, t, q, u)] = v));
      }
    }
  }
  const iterates = [s];
  const residuals: number[] = [];
  for (let k = 0; k <= iterations; k++) {
    const next = cpuTensor(s.shape, s.data);
    let residual = 0;
    for (let b = 0; b < B; b++) {
      for (let u = 0; u < d; u++) {
        let delta = new Array<number>(S).fill(0);
        for (let t = 0; t < T; t++) {
          const xt = preAt(x, dims, b, t, u);
          const p = paramsAt(params, dims, u);
          const sp = previousState(s, s0, dims, b, t, u);
          const f = cell.step(xt, p, sp);
          const J = jacobianRef(cell, xt, p, sp);
          const r = f.map((v, q) => v - s.data[at(b, t, q, u)]);
          r.forEach((v) => (residual = Math.max(residual, Math.abs(v))));
          delta = r.map((v, i) => v + J[i].reduce((acc, jik, k2) => acc + jik * delta[k2], 0));
          delta.forEach((v, q) => (next.data[at(b, t, q, u)] += v));
        }
      }
    }
    residuals.push(residual);
    if (k === iterations) break;
    s = next;
    iterates.push(s);
  }
  return { iterates, residuals };
}
