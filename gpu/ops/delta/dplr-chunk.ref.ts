// float64 references for the chunked generalized delta rule (dplr-chunk.ts). Two oracles:
//  - `dplrBackwardRef`: the adjoint of the step recurrence of dplr.ref.ts, token by token. It is the
//    ground truth of every gradient of the chunked op (and is itself checked by finite differences).
//  - `dplrChunkRef`: the chunked algorithm written as plain loops, to show the derivation is right
//    independently of any GPU arithmetic. Per chunk of C tokens (positions i, j local to the chunk,
//    S₀ the state entering it, d a key channel):
//      γ_i = Σ_{m≤i} logw_m,  γ⁻_i = γ_i − logw_i = γ_{i−1}      (cumulative log decay inside the chunk)
//      p_i = S_{i−1}ᵀ a_i  (the "removal" read of token i), so that
//      p_i = S₀ᵀ(a_i ⊙ e^{γ⁻_i}) + Σ_{j<i} A^{ab}_ij p_j + Σ_{j<i} A^{ak}_ij v_j,
//        A^{ab}_ij = Σ_d a_i[d] e^{γ⁻_i[d] − γ_j[d]} b_j[d],  A^{ak}_ij likewise with k_j.
//      Stacked over the chunk: (I − A^{ab}) P = Ã S₀ + A^{ak} V, so with L⁻¹ = (I − A^{ab})⁻¹
//        W = L⁻¹ Ã,  U = L⁻¹ A^{ak} V,  P = W S₀ + U                       (the WY-style form),
//        O = Q̃ S₀ + Q^{b} P + Q^{k} V,  Q^{b}_ij = Σ_d q_i[d] e^{γ_i[d] − γ_j[d]} b_j[d] (j ≤ i),
//        S_C = Diag(e^{γ_C}) S₀ + B̂ᵀ P + K̂ᵀ V,  B̂_j = b_j ⊙ e^{γ_C − γ_j},  K̂_j = k_j ⊙ e^{γ_C − γ_j},
//      with Ã_i = a_i ⊙ e^{γ⁻_i} and Q̃_i = q_i ⊙ e^{γ_i}. Every exponent here is ≤ 0.
// Layouts as in dplr.ref.ts: q, k, logw, a, b [B,T,H,K]; v [B,T,H,V]; states [B,H,K,V].

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';
import type { DplrRefInputs } from './dplr.ref.js';

export interface DplrRefGrads {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  logw: CpuTensor;
  a: CpuTensor;
  b: CpuTensor;
  h0: CpuTensor;
}

/**
 * Gradients of L = Σ o ⊙ dO + Σ S_T ⊙ dFinal through the step recurrence. Walking back per value column,
 * with dS the gradient of the state after token t:
 *   dS += q_t dO_tᵀ;  dq_t = S_t dO_t;  dk_t = dS v_t;  dv_t = dSᵀ k_t;  db_t = dS p_t;  dp_t = dSᵀ b_t;
 *   dlogw_t = w_t ⊙ rowsum(dS ∘ S_{t−1});  da_t = S_{t−1} dp_t;  dS_{t−1} = Diag(w_t) dS + a_t dp_tᵀ.
 */
export function dplrBackwardRef(x: DplrRefInputs, dO: CpuTensor, dFinal?: CpuTensor): DplrRefGrads {
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const g: DplrRefGrads = {
    q: cpuTensor(x.q.shape),
    k: cpuTensor(x.k.shape),
    v: cpuTensor(x.v.shape),
    logw: cpuTensor(x.logw.shape),
    a: cpuTensor(x.a.shape),
    b: cpuTensor(x.b.shape),
    h0: cpuTensor([B, H, K, V]),
  };
  for (let bi = 0; bi < B; bi++)
    for (let h = 0; h < H; h++) {
      // Every state S_0..S_T of this head (S_0 the initial one), kept for the walk back.
      const states = [new Float64Array(K * V)];
      if (x.h0) states[0].set(x.h0.data.subarray((bi * H + h) * K * V, (bi * H + h + 1) * K * V));
      const ps: Float64Array[] = [];
      for (let t = 0; t < T; t++) {
        const row = (bi * T + t) * H + h;
        const [k, logw, a, bb] = [x.k, x.logw, x.a, x.b].map((m) => m.data.subarray(row * K, row * K + K));
        const v = x.v.data.subarray(row * V, row * V + V);
        const prev = states[t];
        const next = new Float64Array(K * V);
        const p = new Float64Array(V);
        for (let j = 0; j < V; j++) {
          for (let i = 0; i < K; i++) p[j] += a[i] * prev[i * V + j];
          for (let i = 0; i < K; i++)
            next[i * V + j] = Math.exp(logw[i]) * prev[i * V + j] + bb[i] * p[j] + k[i] * v[j];
        }
        states.push(next);
        ps.push(p);
      }
      const dS = new Float64Array(K * V);
      if (dFinal) dS.set(dFinal.data.subarray((bi * H + h) * K * V, (bi * H + h + 1) * K * V));
      for (let t = T - 1; t >= 0; t--) {
        const row = (bi * T + t) * H + h;
        const at = (m: CpuTensor) => m.data.subarray(row * K, row * K + K);
        const [q, k, logw, a, bb] = [x.q, x.k, x.logw, x.a, x.b].map(at);
        const [gq, gk, glogw, ga, gb] = [g.q, g.k, g.logw, g.a, g.b].map(at);
        const v = x.v.data.subarray(row * V, row * V + V);
        const gv = g.v.data.subarray(row * V, row * V + V);
        const dOt = dO.data.subarray(row * V, row * V + V);
        const [cur, prev, p] = [states[t + 1], states[t], ps[t]];
        const dp = new Float64Array(V);
        for (let i = 0; i < K; i++)
          for (let j = 0; j < V; j++) {
            dS[i * V + j] += q[i] * dOt[j];
            gq[i] += cur[i * V + j] * dOt[j];
          }
        for (let i = 0; i < K; i++)
          for (let j = 0; j < V; j++) {
            const s = dS[i * V + j];
            gk[i] += s * v[j];
            gv[j] += s * k[i];
            gb[i] += s * p[j];
            dp[j] += s * bb[i];
            glogw[i] += Math.exp(logw[i]) * s * prev[i * V + j];
          }
        for (let i = 0; i < K; i++)
          for (let j = 0; j < V; j++) {
            ga[i] += prev[i * V + j] * dp[j];
            dS[i * V + j] = Math.exp(logw[i]) * dS[i * V + j] + a[i] * dp[j];
          }
      }
      g.h0.data.set(dS, (bi * H + h) * K * V);
    }
  return g;
}

/** The chunked algorithm (header) in float64, chunk length `chunk`; equals dplrRef up to rounding. */
export function dplrChunkRef(x: DplrRefInputs, chunk: number): { o: CpuTensor; finalState: CpuTensor } {
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const o = cpuTensor([B, T, H, V]);
  const finalState = cpuTensor([B, H, K, V]);
  const matrix = (rows: number, cols: number) => Array.from({ length: rows }, () => new Float64Array(cols));
  for (let bi = 0; bi < B; bi++)
    for (let h = 0; h < H; h++) {
      let S = matrix(K, V);
      if (x.h0)
        for (let d = 0; d < K; d++)
          S[d].set(x.h0.data.subarray(((bi * H + h) * K + d) * V, ((bi * H + h) * K + d + 1) * V));
      for (let t0 = 0; t0 < T; t0 += chunk) {
        const C = Math.min(chunk, T - t0);
        const row = (i: number) => (bi * T + t0 + i) * H + h;
        const vecK = (m: CpuTensor, i: number) => m.data.subarray(row(i) * K, row(i) * K + K);
        const vecV = (m: CpuTensor, i: number) => m.data.subarray(row(i) * V, row(i) * V + V);
        const gam = matrix(C, K);
        for (let i = 0; i < C; i++)
          for (let d = 0; d < K; d++) gam[i][d] = (i > 0 ? gam[i - 1][d] : 0) + vecK(x.logw, i)[d];
        const before = (i: number, d: number) => (i > 0 ? gam[i - 1][d] : 0);
        // Pair coefficients with the decay between the two tokens (exponent ≤ 0).
        const pair = (left: Float64Array, leftLog: (d: number) => number, right: Float64Array, j: number) => {
          let s = 0;
          for (let d = 0; d < K; d++) s += left[d] * Math.exp(leftLog(d) - gam[j][d]) * right[d];
          return s;
        };
        const Aab = matrix(C, C);
        const Aak = matrix(C, C);
        const Qb = matrix(C, C);
        const Qk = matrix(C, C);
        for (let i = 0; i < C; i++)
          for (let j = 0; j <= i; j++) {
            if (j < i) {
              Aab[i][j] = pair(vecK(x.a, i), (d) => before(i, d), vecK(x.b, j), j);
              Aak[i][j] = pair(vecK(x.a, i), (d) => before(i, d), vecK(x.k, j), j);
            }
            Qb[i][j] = pair(vecK(x.q, i), (d) => gam[i][d], vecK(x.b, j), j);
            Qk[i][j] = pair(vecK(x.q, i), (d) => gam[i][d], vecK(x.k, j), j);
          }
        // L⁻¹ = (I − A^{ab})⁻¹ by forward substitution: X_ij = δ_ij + Σ_{j≤m<i} A_im X_mj.
        const Linv = matrix(C, C);
        for (let i = 0; i < C; i++)
          for (let j = 0; j <= i; j++) {
            let s = i === j ? 1 : 0;
            for (let m = j; m < i; m++) s += Aab[i][m] * Linv[m][j];
            Linv[i][j] = s;
          }
        const aDecayed = Array.from({ length: C }, (_, i) => vecK(x.a, i).map((z, d) => z * Math.exp(before(i, d))));
        const W = matrix(C, K);
        const U = matrix(C, V);
        for (let i = 0; i < C; i++)
          for (let m = 0; m <= i; m++) {
            for (let d = 0; d < K; d++) W[i][d] += Linv[i][m] * aDecayed[m][d];
            for (let j = 0; j < m; j++) for (let c = 0; c < V; c++) U[i][c] += Linv[i][m] * Aak[m][j] * vecV(x.v, j)[c];
          }
        const P = matrix(C, V);
        for (let i = 0; i < C; i++)
          for (let c = 0; c < V; c++) {
            let s = U[i][c];
            for (let d = 0; d < K; d++) s += W[i][d] * S[d][c];
            P[i][c] = s;
          }
        for (let i = 0; i < C; i++) {
          const out = o.data.subarray(row(i) * V, row(i) * V + V);
          for (let c = 0; c < V; c++) {
            let s = 0;
            for (let d = 0; d < K; d++) s += vecK(x.q, i)[d] * Math.exp(gam[i][d]) * S[d][c];
            for (let j = 0; j <= i; j++) s += Qb[i][j] * P[j][c] + Qk[i][j] * vecV(x.v, j)[c];
            out[c] = s;
          }
        }
        const next = matrix(K, V);
        for (let d = 0; d < K; d++)
          for (let c = 0; c < V; c++) {
            const last = gam[C - 1][d];
            let s = Math.exp(last) * S[d][c];
            for (let j = 0; j < C; j++) {
              const carry = Math.exp(last - gam[j][d]);
              s += carry * (vecK(x.b, j)[d] * P[j][c] + vecK(x.k, j)[d] * vecV(x.v, j)[c]);
            }
            next[d][c] = s;
          }
        S = next;
      }
      for (let d = 0; d < K; d++) finalState.data.set(S[d], ((bi * H + h) * K + d) * V);
    }
  return { o, finalState };
}

/** (I − A)⁻¹ of every [C, C] matrix of a [..., C, C] tensor, reading only A's strictly lower triangle. */
export function unitLowerInverseRef(a: CpuTensor): CpuTensor {
  const C = a.shape[a.shape.length - 1];
  const x = cpuTensor(a.shape);
  for (let base = 0; base < a.data.length; base += C * C)
    for (let i = 0; i < C; i++)
      for (let j = 0; j <= i; j++) {
        let s = i === j ? 1 : 0;
        for (let m = j; m < i; m++) s += a.data[base + i * C + m] * x.data[base + m * C + j];
        x.data[base + i * C + j] = s;
      }
  return x;
}

/**
 * S_{n+1} = Diag(d_n) S_n + B̂_nᵀ (W_n S_n) + R_n per batch·head (the chunk-state scan): decay [BH, NT, K],
 * bHat, w [BH, NT, C, K], r [BH, NT, K, V], initial [BH, K, V]. Returns the entering states and the last.
 */
export function chunkStateScanRef(
  x: { decay: CpuTensor; bHat: CpuTensor; w: CpuTensor; r: CpuTensor },
  initial?: CpuTensor,
): { states: CpuTensor; last: CpuTensor } {
  const [BH, NT, K, V] = x.r.shape;
  const C = x.w.shape[2];
  const states = cpuTensor([BH, NT, K, V]);
  const last = cpuTensor([BH, K, V]);
  for (let bh = 0; bh < BH; bh++) {
    let S = initial ? initial.data.slice(bh * K * V, (bh + 1) * K * V) : new Float64Array(K * V);
    for (let n = 0; n < NT; n++) {
      const chunk = bh * NT + n;
      states.data.set(S, chunk * K * V);
      const ws = new Float64Array(C * V); // W S
      for (let j = 0; j < C; j++)
        for (let c = 0; c < V; c++)
          for (let d = 0; d < K; d++) ws[j * V + c] += x.w.data[(chunk * C + j) * K + d] * S[d * V + c];
      const next = new Float64Array(K * V);
      for (let i = 0; i < K; i++)
        for (let c = 0; c < V; c++) {
          let s = x.decay.data[chunk * K + i] * S[i * V + c] + x.r.data[(chunk * K + i) * V + c];
          for (let j = 0; j < C; j++) s += x.bHat.data[(chunk * C + j) * K + i] * ws[j * V + c];
          next[i * V + c] = s;
        }
      S = next;
    }
    last.data.set(S, bh * K * V);
  }
  return { states, last };
}
