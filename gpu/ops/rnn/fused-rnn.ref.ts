// float64 reference of the multi-head fused RNN: a plain loop over time, then backpropagation through
// time as a plain reverse loop. The oracle for fused-rnn.ts and, through finite differences, for
// itself.
//
// Layouts: gx [B, T, NI·hidden] (block gi feeds raw gate inputGates[gi]), R [NR, H, D, D] with
// (R h)[j] = Σ_k R[g, head, j, k] h[k] inside each head, bias [NB, hidden], state [B, S, hidden],
// y [B, T, hidden]; hidden = H·D.

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';
import type { FusedCell } from './cells.js';

export interface RnnRefResult {
  y: CpuTensor;
  state: CpuTensor;
  /** states[t][b][unit] = state vector after step t; raws[t][b][unit] = raw gates at step t. */
  states: number[][][][];
  raws: number[][][][];
}

export function fusedRnnRef(
  cell: FusedCell,
  gx: CpuTensor,
  R: CpuTensor,
  bias: CpuTensor,
  s0?: CpuTensor,
): RnnRefResult {
  const [B, T] = gx.shape;
  const [NR, H, D] = R.shape;
  const hidden = H * D;
  const NB = cell.gates.length;
  const S = cell.states.length;
  const NI = cell.inputGates.length;
  const y = cpuTensor([B, T, hidden]);
  const state = cpuTensor([B, S, hidden]);
  const states: number[][][][] = [];
  const raws: number[][][][] = [];
  // s[b][unit] is the current state vector of one unit.
  let s = Array.from({ length: B }, (_, b) =>
    Array.from({ length: hidden }, (_, u) =>
      Array.from({ length: S }, (_, q) => s0?.data[(b * S + q) * hidden + u] ?? 0),
    ),
  );
  for (let t = 0; t < T; t++) {
    const rawT: number[][][] = [];
    const next: number[][][] = [];
    for (let b = 0; b < B; b++) {
      rawT.push([]);
      next.push([]);
      for (let u = 0; u < hidden; u++) {
        const head = Math.floor(u / D);
        const j = u % D;
        const raw = Array.from({ length: NB }, (_, g) => bias.data[g * hidden + u]);
        for (let gi = 0; gi < NI; gi++)
          raw[cell.inputGates[gi]] += gx.data[(b * T + t) * NI * hidden + gi * hidden + u];
        for (let gr = 0; gr < NR; gr++) {
          for (let k = 0; k < D; k++) {
            raw[cell.recurrentGates[gr]] += R.data[((gr * H + head) * D + j) * D + k] * s[b][head * D + k][0];
          }
        }
        rawT[b].push(raw);
        next[b].push(cell.step(raw, s[b][u]));
        y.data[(b * T + t) * hidden + u] = next[b][u][0];
      }
    }
    raws.push(rawT);
    states.push(next);
    s = next;
  }
  for (let b = 0; b < B; b++)
    for (let u = 0; u < hidden; u++) for (let q = 0; q < S; q++) state.data[(b * S + q) * hidden + u] = s[b][u][q];
  return { y, state, states, raws };
}

export interface RnnGradRef {
  dgx: CpuTensor;
  dR: CpuTensor;
  dbias: CpuTensor;
}

/** Gradients of Σ y·dy (the initial state is a constant). */
export function fusedRnnBackwardRef(
  cell: FusedCell,
  gx: CpuTensor,
  R: CpuTensor,
  bias: CpuTensor,
  dy: CpuTensor,
  s0?: CpuTensor,
): RnnGradRef {
  const [B, T] = gx.shape;
  const [NR, H, D] = R.shape;
  const hidden = H * D;
  const S = cell.states.length;
  const NI = cell.inputGates.length;
  const { states, raws } = fusedRnnRef(cell, gx, R, bias, s0);
  const initial = (b: number, u: number) =>
    Array.from({ length: S }, (_, q) => s0?.data[(b * S + q) * hidden + u] ?? 0);
  const dgx = cpuTensor(gx.shape);
  const dR = cpuTensor(R.shape);
  const dbias = cpuTensor(bias.shape);
  // ds[b][u]: gradient of the loss w.r.t. the state after step t, accumulated from later steps.
  let ds = Array.from({ length: B }, () => Array.from({ length: hidden }, () => new Array<number>(S).fill(0)));
  for (let t = T - 1; t >= 0; t--) {
    const dsPrev = Array.from({ length: B }, () => Array.from({ length: hidden }, () => new Array<number>(S).fill(0)));
    for (let b = 0; b < B; b++) {
      for (let u = 0; u < hidden; u++) {
        const head = Math.floor(u / D);
        const j = u % D;
        const total = [...ds[b][u]];
        total[0] += dy.data[(b * T + t) * hidden + u];
        const sp = t > 0 ? states[t - 1][b][u] : initial(b, u);
        const { draw, dsPrev: direct } = cell.vjp(raws[t][b][u], sp, states[t][b][u], total);
        for (let q = 0; q < S; q++) dsPrev[b][u][q] += direct[q];
        draw.forEach((g, k) => (dbias.data[k * hidden + u] += g));
        for (let gi = 0; gi < NI; gi++)
          dgx.data[(b * T + t) * NI * hidden + gi * hidden + u] = draw[cell.inputGates[gi]];
        for (let gr = 0; gr < NR; gr++) {
          const g = draw[cell.recurrentGates[gr]];
          for (let k = 0; k < D; k++) {
            const hPrev = t > 0 ? states[t - 1][b][head * D + k][0] : initial(b, head * D + k)[0];
            dR.data[((gr * H + head) * D + j) * D + k] += g * hPrev;
            dsPrev[b][head * D + k][0] += R.data[((gr * H + head) * D + j) * D + k] * g;
          }
        }
      }
    }
    ds = dsPrev;
  }
  return { dgx, dR, dbias };
}
