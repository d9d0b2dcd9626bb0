// float64 reference of the diagonal (ParaRNN) cells run sequentially: a plain loop over time, and
// backpropagation through time as a plain reverse loop. The oracle for the sequential kernels, for the
// Newton solver (which must converge to the same states) and for its adjoint backward.
//
// Layouts: x [B, T, NI·d] (block k = pre-activation k), params [NP, d], s0 [B, S, d],
// states [B, T, S, d], y [B, T, d] (the `output` component of the state).

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';
import type { DiagCell } from './diag-cells.js';

export interface DiagDims {
  B: number;
  T: number;
  d: number;
  NI: number;
  NP: number;
  S: number;
}

export function diagDims(cell: DiagCell, x: CpuTensor): DiagDims {
  const [B, T, features] = x.shape;
  const NI = cell.pre.length;
  return { B, T, d: features / NI, NI, NP: cell.params.length, S: cell.states.length };
}

/** x_t, p and s for one (b, t, unit) as plain arrays. */
export const preAt = (x: CpuTensor, { T, d, NI }: DiagDims, b: number, t: number, u: number) =>
  Array.from({ length: NI }, (_, k) => x.data[(b * T + t) * NI * d + k * d + u]);
export const paramsAt = (p: CpuTensor, { d, NP }: DiagDims, u: number) =>
  Array.from({ length: NP }, (_, k) => p.data[k * d + u]);
export const stateAt = (states: CpuTensor, { T, d, S }: DiagDims, b: number, t: number, u: number) =>
  Array.from({ length: S }, (_, q) => states.data[((b * T + t) * S + q) * d + u]);
export const initialAt = (s0: CpuTensor | undefined, { d, S }: DiagDims, b: number, u: number) =>
  Array.from({ length: S }, (_, q) => s0?.data[(b * S + q) * d + u] ?? 0);

/** The state before step t: s_{t−1}, or the initial state at t = 0. */
export function previousState(
  states: CpuTensor,
  s0: CpuTensor | undefined,
  dims: DiagDims,
  b: number,
  t: number,
  u: number,
) {
  return t > 0 ? stateAt(states, dims, b, t - 1, u) : initialAt(s0, dims, b, u);
}

/** The output component of every state: y [B, T, d]. */
export function outputsOf(cell: DiagCell, states: CpuTensor): CpuTensor {
  const [B, T, S, d] = states.shape;
  const y = cpuTensor([B, T, d]);
  for (let r = 0; r < B * T; r++)
    for (let u = 0; u < d; u++) y.data[r * d + u] = states.data[(r * S + cell.output) * d + u];
  return y;
}

export function diagRnnRef(
  cell: DiagCell,
  x: CpuTensor,
  params: CpuTensor,
  s0?: CpuTensor,
): { states: CpuTensor; y: CpuTensor } {
  const dims = diagDims(cell, x);
  const { B, T, d, S } = dims;
  const states = cpuTensor([B, T, S, d]);
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < d; u++) {
      let s = initialAt(s0, dims, b, u);
      for (let t = 0; t < T; t++) {
        s = cell.step(preAt(x, dims, b, t, u), paramsAt(params, dims, u), s);
        s.forEach((v, q) => (states.data[((b * T + t) * S + q) * d + u] = v));
      }
    }
  }
  return { states, y: outputsOf(cell, states) };
}

/** Gradients of Σ y·dy by BPTT at the given states (the initial state is a constant). */
export function diagRnnBackwardRef(
  cell: DiagCell,
  x: CpuTensor,
  params: CpuTensor,
  states: CpuTensor,
  dy: CpuTensor,
  s0?: CpuTensor,
): { dx: CpuTensor; dparams: CpuTensor } {
  const dims = diagDims(cell, x);
  const { B, T, d, NI, NP, S } = dims;
  const dx = cpuTensor(x.shape);
  const dparams = cpuTensor(params.shape);
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < d; u++) {
      let lam = new Array<number>(S).fill(0);
      for (let t = T - 1; t >= 0; t--) {
        lam[cell.output] += dy.data[(b * T + t) * d + u];
        const g = cell.vjp(
          preAt(x, dims, b, t, u),
          paramsAt(params, dims, u),
          previousState(states, s0, dims, b, t, u),
          lam,
        );
        for (let k = 0; k < NI; k++) dx.data[(b * T + t) * NI * d + k * d + u] = g.dx[k];
        for (let k = 0; k < NP; k++) dparams.data[k * d + u] += g.dp[k];
        lam = g.ds;
      }
    }
  }
  return { dx, dparams };
}
