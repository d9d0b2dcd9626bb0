// float64 reference of the RWKV-6 time mixing, token by token as fla's recurrent_naive: ddlerp token
// shift, w = exp(−exp(LoRA)), per head o = rᵀ(S + Diag(u) k vᵀ) then S ← Diag(w) S + k vᵀ,
// GroupNorm per head ⊙ swish(g), W_o.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  matvec,
  param,
  row,
  setRow,
  silu,
  stackRows,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import { head, headStates, layerNormVec, readRef } from './ref-utils.js';
import { RWKV6_MIXES, type Rwkv6Config } from './rwkv6.js';

export function rwkv6Ref(
  c: Rwkv6Config,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, headK: K, headV: V, projRank: r } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const vec = (name: string) => Array.from(P(name).data);
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  const shifts: number[][] = [];
  for (let b = 0; b < B; b++) {
    const S = headStates(state?.S, b, H, K * V);
    let previous = state ? Array.from(state.shift.data.subarray(b * d, (b + 1) * d)) : new Array<number>(d).fill(0);
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const delta = xt.map((v, i) => previous[i] - v);
      previous = xt;
      const mu0 = vec('x_proj.0.mu');
      const low = matvec(
        P('x_proj.0.linear.weight'),
        xt.map((v, i) => v + delta[i] * mu0[i]),
      ).map(Math.tanh);
      const W2 = P('x_proj.2.weight');
      const mixed: Record<string, number[]> = {};
      RWKV6_MIXES.forEach((name, n) => {
        mixed[name] = xt.map((v, i) => {
          let mu = P('x_bias').data[n * d + i];
          for (let j = 0; j < r; j++) mu += W2.data[i * 5 * r + n * r + j] * low[n * r + j];
          return v + delta[i] * mu;
        });
      });
      const rr = matvec(P('r_proj.linear.weight'), mixed.r);
      const kk = matvec(P('k_proj.linear.weight'), mixed.k);
      const vv = matvec(P('v_proj.linear.weight'), mixed.v);
      const gg = matvec(P('g_proj.linear.weight'), mixed.g);
      const lora = matvec(P('w_proj.linear.lora.0.weight'), mixed.w).map(Math.tanh);
      const w = matvec(P('w_proj.linear.lora.2.weight'), lora, P('w_proj.linear.lora.2.bias')).map((z) =>
        Math.exp(-Math.exp(z)),
      );
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const [rh, kh, vh, wh, u] = [
          head(rr, h, K),
          head(kk, h, K),
          head(vv, h, V),
          head(w, h, K),
          head(vec('bonus'), h, K),
        ];
        const ruk = rh.reduce((s, ri, i) => s + ri * u[i] * kh[i], 0);
        const o = readRef(S[h], rh, V, 1).map((z, j) => z + ruk * vh[j]);
        for (let i = 0; i < K; i++)
          for (let j = 0; j < V; j++) S[h][i * V + j] = wh[i] * S[h][i * V + j] + kh[i] * vh[j];
        out.push(...layerNormVec(o, c.normEps, head(vec('g_norm.weight'), h, V), head(vec('g_norm.bias'), h, V)));
      }
      setRow(
        y,
        b,
        t,
        matvec(
          P('o_proj.weight'),
          out.map((z, i) => z * silu(gg[i])),
        ),
      );
    }
    finals.push(S.flatMap((s) => Array.from(s)));
    shifts.push(previous);
  }
  return { y, state: { S: stackRows(finals, [H, K, V]), shift: stackRows(shifts, [d]) } };
}
