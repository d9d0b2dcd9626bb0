// float64 reference of the (gated) delta rule, written as the plain loop over time that fla's
// `naive_recurrent_gated_delta_rule` is. The oracle for the chunked and recurrent WGSL kernels.
//
// Per head, with the state S of shape [K, V] (fla's convention):
//   S ← exp(g_t) S                     (scalar decay; g = 0 is plain DeltaNet)
//   u_t = β_t (v_t − Sᵀ k_t)           (the "delta": what the memory gets wrong about v_t)
//   S ← S + k_t u_tᵀ                   i.e. S_t = (I − β_t k_t k_tᵀ) exp(g_t) S_{t-1} + β_t k_t v_tᵀ
//   o_t = Sᵀ (scale · q_t)
// Layouts: q, k [B,T,H,K]; v [B,T,H,V]; beta, g [B,T,H]; initial/final state [B,H,K,V].

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';

export interface DeltaRuleRefInputs {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  beta: CpuTensor;
  /** Log decay per token and head (≤ 0); absent = no decay. */
  g?: CpuTensor;
  h0?: CpuTensor;
  scale: number;
}

export interface DeltaRuleRefOutputs {
  o: CpuTensor;
  finalState: CpuTensor;
}

export interface DeltaRuleRefGrads {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  beta: CpuTensor;
  g: CpuTensor;
  h0: CpuTensor;
}

function dims(x: DeltaRuleRefInputs) {
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  return { B, T, H, K, V };
}

/** Runs the recurrence; `states[t]` (optional) receives S after token t for the backward pass. */
function run(x: DeltaRuleRefInputs, keepStates: boolean) {
  const { B, T, H, K, V } = dims(x);
  const o = cpuTensor([B, T, H, V]);
  const finalState = cpuTensor([B, H, K, V]);
  // states[b][h][t] = S before token t's decay (t = 0 is the initial state), each [K*V].
  const states: Float64Array[][][] = [];
  for (let b = 0; b < B; b++) {
    states.push([]);
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(K * V);
      if (x.h0) S.set(x.h0.data.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      const kept: Float64Array[] = [];
      for (let t = 0; t < T; t++) {
        if (keepStates) kept.push(S.slice());
        const tok = (b * T + t) * H + h;
        const decay = x.g ? Math.exp(x.g.data[tok]) : 1;
        const beta = x.beta.data[tok];
        for (let i = 0; i < K * V; i++) S[i] *= decay;
        for (let j = 0; j < V; j++) {
          let predicted = 0;
          for (let i = 0; i < K; i++) predicted += S[i * V + j] * x.k.data[tok * K + i];
          const u = beta * (x.v.data[tok * V + j] - predicted);
          for (let i = 0; i < K; i++) S[i * V + j] += x.k.data[tok * K + i] * u;
        }
        for (let j = 0; j < V; j++) {
          let out = 0;
          for (let i = 0; i < K; i++) out += S[i * V + j] * x.q.data[tok * K + i] * x.scale;
          o.data[tok * V + j] = out;
        }
      }
      kept.push(S.slice());
      states[b].push(kept);
      finalState.data.set(S, (b * H + h) * K * V);
    }
  }
  return { o, finalState, states };
}

export function deltaRuleRef(x: DeltaRuleRefInputs): DeltaRuleRefOutputs {
  const { o, finalState } = run(x, false);
  return { o, finalState };
}

/**
 * Gradients of L = Σ o·dO + Σ finalState·dS by the reverse-time recurrence (backprop through the
 * loop above, one token at a time, with the stored states).
 */
export function deltaRuleGradRef(x: DeltaRuleRefInputs, dO: CpuTensor, dFinal?: CpuTensor): DeltaRuleRefGrads {
  const { B, T, H, K, V } = dims(x);
  const { states } = run(x, true);
  const grads: DeltaRuleRefGrads = {
    q: cpuTensor(x.q.shape),
    k: cpuTensor(x.k.shape),
    v: cpuTensor(x.v.shape),
    beta: cpuTensor(x.beta.shape),
    g: cpuTensor(x.beta.shape),
    h0: cpuTensor([B, H, K, V]),
  };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const dS = new Float64Array(K * V);
      if (dFinal) dS.set(dFinal.data.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      for (let t = T - 1; t >= 0; t--) {
        const tok = (b * T + t) * H + h;
        const decay = x.g ? Math.exp(x.g.data[tok]) : 1;
        const beta = x.beta.data[tok];
        const prev = states[b][h][t];
        const after = states[b][h][t + 1];
        const kv = (arr: Float64Array, off: number, n: number) => arr.subarray(off * n, off * n + n);
        const q = kv(x.q.data, tok, K);
        const k = kv(x.k.data, tok, K);
        const v = kv(x.v.data, tok, V);
        const dOt = kv(dO.data, tok, V);
        // o_t = S_tᵀ (scale q): dS_t += scale q dOᵀ; dq = scale S_t dO.
        for (let i = 0; i < K; i++) {
          let dq = 0;
          for (let j = 0; j < V; j++) {
            dS[i * V + j] += x.scale * q[i] * dOt[j];
            dq += after[i * V + j] * dOt[j];
          }
          grads.q.data[tok * K + i] = x.scale * dq;
        }
        // Recompute the decayed state Ŝ and the delta u of this token.
        const decayed = prev.map((s) => s * decay);
        const predicted = new Float64Array(V);
        for (let j = 0; j < V; j++) for (let i = 0; i < K; i++) predicted[j] += decayed[i * V + j] * k[i];
        const u = new Float64Array(V);
        for (let j = 0; j < V; j++) u[j] = beta * (v[j] - predicted[j]);
        // S_t = Ŝ + k uᵀ: du = dSᵀ k; dk += dS u.
        const du = new Float64Array(V);
        for (let j = 0; j < V; j++) for (let i = 0; i < K; i++) du[j] += dS[i * V + j] * k[i];
        for (let i = 0; i < K; i++) {
          let dk = 0;
          for (let j = 0; j < V; j++) dk += dS[i * V + j] * u[j];
          grads.k.data[tok * K + i] = dk;
        }
        // u = β (v − Ŝᵀ k): dβ, dv, and dp = −β du flowing into Ŝ and k.
        let dBeta = 0;
        for (let j = 0; j < V; j++) {
          dBeta += du[j] * (v[j] - predicted[j]);
          grads.v.data[tok * V + j] = beta * du[j];
        }
        grads.beta.data[tok] = dBeta;
        const dp = du.map((d) => -beta * d);
        for (let i = 0; i < K; i++) {
          let dk = 0;
          for (let j = 0; j < V; j++) {
            dS[i * V + j] += k[i] * dp[j];
            dk += decayed[i * V + j] * dp[j];
          }
          grads.k.data[tok * K + i] += dk;
        }
        // Ŝ = exp(g) S_{t-1}: dg = <dŜ, Ŝ>; dS_{t-1} = exp(g) dŜ.
        let dg = 0;
        for (let i = 0; i < K * V; i++) {
          dg += dS[i] * decayed[i];
          dS[i] *= decay;
        }
        grads.g.data[tok] = x.g ? dg : 0;
      }
      grads.h0.data.set(dS, (b * H + h) * K * V);
    }
  }
  return grads;
}
