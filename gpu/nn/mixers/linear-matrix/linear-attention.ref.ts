// float64 reference of the linear-attention layer: one loop over batch rows and tokens, per head
// S ← S + φ(k) vᵀ, o = scale Sᵀφ(q) (÷ scale φ(q)·z with z ← z + φ(k) when normalized), RMSNorm, W_o.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  matvec,
  param,
  rmsNormVec,
  row,
  setRow,
  stackRows,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import type { LinearAttentionConfig } from './linear-attention.js';
import { elu1, glaTokenRef, head, headStates } from './ref-utils.js';

export function linearAttentionRef(
  c: LinearAttentionConfig,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, headK: K, headV: V } = c;
  const W = V + (c.normalize ? 1 : 0);
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const phi = (z: number) => (c.featureMap === 'elu' ? elu1(z) : c.featureMap === 'relu' ? Math.max(z, 0) : z);
  const sumNorm = (z: number[]) => {
    const total = z.reduce((s, w) => s + w, 0) + 1e-4;
    return z.map((w) => w / total);
  };
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  for (let b = 0; b < B; b++) {
    const S = headStates(state?.S, b, H, K * W);
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const q = matvec(P('q_proj.weight'), xt).map(phi);
      const k = matvec(P('k_proj.weight'), xt).map(phi);
      const v = matvec(P('v_proj.weight'), xt);
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const qh = c.normQ ? sumNorm(head(q, h, K)) : head(q, h, K);
        const kh = c.normK ? sumNorm(head(k, h, K)) : head(k, h, K);
        const vh = c.normalize ? [...head(v, h, V), 1] : head(v, h, V);
        let o = glaTokenRef(S[h], qh, kh, vh, new Array(K).fill(1), 1 / Math.sqrt(K));
        if (c.normalize) o = o.slice(0, V).map((w) => w / (o[V] + 1e-10));
        out.push(...(c.outputNorm ? rmsNormVec(o, P('norm.weight'), c.normEps) : o));
      }
      setRow(y, b, t, matvec(P('o_proj.weight'), out));
    }
    finals.push(S.flatMap((s) => Array.from(s)));
  }
  return { y, state: { S: stackRows(finals, [H, K, W]) } };
}
