// float64 reference of the Mamba-1 block: selective_scan_ref's recurrence, token by token.

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
  type RefParams,
  type RefState,
} from './ref-utils.js';

export function mambaRef(
  params: RefParams,
  o: { negativeEigenvalues: boolean },
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const [B, T, d] = x.shape;
  const P = (name: string) => param(params, name);
  const [dInner, N] = P('A_log').shape;
  const rank = P('dt_proj.weight').shape[1];
  const taps = P('conv1d.weight').shape[1];
  const y = cpuTensor([B, T, d]);
  const ssm = cpuTensor([B, dInner, N]);
  const convHistory = histories(state?.conv, B, taps, dInner);
  for (let b = 0; b < B; b++) {
    const h = Array.from({ length: dInner }, (_, c) =>
      Array.from({ length: N }, (_, n) => (state ? state.ssm.data[(b * dInner + c) * N + n] : 0)),
    );
    for (let t = 0; t < T; t++) {
      const xz = matvec(P('in_proj.weight'), row(x, b, t));
      const [xi, z] = [xz.slice(0, dInner), xz.slice(dInner)];
      const u = convStep(convHistory[b], xi, P('conv1d.weight'), P('conv1d.bias')).map(silu);
      convHistory[b] = [...convHistory[b], xi].slice(1);
      const xdbl = matvec(P('x_proj.weight'), u);
      const [dtLow, Bm, Cm] = [xdbl.slice(0, rank), xdbl.slice(rank, rank + N), xdbl.slice(rank + N)];
      const dt = matvec(P('dt_proj.weight'), dtLow, P('dt_proj.bias')).map(softplus);
      const out = u.map((uc, c) => {
        let acc = P('D').data[c] * uc;
        for (let n = 0; n < N; n++) {
          const A = -Math.exp(P('A_log').data[c * N + n]);
          const decay = o.negativeEigenvalues ? 2 * Math.exp(dt[c] * A) - 1 : Math.exp(dt[c] * A);
          h[c][n] = decay * h[c][n] + dt[c] * Bm[n] * uc;
          acc += Cm[n] * h[c][n];
        }
        return acc * silu(z[c]);
      });
      setRow(y, b, t, matvec(P('out_proj.weight'), out));
    }
    h.forEach((states, c) => ssm.data.set(states, (b * dInner + c) * N));
  }
  return { y, state: { ssm, conv: cpuTensor([B, taps - 1, dInner], convHistory.flat(2)) } };
}
