// float64 reference of the generalized delta rule with a diagonal-plus-low-rank transition (RWKV-7's
// time mixing; fla's naive dplr / BlinkDL's rwkv_v7_numpy.py), as a plain loop over time. Per head,
// with the state S of shape [K, V] (fla's convention; RWKV writes its transpose):
//   S_t = diag(exp(logw_t)) S_{t-1} + b_t (a_tᵀ S_{t-1}) + k_t v_tᵀ,    o_t = S_tᵀ q_t.
// RWKV-7 uses a = −κ̂ (the normalized key), b = κ̂ ⊙ α (α its in-context learning rate), q = r.
// Layouts: q, k, logw, a, b [B,T,H,K]; v [B,T,H,V]; states [B,H,K,V].

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';

export interface DplrRefInputs {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  /** Log decay per key channel (≤ 0). */
  logw: CpuTensor;
  a: CpuTensor;
  b: CpuTensor;
  h0?: CpuTensor;
}

export function dplrRef(x: DplrRefInputs): { o: CpuTensor; finalState: CpuTensor } {
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const o = cpuTensor([B, T, H, V]);
  const finalState = cpuTensor([B, H, K, V]);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(K * V);
      if (x.h0) S.set(x.h0.data.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * H + h;
        const vec = (t: CpuTensor) => t.data.subarray(row * K, row * K + K);
        const [q, k, logw, a, bb] = [x.q, x.k, x.logw, x.a, x.b].map(vec);
        const v = x.v.data.subarray(row * V, row * V + V);
        for (let j = 0; j < V; j++) {
          let p = 0;
          for (let i = 0; i < K; i++) p += a[i] * S[i * V + j];
          for (let i = 0; i < K; i++) S[i * V + j] = Math.exp(logw[i]) * S[i * V + j] + bb[i] * p + k[i] * v[j];
          let out = 0;
          for (let i = 0; i < K; i++) out += q[i] * S[i * V + j];
          o.data[row * V + j] = out;
        }
      }
      finalState.data.set(S, (b * H + h) * K * V);
    }
  return { o, finalState };
}
