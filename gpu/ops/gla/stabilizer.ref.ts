// float64 reference of the mLSTM stabilizer m_t = max(log f_t + m_{t−1}, ĩ_t) and its adjoint.

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';

export function mlstmStabilizerRef(logf: CpuTensor, ig: CpuTensor, m0?: CpuTensor): CpuTensor {
  const [B, T, H] = logf.shape;
  const m = cpuTensor([B, T, H]);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      let previous = m0 ? m0.data[b * H + h] : -Infinity;
      for (let t = 0; t < T; t++) {
        const r = (b * T + t) * H + h;
        previous = Math.max(logf.data[r] + previous, ig.data[r]);
        m.data[r] = previous;
      }
    }
  }
  return m;
}

/** Gradients of Σ m · dm with respect to log f, ĩ and m0, walking the tokens backwards. */
export function mlstmStabilizerGradRef(logf: CpuTensor, ig: CpuTensor, dm: CpuTensor, m0?: CpuTensor) {
  const [B, T, H] = logf.shape;
  const m = mlstmStabilizerRef(logf, ig, m0);
  const dlogf = cpuTensor(logf.shape);
  const dig = cpuTensor(ig.shape);
  const dm0 = cpuTensor([B, H]);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      let carried = 0;
      for (let t = T - 1; t >= 0; t--) {
        const r = (b * T + t) * H + h;
        const previous = t > 0 ? m.data[r - H] : m0 ? m0.data[b * H + h] : -Infinity;
        const lambda = dm.data[r] + carried;
        const forget = logf.data[r] + previous >= ig.data[r];
        dlogf.data[r] = forget ? lambda : 0;
        dig.data[r] = forget ? 0 : lambda;
        carried = forget ? lambda : 0;
      }
      dm0.data[b * H + h] = carried;
    }
  }
  return { logf: dlogf, ig: dig, m0: dm0 };
}
