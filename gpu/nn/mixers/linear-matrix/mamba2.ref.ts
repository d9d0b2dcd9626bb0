// float64 reference of the Mamba-2 layer, token by token as mamba_ssm's Mamba2.step: conv step,
// dt = softplus(dt + dt_bias), per head S ← exp(dt A) S + B (dt x)ᵀ, y = Sᵀ C + D x, then
// RMSNorm(y ⊙ silu(z)) per group and out_proj.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  convStep,
  histories,
  matvec,
  param,
  row,
  setRow,
  silu,
  softplus,
  stackRows,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import { MAMBA2_NORM_EPS, type Mamba2Config } from './mamba2.js';
import { glaTokenRef, headStates } from './ref-utils.js';

export function mamba2Ref(
  c: Mamba2Config,
  params: RefParams,
  u: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { dInner, heads: H, headDim: P, dState: N, groups: G } = c;
  const convDim = dInner + 2 * G * N;
  const [B, T, d] = u.shape;
  const W = (name: string) => param(params, name);
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  const convFinals: number[][] = [];
  for (let b = 0; b < B; b++) {
    const S = headStates(state?.S, b, H, N * P);
    let history = histories(state?.conv, B, c.convSize, convDim)[b];
    for (let t = 0; t < T; t++) {
      const proj = matvec(W('in_proj.weight'), row(u, b, t));
      const z = proj.slice(0, dInner);
      const raw = proj.slice(dInner, dInner + convDim);
      const xBC = convStep(history, raw, W('conv1d.weight'), W('conv1d.bias')).map(silu);
      history = [...history.slice(1), raw];
      const x = xBC.slice(0, dInner);
      const Bm = xBC.slice(dInner, dInner + G * N);
      const Cm = xBC.slice(dInner + G * N);
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const dt = softplus(proj[dInner + convDim + h] + W('dt_bias').data[h]);
        const decay = Math.exp(-dt * Math.exp(W('A_log').data[h]));
        const group = Math.floor(h / (H / G));
        const xh = x.slice(h * P, (h + 1) * P);
        const yh = glaTokenRef(
          S[h],
          Cm.slice(group * N, (group + 1) * N),
          Bm.slice(group * N, (group + 1) * N),
          xh.map((v) => dt * v),
          new Array(N).fill(decay),
          1,
        );
        out.push(...yh.map((v, j) => v + W('D').data[h] * xh[j]));
      }
      const gated = out.map((v, i) => v * silu(z[i]));
      const width = dInner / G;
      const normed = gated.map((v, i) => {
        const g0 = Math.floor(i / width) * width;
        const ms = gated.slice(g0, g0 + width).reduce((s, w) => s + w * w, 0) / width;
        return (v / Math.sqrt(ms + MAMBA2_NORM_EPS)) * W('norm.weight').data[i];
      });
      setRow(y, b, t, matvec(W('out_proj.weight'), normed));
    }
    finals.push(S.flatMap((s) => Array.from(s)));
    convFinals.push(history.flat());
  }
  return {
    y,
    state: { S: stackRows(finals, [H, N, P]), conv: stackRows(convFinals, [c.convSize - 1, convDim]) },
  };
}
