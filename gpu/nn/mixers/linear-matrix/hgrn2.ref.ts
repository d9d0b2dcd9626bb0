// float64 reference of the HGRN2 layer: λ = lb + (1 − lb) σ(W_f x), per head S ← Diag(λ) S + (1 − λ) vᵀ
// with v = W_i x, o = K^−½ Sᵀ swish(W_q x), RMSNorm over d_model, W_o.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  matvec,
  param,
  rmsNormVec,
  row,
  setRow,
  sigmoid,
  silu,
  stackRows,
  type RefParams,
  type RefState,
} from '../linear-diagonal/ref-utils.js';
import type { Hgrn2Config } from './hgrn2.js';
import { glaTokenRef, head, headStates } from './ref-utils.js';

export function hgrn2Ref(
  c: Hgrn2Config,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, headDim: E, lowerBound: lb } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  for (let b = 0; b < B; b++) {
    const S = headStates(state?.S, b, H, E * E);
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const q = matvec(P('q_proj.weight'), xt).map(silu);
      const forget = matvec(P('f_proj.weight'), xt).map((f) => lb + (1 - lb) * sigmoid(f));
      const v = matvec(P('i_proj.weight'), xt);
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const lambda = head(forget, h, E);
        const k = lambda.map((l) => 1 - l);
        out.push(...glaTokenRef(S[h], head(q, h, E), k, head(v, h, E), lambda, 1 / Math.sqrt(E)));
      }
      setRow(y, b, t, matvec(P('o_proj.weight'), rmsNormVec(out, P('g_norm.weight'), c.normEps)));
    }
    finals.push(S.flatMap((s) => Array.from(s)));
  }
  return { y, state: { S: stackRows(finals, [H, E, E]) } };
}
