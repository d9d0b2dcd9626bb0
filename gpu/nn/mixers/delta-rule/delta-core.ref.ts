// float64 reference of the delta-rule layers (DeltaNet, Gated DeltaNet, DeltaProduct) as one loop over
// batch rows and tokens — the equations of delta-core.ts read top to bottom, one token at a time.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  convStep,
  histories,
  matvec,
  param,
  rmsNormVec,
  row,
  setRow,
  sigmoid,
  silu,
  softplus,
  stackRows,
  stateRow,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import type { DeltaCoreConfig } from './delta-core.js';

function l2normalize(x: number[]): number[] {
  const norm = Math.sqrt(x.reduce((s, v) => s + v * v, 0) + 1e-6);
  return x.map((v) => v / norm);
}

export function deltaMixerRef(
  c: DeltaCoreConfig,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, headK: K, headV: V, householder: n } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const y = cpuTensor([B, T, d]);
  const finalS: number[][] = [];
  const finalConv: Record<string, number[][]> = { q_conv1d: [], k_conv1d: [], v_conv1d: [] };
  const widths: Record<string, number> = { q_conv1d: H * K, k_conv1d: n * H * K, v_conv1d: n * H * V };
  for (let b = 0; b < B; b++) {
    const S = state ? stateRow(state.S, b) : new Array<number>(H * K * V).fill(0);
    const hist: Record<string, number[][]> = {};
    for (const name of Object.keys(widths)) {
      hist[name] = histories(state?.[name], B, c.convSize, widths[name])[b];
    }
    // silu(conv(W x)) with the conv's history advanced by this token's input.
    const convolve = (name: string, raw: number[]) => {
      if (c.convSize === 0) return raw.map(silu);
      const out = convStep(hist[name], raw, P(`${name}.weight`));
      hist[name] = [...hist[name].slice(1), raw];
      return out.map(silu);
    };
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const q = convolve('q_conv1d', matvec(P('q_proj.weight'), xt));
      const k = convolve('k_conv1d', matvec(P('k_proj.weight'), xt));
      const v = convolve('v_conv1d', matvec(P('v_proj.weight'), xt));
      const beta = matvec(P('b_proj.weight'), xt).map((z) => (c.negativeEigenvalues ? 2 : 1) * sigmoid(z));
      const a = c.gated ? matvec(P('a_proj.weight'), xt) : [];
      const gate = c.outputGate ? matvec(P('g_proj.weight'), xt) : [];
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const at = (i: number, j: number) => (h * K + i) * V + j; // S[h][i][j]
        if (c.gated) {
          const g = -Math.exp(P('A_log').data[h]) * softplus(a[h] + P('dt_bias').data[h]);
          for (let i = 0; i < K * V; i++) S[h * K * V + i] *= Math.exp(g);
        }
        for (let step = 0; step < n; step++) {
          const kj = l2normalize(k.slice((step * H + h) * K, (step * H + h + 1) * K));
          const vj = v.slice((step * H + h) * V, (step * H + h + 1) * V);
          const bj = beta[step * H + h];
          for (let j = 0; j < V; j++) {
            let predicted = 0;
            for (let i = 0; i < K; i++) predicted += S[at(i, j)] * kj[i];
            const u = bj * (vj[j] - predicted);
            for (let i = 0; i < K; i++) S[at(i, j)] += kj[i] * u;
          }
        }
        const qh = l2normalize(q.slice(h * K, (h + 1) * K));
        const o = Array.from({ length: V }, (_, j) => {
          let acc = 0;
          for (let i = 0; i < K; i++) acc += S[at(i, j)] * qh[i];
          return acc / Math.sqrt(K);
        });
        const normed = rmsNormVec(o, P('o_norm.weight'), c.normEps);
        out.push(...(c.outputGate ? normed.map((z, j) => z * silu(gate[h * V + j])) : normed));
      }
      setRow(y, b, t, matvec(P('o_proj.weight'), out));
    }
    finalS.push(S);
    for (const name of Object.keys(widths)) finalConv[name].push(hist[name].flat());
  }
  const next: RefState = { S: stackRows(finalS, [H, K, V]) };
  if (c.convSize > 0) {
    for (const name of Object.keys(widths)) next[name] = stackRows(finalConv[name], [c.convSize - 1, widths[name]]);
  }
  return { y, state: next };
}
