// float64 reference of the class-B recurrence (gated linear attention), one token at a time — the
// oracle of every chunked and recurrent kernel in this folder, like fla's naive_recurrent_gla:
//   S_t = Diag(exp g_t) S_{t−1} + k_t v_tᵀ,   o_t = scale · S_tᵀ q_t,
// per batch row and head, with S: [K, V]. The log decay g is per key channel ([B,T,H,K], GLA, HGRN2,
// RWKV-6), one scalar per head ([B,T,H], simple GLA, Mamba-2, RetNet, mLSTM) or absent (linear attention).
// The backward is plain backpropagation through time over the stored states.

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';

export interface GlaRefInputs {
  /** [B, T, H, K] */
  q: CpuTensor;
  /** [B, T, H, K] */
  k: CpuTensor;
  /** [B, T, H, V] */
  v: CpuTensor;
  /** Log decay: [B, T, H, K] or [B, T, H]; absent = no decay. */
  g?: CpuTensor;
  /** [B, H, K, V]; absent = zeros. */
  h0?: CpuTensor;
  scale: number;
}

export interface GlaRefGrads {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  g: CpuTensor | null;
  h0: CpuTensor | null;
}

function dims(x: GlaRefInputs) {
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const perChannel = x.g !== undefined && x.g.shape.length === 4;
  return { B, T, H, K, V, perChannel };
}

/** exp(g) of token (b, t, h) at key channel d (1 without a decay). */
function decayAt(x: GlaRefInputs, b: number, t: number, h: number, d: number): number {
  if (!x.g) return 1;
  const { T, H, K, perChannel } = dims(x);
  const row = (b * T + t) * H + h;
  return Math.exp(perChannel ? x.g.data[row * K + d] : x.g.data[row]);
}

/** Runs the recurrence; `states[b][h][t]` (when given) receives a copy of S_t for the backward. */
function run(x: GlaRefInputs, states?: Float64Array[][][]) {
  const { B, T, H, K, V } = dims(x);
  const o = cpuTensor([B, T, H, V]);
  const finalState = cpuTensor([B, H, K, V]);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(K * V);
      if (x.h0) S.set(x.h0.data.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * H + h;
        for (let d = 0; d < K; d++) {
          const a = decayAt(x, b, t, h, d);
          const kd = x.k.data[row * K + d];
          for (let c = 0; c < V; c++) S[d * V + c] = a * S[d * V + c] + kd * x.v.data[row * V + c];
        }
        for (let c = 0; c < V; c++) {
          let acc = 0;
          for (let d = 0; d < K; d++) acc += S[d * V + c] * x.q.data[row * K + d];
          o.data[row * V + c] = x.scale * acc;
        }
        states?.[b][h].push(S.slice());
      }
      finalState.data.set(S, (b * H + h) * K * V);
    }
  }
  return { o, finalState };
}

export function glaRef(x: GlaRefInputs): { o: CpuTensor; finalState: CpuTensor } {
  return run(x);
}

/**
 * Gradients of L = Σ o·dO + Σ S_T·dS (dS optional) with respect to every input, by walking the
 * tokens backwards: dS accumulates scale·q_t dO_tᵀ, then dq_t = scale·S_t dO_t, dk_t = dS v_t,
 * dv_t = dSᵀ k_t, d(exp g_t) = Σ_c dS ⊙ S_{t−1}, and dS ← Diag(exp g_t) dS for the previous token.
 */
export function glaGradRef(x: GlaRefInputs, dO: CpuTensor, dS?: CpuTensor): GlaRefGrads {
  const { B, T, H, K, V, perChannel } = dims(x);
  const states = Array.from({ length: B }, () => Array.from({ length: H }, () => [] as Float64Array[]));
  run(x, states);
  const dq = cpuTensor(x.q.shape);
  const dk = cpuTensor(x.k.shape);
  const dv = cpuTensor(x.v.shape);
  const dg = x.g ? cpuTensor(x.g.shape) : null;
  const dh0 = cpuTensor([B, H, K, V]);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const G = new Float64Array(K * V);
      if (dS) G.set(dS.data.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      const initial = new Float64Array(K * V);
      if (x.h0) initial.set(x.h0.data.subarray((b * H + h) * K * V, (b * H + h + 1) * K * V));
      for (let t = T - 1; t >= 0; t--) {
        const row = (b * T + t) * H + h;
        const S = states[b][h][t];
        const previous = t > 0 ? states[b][h][t - 1] : initial;
        for (let d = 0; d < K; d++) {
          for (let c = 0; c < V; c++) G[d * V + c] += x.scale * x.q.data[row * K + d] * dO.data[row * V + c];
        }
        for (let d = 0; d < K; d++) {
          let q = 0;
          let k = 0;
          let decay = 0;
          for (let c = 0; c < V; c++) {
            q += S[d * V + c] * dO.data[row * V + c];
            k += G[d * V + c] * x.v.data[row * V + c];
            decay += G[d * V + c] * previous[d * V + c];
          }
          dq.data[row * K + d] = x.scale * q;
          dk.data[row * K + d] = k;
          const a = decayAt(x, b, t, h, d);
          // d exp(g)/dg = exp(g): the gradient of the log decay is a · Σ_c dS ⊙ S_{t−1}.
          if (dg) dg.data[perChannel ? row * K + d : row] += a * decay;
        }
        for (let c = 0; c < V; c++) {
          let acc = 0;
          for (let d = 0; d < K; d++) acc += G[d * V + c] * x.k.data[row * K + d];
          dv.data[row * V + c] = acc;
        }
        for (let d = 0; d < K; d++) {
          const a = decayAt(x, b, t, h, d);
          for (let c = 0; c < V; c++) G[d * V + c] *= a;
        }
      }
      dh0.data.set(G, (b * H + h) * K * V);
    }
  }
  return { q: dq, k: dk, v: dv, g: dg, h0: x.h0 ? dh0 : null };
}
