// Implicit attention of the class-B families whose gates need more than a decay mask: RWKV-6 (token
// shift, the read-before-decay order and the bonus u on the current token), mLSTM (exponential input
// gate with its running-max stabilizer and the max(|n·q|, e^−m) normalizer) and GSA (the slot read-out
// p_t = softmax(H_kᵀ q_t) of its first pass used as the query of the second). Each matrix is the exact
// map from the family's value stream to its per-head output given the gates of this input; the rest of
// the layer (per-head norms, output gates, skips, W_o) is the token-wise output path. Gates and streams
// are computed as the float64 references of gpu/nn/mixers/linear-matrix compute them.
//   RWKV-6:  A_h[t, s] = r_t · (∏_{j=s..t−1} w_j) ⊙ k_s  (s < t),   A_h[t, t] = r_t · (u ⊙ k_t)
//   mLSTM:   A_h[t, s] = exp(ĩ_s + Σ_{r=s+1..t} log σ(f̃_r) − m_t) (q_t · k_s/√K) / max(|n_t · q_t|, e^−m_t + ε)
//   GSA:     A_h[t, s] = p_t · (∏_{r=s+1..t} α_r) ⊙ (1 − α_s)

import type { CpuTensor } from '../../cpu/tensor.js';
import type { MixerOptions } from '../../nn/mixer.js';
import {
  convStep,
  matvec,
  param,
  rmsNormVec,
  silu,
  type RefParams,
} from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { gsaConfig } from '../../nn/mixers/linear-matrix/gsa.js';
import { MLSTM_EPS, mlstmConfig } from '../../nn/mixers/linear-matrix/mlstm.js';
import { head, layerNormVec, logsigmoid } from '../../nn/mixers/linear-matrix/ref-utils.js';
import { RWKV6_MIXES, rwkv6Config } from '../../nn/mixers/linear-matrix/rwkv6.js';
import { columnsOf, rowOf, stack, type ImplicitLayer } from './core.js';
import { decayedHeads } from './matrix.js';

function rwkv6(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = rwkv6Config(d, given);
  const { heads: H, headK: K, headV: V, projRank: r } = c;
  const P = (name: string) => param(p, name);
  const rows = { r: [] as number[][], k: [] as number[][], v: [] as number[][], g: [] as number[][] };
  const w: number[][] = [];
  let previous = new Array<number>(d).fill(0);
  for (let t = 0; t < T; t++) {
    // Token shift with the data-dependent interpolation (ddlerp), as rwkv6.ref.ts.
    const xt = rowOf(x, t, d);
    const delta = xt.map((v, i) => previous[i] - v);
    previous = xt;
    const mu0 = P('x_proj.0.mu').data;
    const low = matvec(
      P('x_proj.0.linear.weight'),
      xt.map((v, i) => v + delta[i] * mu0[i]),
    ).map(Math.tanh);
    const W2 = P('x_proj.2.weight').data;
    const mixed: Record<string, number[]> = {};
    RWKV6_MIXES.forEach((name, n) => {
      mixed[name] = xt.map((v, i) => {
        let mu = P('x_bias').data[n * d + i];
        for (let j = 0; j < r; j++) mu += W2[i * 5 * r + n * r + j] * low[n * r + j];
        return v + delta[i] * mu;
      });
    });
    for (const name of ['r', 'k', 'v', 'g'] as const)
      rows[name].push(matvec(P(`${name}_proj.linear.weight`), mixed[name]));
    const lora = matvec(P('w_proj.linear.lora.0.weight'), mixed.w).map(Math.tanh);
    w.push(matvec(P('w_proj.linear.lora.2.weight'), lora, P('w_proj.linear.lora.2.bias')).map((z) => -Math.exp(z)));
  }
  const bonus = Array.from(P('bonus').data);
  const logDecay = new Float64Array(T * H);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) logDecay[t * H + h] = head(w[t], h, K).reduce((s, z) => s + z, 0) / K;
  // The read at t sees S_{t−1}: a write s < t has been decayed by w_{s+1} … w_{t−1} (not by w_s, nor w_t),
  // and the current token enters through the bonus u instead.
  const matrix = (h: number) => {
    const A = new Float64Array(T * T);
    const vec = new Float64Array(K);
    for (let s = 0; s < T; s++) {
      const [rs, ks, u] = [head(rows.r[s], h, K), head(rows.k[s], h, K), head(bonus, h, K)];
      A[s * T + s] = rs.reduce((acc, ri, i) => acc + ri * u[i] * ks[i], 0);
      vec.set(ks);
      for (let t = s + 1; t < T; t++) {
        const rt = head(rows.r[t], h, K);
        A[t * T + s] = rt.reduce((acc, ri, i) => acc + ri * vec[i], 0);
        const wt = head(w[t], h, K);
        for (let i = 0; i < K; i++) vec[i] *= Math.exp(wt[i]);
      }
    }
    return A;
  };
  const gNorm = (name: string, h: number) => head(Array.from(P(name).data), h, V);
  const layer = decayedHeads({
    kind: 'rwkv6',
    T,
    heads: H,
    K,
    V,
    q: stack(rows.r),
    k: stack(rows.k),
    decay: null,
    v: stack(rows.v),
    logDecay,
    post: (t, outs) =>
      matvec(
        P('o_proj.weight'),
        outs
          .flatMap((o, h) => layerNormVec(Array.from(o), c.normEps, gNorm('g_norm.weight', h), gNorm('g_norm.bias', h)))
          .map((z, i) => z * silu(rows.g[t][i])),
      ),
    description:
      'per head: r_t · (∏_{j=s..t−1} w_j) ⊙ k_s, and r_t · (u ⊙ k_t) on the diagonal (ddlerp token shift, w = exp(−exp(LoRA))); ' +
      'then GroupNorm per head ⊙ swish(g), W_o',
  });
  return { ...layer, matrix };
}

/** Block-diagonal projection (mlstm.ref.ts): block g of the output is W's block g times block g of x. */
function grouped(W: CpuTensor, x: number[], bs: number): number[] {
  return x.map((_, o) => {
    const g = Math.floor(o / bs);
    let acc = 0;
    for (let i = 0; i < bs; i++) acc += W.data[o * bs + i] * x[g * bs + i];
    return acc;
  });
}

function mlstm(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = mlstmConfig(d, given);
  const { inner: I, heads: H, headDim: K, blockSize: bs } = c;
  const P = (name: string) => param(p, name);
  const scale = 1 / Math.sqrt(K);
  const q: number[][] = [];
  const k: number[][] = [];
  const v: number[][] = [];
  const z: number[][] = [];
  const xc: number[][] = [];
  const ig: number[][] = [];
  const logF: number[][] = [];
  let history = Array.from({ length: c.convSize - 1 }, () => new Array<number>(I).fill(0));
  for (let t = 0; t < T; t++) {
    const up = matvec(P('proj_up.weight'), rowOf(x, t, d));
    const xm = up.slice(0, I);
    z.push(up.slice(I));
    const conv = convStep(history, xm, P('conv1d.weight'), P('conv1d.bias')).map(silu);
    history = [...history.slice(1), xm];
    xc.push(conv);
    q.push(grouped(P('q_proj.weight'), conv, bs));
    k.push(grouped(P('k_proj.weight'), conv, bs));
    v.push(grouped(P('v_proj.weight'), xm, bs));
    const gatesIn = [...q[t], ...k[t], ...v[t]];
    ig.push(matvec(P('igate.weight'), gatesIn, P('igate.bias')));
    logF.push(matvec(P('fgate.weight'), gatesIn, P('fgate.bias')).map(logsigmoid));
  }
  // The stabilizer m_t = max(m_{t−1} + log σ(f̃_t), ĩ_t), from m_{−1} = −∞.
  const m = Array.from({ length: H }, (_, h) => {
    let running = -Infinity;
    return Array.from({ length: T }, (_, t) => (running = Math.max(running + logF[t][h], ig[t][h])));
  });
  const logDecay = new Float64Array(T * H);
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) logDecay[t * H + h] = logF[t][h];
  return {
    kind: 'mlstm',
    method: 'exact',
    unit: 'head',
    count: H,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix(h) {
      const A = new Float64Array(T * T);
      for (let t = 0; t < T; t++) {
        const qh = head(q[t], h, K);
        // Σ_{r=s+1..t} log σ(f̃_r), accumulated from s = t down: every exponent below is ≤ 0.
        let carried = 0;
        let nq = 0;
        for (let s = t; s >= 0; s--) {
          const kh = head(k[s], h, K);
          const weight = Math.exp(ig[s][h] + carried - m[h][t]);
          const a = weight * scale * qh.reduce((acc, qi, i) => acc + qi * kh[i], 0);
          A[t * T + s] = a;
          nq += a;
          carried += logF[s][h];
        }
        const denominator = Math.max(Math.abs(nq), Math.exp(-m[h][t]) + MLSTM_EPS);
        for (let s = 0; s <= t; s++) A[t * T + s] /= denominator;
      }
      return A;
    },
    valueWidth: K,
    values: (h) => columnsOf(stack(v), T, I, h * K, K),
    post: (t, outs) => {
      const norm = Array.from(P('o_norm.weight').data);
      const hidden = outs.flatMap((o, h) => layerNormVec(Array.from(o), c.normEps, head(norm, h, K)));
      return matvec(
        P('proj_down.weight'),
        hidden.map((w, i) => (w + P('learnable_skip').data[i] * xc[t][i]) * silu(z[t][i])),
      );
    },
    logDecay,
    description:
      'per head: exp(ĩ_s + Σ log σ(f̃) − m_t) K^−½ q_t·k_s / max(|n_t·q_t|, e^−m_t + ε) on v = W_v (up-projected x); ' +
      'then GroupNorm, + skip ⊙ conv(x), ⊙ swish(z), proj_down',
  };
}

function gsa(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = gsaConfig(d, given);
  const { heads: H, headK: K, headV: V, slots: M } = c;
  const P = (name: string) => param(p, name);
  const phi = (v: number) => (c.featureMap === 'relu' ? Math.max(v, 0) : silu(v));
  const read = new Float64Array(T * H * M); // p_t per head: the softmax over slots of pass 1
  const alpha = new Float64Array(T * H * M);
  const values: number[][] = [];
  const Hk = Array.from({ length: H }, () => new Float64Array(K * M));
  for (let t = 0; t < T; t++) {
    const xt = rowOf(x, t, d);
    const q = matvec(P('q_proj.weight'), xt).map(phi);
    const k = matvec(P('k_proj.weight'), xt).map(phi);
    values.push(matvec(P('v_proj.weight'), xt).map(silu));
    const f = matvec(P('f_proj.weight'), xt).map((z) => logsigmoid(z) / c.gateNormalizer);
    for (let h = 0; h < H; h++) {
      const a = head(f, h, M).map(Math.exp);
      const [qh, kh] = [head(q, h, K), head(k, h, K)];
      for (let i = 0; i < K; i++)
        for (let s = 0; s < M; s++) Hk[h][i * M + s] = Hk[h][i * M + s] * a[s] + kh[i] * (1 - a[s]);
      const ok = Array.from({ length: M }, (_, s) => qh.reduce((acc, qi, i) => acc + qi * Hk[h][i * M + s], 0));
      const top = Math.max(...ok);
      const e = ok.map((o) => Math.exp(o - top));
      const total = e.reduce((acc, w) => acc + w, 0);
      for (let s = 0; s < M; s++) {
        read[(t * H + h) * M + s] = e[s] / total;
        alpha[(t * H + h) * M + s] = a[s];
      }
    }
  }
  return decayedHeads({
    kind: 'gsa',
    T,
    heads: H,
    K: M,
    V,
    q: read,
    k: alpha.map((a) => 1 - a),
    decay: alpha,
    v: stack(values),
    post: (_t, outs) =>
      matvec(
        P('o_proj.weight'),
        rmsNormVec(
          outs.flatMap((o) => Array.from(o, silu)),
          P('g_norm.weight'),
          c.normEps,
        ),
      ),
    description:
      'per head, over its M slots: p_t · Diag(∏ α) (1 − α_s) with p_t = softmax(H_kᵀ q_t) (pass 1) and α = σ(W_f x)^(1/8), ' +
      'on v = swish(W_v x); then RMSNorm(swish(·)), W_o',
  });
}

export const GATED_BUILDERS = { rwkv6, mlstm, gsa };
