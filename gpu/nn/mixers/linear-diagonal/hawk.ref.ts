// float64 reference of Hawk's recurrent block (RG-LRU), token by token, following recurrentgemma.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  convStep,
  geluTanh,
  histories,
  matvec,
  param,
  row,
  setRow,
  sigmoid,
  softplus,
  stackRows,
  stateRow,
  type RefParams,
  type RefState,
} from './ref-utils.js';

/** Per head h: out[h, j] = Σ_i x[h, i] w[h, i, j] + b[h, j]. */
function blockDiagonal(x: number[], w: CpuTensor, b: CpuTensor): number[] {
  const [heads, bw] = w.shape;
  const out = new Array<number>(heads * bw).fill(0);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < bw; j++) {
      let acc = b.data[h * bw + j];
      for (let i = 0; i < bw; i++) acc += x[h * bw + i] * w.data[(h * bw + i) * bw + j];
      out[h * bw + j] = acc;
    }
  }
  return out;
}

export function hawkRef(params: RefParams, x: CpuTensor, state?: RefState): { y: CpuTensor; state: RefState } {
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const width = P('linear_x.weight').shape[0];
  const taps = P('conv_1d.weight').shape[1];
  const y = cpuTensor([B, T, d]);
  const convHistory = histories(state?.conv, B, taps, width);
  const finalH: number[][] = [];
  for (let b = 0; b < B; b++) {
    let h = state ? stateRow(state.h, b) : new Array<number>(width).fill(0);
    let reset = state ? state.reset.data[b] > 0.5 : true;
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      const gateBranch = matvec(P('linear_y.weight'), xt, P('linear_y.bias')).map(geluTanh);
      const pre = matvec(P('linear_x.weight'), xt, P('linear_x.bias'));
      const u = convStep(convHistory[b], pre, P('conv_1d.weight'), P('conv_1d.bias'));
      convHistory[b] = [...convHistory[b], pre].slice(1);
      const gateX = blockDiagonal(u, P('rg_lru.input_gate.w'), P('rg_lru.input_gate.b')).map(sigmoid);
      const gateA = blockDiagonal(u, P('rg_lru.a_gate.w'), P('rg_lru.a_gate.b')).map(sigmoid);
      h = h.map((previous, c) => {
        const logA = -8 * gateA[c] * softplus(P('rg_lru.a_param').data[c]);
        const a = reset ? 0 : Math.exp(logA);
        const multiplier = reset ? 1 : Math.sqrt(1 - Math.exp(2 * logA));
        return a * previous + multiplier * gateX[c] * u[c];
      });
      reset = false;
      setRow(
        y,
        b,
        t,
        matvec(
          P('linear_out.weight'),
          h.map((v, c) => v * gateBranch[c]),
          P('linear_out.bias'),
        ),
      );
    }
    finalH.push(h);
  }
  const conv = cpuTensor([B, taps - 1, width], convHistory.flat(2));
  return { y, state: { h: stackRows(finalH, [width]), conv, reset: cpuTensor([B, 1]) } };
}
