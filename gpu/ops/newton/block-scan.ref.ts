// float64 reference of the block-diagonal linear recurrence solved by the chunked scan: per unit,
// x_t = M_t x_{t−1} + v_t with S×S blocks M_t (S = 1: diagonal, S = 2: ParaLSTM's 2×2 blocks), x_{−1} = 0;
// `reverse` runs it from t = T−1 down (x_t = M_t x_{t+1} + v_t), as the adjoint pass does.
//
// Layouts: M [B, T, S·S, d] (row-major blocks), v and x [B, T, S, d].

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';

export function blockScanRef(M: CpuTensor, v: CpuTensor, reverse = false): CpuTensor {
  const [B, T, S, d] = v.shape;
  const x = cpuTensor(v.shape);
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < d; u++) {
      let prev = new Array<number>(S).fill(0);
      for (let n = 0; n < T; n++) {
        const t = reverse ? T - 1 - n : n;
        const next = new Array<number>(S).fill(0);
        for (let i = 0; i < S; i++) {
          next[i] = v.data[((b * T + t) * S + i) * d + u];
          for (let k = 0; k < S; k++) next[i] += M.data[((b * T + t) * S * S + i * S + k) * d + u] * prev[k];
          x.data[((b * T + t) * S + i) * d + u] = next[i];
        }
        prev = next;
      }
    }
  }
  return x;
}
