// float64 reference of the S4D mixer: the ZOH-discretized complex diagonal recurrence per channel and
// mode, token by token, then GELU and the GLU output.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import { gelu, matvec, param, row, setRow, sigmoid, type RefParams, type RefState } from './ref-utils.js';

export function s4dRef(params: RefParams, x: CpuTensor, state?: RefState): { y: CpuTensor; state: RefState } {
  const [B, T, H] = x.shape;
  const P = (name: string) => param(params, name).data;
  const modes = param(params, 'kernel.A_imag').shape[1];
  // λ = exp(dt·A) and C′ = C (λ − 1)/A per (h, n), as [re, im].
  const lambda: number[][] = [];
  const readout: number[][] = [];
  for (let h = 0; h < H; h++) {
    const dt = Math.exp(P('kernel.log_dt')[h]);
    for (let n = 0; n < modes; n++) {
      const i = h * modes + n;
      const [aRe, aIm] = [-Math.exp(P('kernel.log_A_real')[i]), P('kernel.A_imag')[i]];
      const [lRe, lIm] = [Math.exp(dt * aRe) * Math.cos(dt * aIm), Math.exp(dt * aRe) * Math.sin(dt * aIm)];
      const modulus = aRe * aRe + aIm * aIm;
      const [qRe, qIm] = [((lRe - 1) * aRe + lIm * aIm) / modulus, (lIm * aRe - (lRe - 1) * aIm) / modulus];
      const [cRe, cIm] = [P('kernel.C')[2 * i], P('kernel.C')[2 * i + 1]];
      lambda.push([lRe, lIm]);
      readout.push([cRe * qRe - cIm * qIm, cRe * qIm + cIm * qRe]);
    }
  }
  const y = cpuTensor([B, T, H]);
  const last = cpuTensor([B, H * modes, 2]);
  for (let b = 0; b < B; b++) {
    const s = Array.from({ length: H * modes }, (_, i) =>
      state ? [state.h.data[2 * (b * H * modes + i)], state.h.data[2 * (b * H * modes + i) + 1]] : [0, 0],
    );
    for (let t = 0; t < T; t++) {
      const u = row(x, b, t);
      const mixed = u.map((uh, h) => {
        let acc = P('D')[h] * uh;
        for (let n = 0; n < modes; n++) {
          const i = h * modes + n;
          const [lRe, lIm] = lambda[i];
          s[i] = [lRe * s[i][0] - lIm * s[i][1] + uh, lRe * s[i][1] + lIm * s[i][0]];
          acc += 2 * (readout[i][0] * s[i][0] - readout[i][1] * s[i][1]);
        }
        return gelu(acc);
      });
      const z = matvec(param(params, 'output_linear.0.weight'), mixed, param(params, 'output_linear.0.bias'));
      setRow(
        y,
        b,
        t,
        Array.from({ length: H }, (_, h) => z[h] * sigmoid(z[H + h])),
      );
    }
    s.forEach(([re, im], i) => last.data.set([re, im], 2 * (b * H * modes + i)));
  }
  return { y, state: { h: last } };
}
