// float64 reference of the GLA layer: per head S ← Diag(σ(W₂W₁x + b)^(1/16)) S + k vᵀ,
// o = K^−½ Sᵀ q, RMSNorm ⊙ swish(W_g x) per head, W_o.

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
import type { GlaConfig } from './gla.js';
import { glaTokenRef, head, headStates, logsigmoid } from './ref-utils.js';

export function glaMixerRef(
  c: GlaConfig,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, headK: K, headV: V } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  for (let b = 0; b < B; b++) {
    const S = headStates(state?.S, b, H, K * V);
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const q = matvec(P('q_proj.weight'), xt);
      const k = matvec(P('k_proj.weight'), xt);
      const v = matvec(P('v_proj.weight'), xt);
      const low = matvec(P('gk_proj.0.weight'), xt);
      const alpha = matvec(P('gk_proj.1.weight'), low, P('gk_proj.1.bias')).map((z) =>
        Math.exp(logsigmoid(z) / c.gateNormalizer),
      );
      const gate = c.outputGate ? matvec(P('g_proj.weight'), xt) : [];
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const o = glaTokenRef(S[h], head(q, h, K), head(k, h, K), head(v, h, V), head(alpha, h, K), 1 / Math.sqrt(K));
        const normed = rmsNormVec(o, P('g_norm.weight'), c.normEps);
        out.push(...(c.outputGate ? normed.map((z, j) => z * silu(gate[h * V + j])) : normed));
      }
      setRow(y, b, t, matvec(P('o_proj.weight'), out));
    }
    finals.push(S.flatMap((s) => Array.from(s)));
  }
  return { y, state: { S: stackRows(finals, [H, K, V]) } };
}
