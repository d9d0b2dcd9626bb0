// float64 reference of the HGRN mixer, token by token.

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
  stateRow,
  type RefParams,
  type RefState,
} from './ref-utils.js';

export function hgrnRef(
  params: RefParams,
  o: { expandRatio: number; lowerBound: number; eps: number },
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const [B, T, d] = x.shape;
  const dInner = d * o.expandRatio;
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  for (let b = 0; b < B; b++) {
    let h = state ? stateRow(state.h, b) : new Array<number>(dInner).fill(0);
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const f = matvec(param(params, 'f_proj.weight'), xt);
      const i = matvec(param(params, 'i_proj.weight'), xt);
      const g = matvec(param(params, 'g_proj.weight'), xt);
      h = h.map((previous, c) => {
        const lambda = o.lowerBound + (1 - o.lowerBound) * sigmoid(f[c]);
        return lambda * previous + silu(i[c]) * (1 - lambda);
      });
      const normed = rmsNormVec(h, param(params, 'g_norm.weight'), o.eps).map((v, c) => v * silu(g[c]));
      setRow(y, b, t, matvec(param(params, 'o_proj.weight'), normed));
    }
    finals.push(h);
  }
  return { y, state: { h: stackRows(finals, [dInner]) } };
}
