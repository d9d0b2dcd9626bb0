// float64 reference of causal softmax attention: the naive T×T form (scores, mask, softmax, weighted
// sum) that the tiled WGSL kernels must equal. Covers grouped/multi-query heads, a sliding window,
// the Forgetting Transformer's bias, and queries that are the last Tq of Tk positions (KV cache).
//
//   s_ij = scale q_i·k_j + F_{p(i)} − F_j,   visible iff j ≤ p(i) and (window = 0 or p(i) − j < window),
//   o_i  = Σ_j softmax_j(s_ij) v_j,           p(i) = Tk − Tq + i (the query's position).
// Layouts: q [B,Tq,H,D]; k, v [B,Tk,Hkv,D] (query head h reads kv head ⌊h / (H/Hkv)⌋);
// cumLogForget F [B,Tk,H] (F_t = Σ_{s≤t} log f_s per query head).

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';

export interface AttentionRefInputs {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  cumLogForget?: CpuTensor;
  scale: number;
  /** 0 = full causal attention. */
  window: number;
}

export interface AttentionRefGrads {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  cumLogForget: CpuTensor;
}

/** Softmax probabilities of every (b, h, i) row over keys, with the mask applied (0 where hidden). */
function probabilities(x: AttentionRefInputs) {
  const [B, Tq, H, D] = x.q.shape;
  const [, Tk, Hkv] = x.k.shape;
  const group = H / Hkv;
  const offset = Tk - Tq;
  const probs = new Float64Array(B * H * Tq * Tk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        const pos = offset + i;
        const row = ((b * H + h) * Tq + i) * Tk;
        const scores: number[] = [];
        for (let j = 0; j <= pos; j++) {
          if (x.window > 0 && pos - j >= x.window) continue;
          let s = 0;
          for (let d = 0; d < D; d++) {
            s +=
              x.q.data[((b * Tq + i) * H + h) * D + d] * x.k.data[((b * Tk + j) * Hkv + Math.floor(h / group)) * D + d];
          }
          s *= x.scale;
          if (x.cumLogForget)
            s += x.cumLogForget.data[(b * Tk + pos) * H + h] - x.cumLogForget.data[(b * Tk + j) * H + h];
          scores[j] = s;
        }
        const max = Math.max(...scores.filter((s) => s !== undefined));
        let total = 0;
        scores.forEach((s, j) => {
          probs[row + j] = Math.exp(s - max);
          total += probs[row + j];
        });
        for (let j = 0; j < Tk; j++) probs[row + j] /= total;
      }
  return probs;
}

export function attentionRef(x: AttentionRefInputs): CpuTensor {
  const [B, Tq, H, D] = x.q.shape;
  const [, Tk, Hkv] = x.k.shape;
  const probs = probabilities(x);
  const o = cpuTensor([B, Tq, H, D]);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++)
        for (let j = 0; j < Tk; j++) {
          const p = probs[((b * H + h) * Tq + i) * Tk + j];
          if (p === 0) continue;
          for (let d = 0; d < D; d++) {
            o.data[((b * Tq + i) * H + h) * D + d] +=
              p * x.v.data[((b * Tk + j) * Hkv + Math.floor(h / (H / Hkv))) * D + d];
          }
        }
  return o;
}

/** Gradients of Σ o·dO through the softmax: dS = P ∘ (dO·v_j − Σ_j P dO·v_j). */
export function attentionGradRef(x: AttentionRefInputs, dO: CpuTensor): AttentionRefGrads {
  const [B, Tq, H, D] = x.q.shape;
  const [, Tk, Hkv] = x.k.shape;
  const group = H / Hkv;
  const offset = Tk - Tq;
  const probs = probabilities(x);
  const grads: AttentionRefGrads = {
    q: cpuTensor(x.q.shape),
    k: cpuTensor(x.k.shape),
    v: cpuTensor(x.v.shape),
    cumLogForget: cpuTensor([B, Tk, H]),
  };
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kvHead = Math.floor(h / group);
      const qi = (i: number, d: number) => ((b * Tq + i) * H + h) * D + d;
      const kj = (j: number, d: number) => ((b * Tk + j) * Hkv + kvHead) * D + d;
      for (let i = 0; i < Tq; i++) {
        const row = ((b * H + h) * Tq + i) * Tk;
        const dp = new Float64Array(Tk);
        let weighted = 0;
        for (let j = 0; j < Tk; j++) {
          for (let d = 0; d < D; d++) dp[j] += dO.data[qi(i, d)] * x.v.data[kj(j, d)];
          weighted += probs[row + j] * dp[j];
        }
        for (let j = 0; j < Tk; j++) {
          const p = probs[row + j];
          if (p === 0) continue;
          const ds = p * (dp[j] - weighted);
          for (let d = 0; d < D; d++) {
            grads.v.data[kj(j, d)] += p * dO.data[qi(i, d)];
            grads.q.data[qi(i, d)] += x.scale * ds * x.k.data[kj(j, d)];
            grads.k.data[kj(j, d)] += x.scale * ds * x.q.data[qi(i, d)];
          }
          grads.cumLogForget.data[(b * Tk + offset + i) * H + h] += ds;
          grads.cumLogForget.data[(b * Tk + j) * H + h] -= ds;
        }
      }
    }
  return grads;
}
