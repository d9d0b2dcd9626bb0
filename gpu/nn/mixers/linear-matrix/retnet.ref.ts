// float64 reference of the retention layer: rotary q, k at each row's position, per head
// S ← γ_h S + k vᵀ, o = K^−½ Sᵀ q, RMSNorm ⊙ swish(W_g x) per head, W_o.

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
import { glaTokenRef, head, headStates, rotateRef } from './ref-utils.js';
import { retentionLogDecay, type RetNetConfig } from './retnet.js';

export function retnetRef(
  c: RetNetConfig,
  params: RefParams,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const { heads: H, headK: K, headV: V } = c;
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const gammas = retentionLogDecay(H).map(Math.exp);
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  const positions: number[] = [];
  for (let b = 0; b < B; b++) {
    const S = headStates(state?.S, b, H, K * V);
    const start = state ? state.position.data[b] : 0;
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const q = matvec(P('q_proj.weight'), xt);
      const k = matvec(P('k_proj.weight'), xt);
      const v = matvec(P('v_proj.weight'), xt);
      const gate = c.outputGate ? matvec(P('g_proj.weight'), xt) : [];
      const out: number[] = [];
      for (let h = 0; h < H; h++) {
        const qh = rotateRef(head(q, h, K), start + t);
        const kh = rotateRef(head(k, h, K), start + t);
        const o = glaTokenRef(S[h], qh, kh, head(v, h, V), new Array(K).fill(gammas[h]), 1 / Math.sqrt(K));
        const normed = rmsNormVec(o, P('g_norm.weight'), c.normEps);
        out.push(...(c.outputGate ? normed.map((z, j) => z * silu(gate[h * V + j])) : normed));
      }
      setRow(y, b, t, matvec(P('o_proj.weight'), out));
    }
    finals.push(S.flatMap((s) => Array.from(s)));
    positions.push(start + T);
  }
  return { y, state: { S: stackRows(finals, [H, K, V]), position: cpuTensor([B], positions) } };
}
