// float64 reference of the LRU mixer: complex arithmetic written out on (re, im), token by token.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import { param, row, setRow, type RefParams, type RefState } from './ref-utils.js';

export function lruRef(params: RefParams, x: CpuTensor, state?: RefState): { y: CpuTensor; state: RefState } {
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name).data;
  const N = P('nu_log').length;
  const lambda = Array.from({ length: N }, (_, n) => {
    const modulus = Math.exp(-Math.exp(P('nu_log')[n]));
    const phase = Math.exp(P('theta_log')[n]);
    return [modulus * Math.cos(phase), modulus * Math.sin(phase)];
  });
  const gamma = Array.from(P('gamma_log'), Math.exp);
  const y = cpuTensor([B, T, d]);
  const last = cpuTensor([B, N, 2]);
  for (let b = 0; b < B; b++) {
    const h = Array.from({ length: N }, (_, n) =>
      state ? [state.h.data[2 * (b * N + n)], state.h.data[2 * (b * N + n) + 1]] : [0, 0],
    );
    for (let t = 0; t < T; t++) {
      const xt = row(x, b, t);
      for (let n = 0; n < N; n++) {
        let [ur, ui] = [0, 0];
        for (let k = 0; k < d; k++) {
          ur += gamma[n] * P('B_re')[n * d + k] * xt[k];
          ui += gamma[n] * P('B_im')[n * d + k] * xt[k];
        }
        const [lr, li] = lambda[n];
        const [hr, hi] = h[n];
        h[n] = [lr * hr - li * hi + ur, lr * hi + li * hr + ui];
      }
      const out = xt.map((v, k) => {
        let acc = P('D')[k] * v;
        for (let n = 0; n < N; n++) acc += P('C_re')[k * N + n] * h[n][0] - P('C_im')[k * N + n] * h[n][1];
        return acc;
      });
      setRow(y, b, t, out);
    }
    h.forEach(([re, im], n) => last.data.set([re, im], 2 * (b * N + n)));
  }
  return { y, state: { h: last } };
}
