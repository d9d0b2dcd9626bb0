// float64 reference of the GSA layer as fla's naive_recurrent_gsa: per head and token
// H_k ← H_k Diag(α) + k sᵀ, o_k = H_kᵀ q, p = softmax(o_k), H_v ← Diag(α) H_v + s vᵀ, o = H_vᵀ p,
// with α = exp(logsigmoid(W_f x)/8), s = 1 − α; then RMSNorm(swish(o)) and W_o.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  matvec,
  param,
  rmsNormVec,
  row,
  setRow,
  silu,
  stackRows,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import type { GsaConfig } from './gsa.js';
import { glaTokenRef, head, headStates, logsigmoid } from './ref-utils.js';

export function gsaRef(
  c: GsaConfig,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, headK: K, headV: V, slots: M } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const phi = (z: number) => (c.featureMap === 'relu' ? Math.max(z, 0) : silu(z));
  const y = cpuTensor([B, T, d]);
  const finalK: number[][] = [];
  const finalV: number[][] = [];
  for (let b = 0; b < B; b++) {
    // Hk as fla's [K, M] per head, read from the slot-major state [M, K].
    const Hk = Array.from({ length: H }, (_, h) => {
      const m = new Float64Array(K * M);
      if (state)
        for (let s = 0; s < M; s++)
          for (let i = 0; i < K; i++) m[i * M + s] = state.Sk.data[((b * H + h) * M + s) * K + i];
      return m;
    });
    const Hv = headStates(state?.Sv, b, H, M * V);
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const q = matvec(P('q_proj.weight'), xt).map(phi);
      const k = matvec(P('k_proj.weight'), xt).map(phi);
      const v = matvec(P('v_proj.weight'), xt).map(silu);
      const f = matvec(P('f_proj.weight'), xt).map((z) => logsigmoid(z) / c.gateNormalizer);
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const alpha = head(f, h, M).map(Math.exp);
        const s = alpha.map((a) => 1 - a);
        const qh = head(q, h, K);
        const kh = head(k, h, K);
        for (let i = 0; i < K; i++)
          for (let m = 0; m < M; m++) Hk[h][i * M + m] = Hk[h][i * M + m] * alpha[m] + kh[i] * s[m];
        const ok = Array.from({ length: M }, (_, m) => qh.reduce((acc, qi, i) => acc + qi * Hk[h][i * M + m], 0));
        const top = Math.max(...ok);
        const e = ok.map((o) => Math.exp(o - top));
        const total = e.reduce((acc, w) => acc + w, 0);
        out.push(
          ...glaTokenRef(
            Hv[h],
            e.map((w) => w / total),
            s,
            head(v, h, V),
            alpha,
            1,
          ),
        );
      }
      setRow(y, b, t, matvec(P('o_proj.weight'), rmsNormVec(out.map(silu), P('g_norm.weight'), c.normEps)));
    }
    finalK.push(Hk.flatMap((m) => Array.from({ length: M * K }, (_, e) => m[(e % K) * M + Math.floor(e / K)])));
    finalV.push(Hv.flatMap((s) => Array.from(s)));
  }
  return { y, state: { Sk: stackRows(finalK, [H, M, K]), Sv: stackRows(finalV, [H, M, V]) } };
}
