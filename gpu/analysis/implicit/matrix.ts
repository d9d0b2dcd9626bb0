// Implicit attention of the class-B families (a matrix state per head with a scalar or per-key-channel
// decay): per head h, A_h[t, s] = scale · q_t · (∏_{r=s+1..t} Diag(α_r)) k_s — linear attention with a
// causal decay mask (Katharopoulos; GLA; RetNet's γ^(t−s); Mamba-2's SSD form with Δ folded into the key
// and D as a diagonal skip; HGRN2 with k = 1 − λ). Gates follow the float64 references of
// gpu/nn/mixers/linear-matrix; the output path (per-head norm, gates, W_o) is each family's own.

import type { CpuTensor } from '../../cpu/tensor.js';
import type { MixerOptions } from '../../nn/mixer.js';
import {
  matvec,
  param,
  rmsNormVec,
  sigmoid,
  silu,
  softplus,
  type RefParams,
} from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { glaConfig } from '../../nn/mixers/linear-matrix/gla.js';
import { hgrn2Config } from '../../nn/mixers/linear-matrix/hgrn2.js';
import { linearAttentionConfig } from '../../nn/mixers/linear-matrix/linear-attention.js';
import { MAMBA2_NORM_EPS, mamba2Config } from '../../nn/mixers/linear-matrix/mamba2.js';
import { elu1, head, logsigmoid, rotateRef } from '../../nn/mixers/linear-matrix/ref-utils.js';
import { retentionLogDecay, retnetConfig } from '../../nn/mixers/linear-matrix/retnet.js';
import { columnsOf, keySpaceMatrix, rowOf, stack, type ImplicitLayer } from './core.js';
import { convSequence } from './diagonal.js';

export interface HeadInputs {
  kind: string;
  T: number;
  heads: number;
  K: number;
  V: number;
  /** Per token [T, H·K]: queries (scale included), write keys, decays (null: no decay). */
  q: Float64Array;
  k: Float64Array;
  decay: Float64Array | null;
  /** Per token [T, H·V]. */
  v: Float64Array;
  /** Per head diagonal skip (Mamba-2's D). */
  skip?: number[];
  /** Per token and head [T·H]: the log decay to report, when `decay` is not it (RWKV-6's w, which its own matrix applies). */
  logDecay?: Float64Array;
  /** Divide each row by its sum (linear attention's normalizer q·Σk). */
  rowNormalize?: boolean;
  post(t: number, outputs: Float64Array[]): number[];
  description: string;
}

export function decayedHeads(o: HeadInputs): ImplicitLayer {
  const { T, heads: H, K, V } = o;
  const logDecay = o.logDecay ?? (o.decay ? new Float64Array(T * H) : undefined);
  if (o.decay && logDecay && !o.logDecay)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++) {
        let acc = 0;
        for (let i = 0; i < K; i++) acc += Math.log(Math.abs(o.decay[(t * H + h) * K + i]));
        logDecay[t * H + h] = acc / K;
      }
  return {
    kind: o.kind,
    method: 'exact',
    unit: 'head',
    count: H,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix(h) {
      const A = keySpaceMatrix(
        {
          K,
          write: (s) => o.k.subarray((s * H + h) * K, (s * H + h + 1) * K),
          query: (t) => o.q.subarray((t * H + h) * K, (t * H + h + 1) * K),
          apply: (s, vec) => {
            if (!o.decay) return;
            for (let i = 0; i < K; i++) vec[i] *= o.decay[(s * H + h) * K + i];
          },
          skip: o.skip?.[h],
        },
        T,
        T,
        (t) => t,
      );
      if (o.rowNormalize)
        for (let t = 0; t < T; t++) {
          let sum = 0;
          for (let s = 0; s <= t; s++) sum += A[t * T + s];
          for (let s = 0; s <= t; s++) A[t * T + s] /= sum + 1e-10;
        }
      return A;
    },
    valueWidth: V,
    values: (h) => columnsOf(o.v, T, H * V, h * V, V),
    post: o.post,
    logDecay,
    description: o.description,
  };
}

const projections = (p: RefParams, x: Float64Array, T: number, d: number, name: string) =>
  Array.from({ length: T }, (_, t) => matvec(param(p, name), rowOf(x, t, d)));

/** Per head RMSNorm, optionally gated by swish(gate), then concatenated. */
function perHeadNorm(outputs: Float64Array[], weight: CpuTensor, eps: number, gate?: number[]) {
  return outputs.flatMap((o, h) => {
    const normed = rmsNormVec(Array.from(o), weight, eps);
    return gate ? normed.map((z, j) => z * silu(gate[h * o.length + j])) : normed;
  });
}

function gla(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = glaConfig(d, given);
  const { heads: H, headK: K, headV: V } = c;
  const low = projections(p, x, T, d, 'gk_proj.0.weight');
  const decay = stack(
    low.map((l) =>
      matvec(param(p, 'gk_proj.1.weight'), l, param(p, 'gk_proj.1.bias')).map((z) =>
        Math.exp(logsigmoid(z) / c.gateNormalizer),
      ),
    ),
  );
  const gate = c.outputGate ? projections(p, x, T, d, 'g_proj.weight') : null;
  return decayedHeads({
    kind: 'gla',
    T,
    heads: H,
    K,
    V,
    q: stack(projections(p, x, T, d, 'q_proj.weight').map((q) => q.map((v) => v / Math.sqrt(K)))),
    k: stack(projections(p, x, T, d, 'k_proj.weight')),
    decay,
    v: stack(projections(p, x, T, d, 'v_proj.weight')),
    post: (t, outs) =>
      matvec(param(p, 'o_proj.weight'), perHeadNorm(outs, param(p, 'g_norm.weight'), c.normEps, gate?.[t])),
    description: 'per head: K^−½ q_t · Diag(∏ α) k_s with α = σ(W₂W₁x + b)^(1/16); then RMSNorm ⊙ swish(W_g x), W_o',
  });
}

function linearAttention(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = linearAttentionConfig(d, given);
  const { heads: H, headK: K, headV: V } = c;
  const phi = (z: number) => (c.featureMap === 'elu' ? elu1(z) : c.featureMap === 'relu' ? Math.max(z, 0) : z);
  const sumNorm = (z: number[]) => {
    const total = z.reduce((s, w) => s + w, 0) + 1e-4;
    return z.map((w) => w / total);
  };
  const mapHeads = (rows: number[][], norm: boolean, scale: number) =>
    stack(
      rows.map((r) =>
        Array.from({ length: H }, (_, h) => {
          const f = head(r.map(phi), h, K);
          return (norm ? sumNorm(f) : f).map((v) => v * scale);
        }).flat(),
      ),
    );
  return decayedHeads({
    kind: 'linear_attn',
    T,
    heads: H,
    K,
    V,
    q: mapHeads(projections(p, x, T, d, 'q_proj.weight'), c.normQ, 1 / Math.sqrt(K)),
    k: mapHeads(projections(p, x, T, d, 'k_proj.weight'), c.normK, 1),
    decay: null,
    v: stack(projections(p, x, T, d, 'v_proj.weight')),
    rowNormalize: c.normalize,
    post: (_t, outs) =>
      matvec(
        param(p, 'o_proj.weight'),
        c.outputNorm ? perHeadNorm(outs, param(p, 'norm.weight'), c.normEps) : outs.flatMap((o) => Array.from(o)),
      ),
    description: `per head: K^−½ φ(q_t)·φ(k_s) with φ = ${c.featureMap}${c.normalize ? ', rows divided by q·Σk' : ''} (no decay); then the output norm, W_o`,
  });
}

function retnet(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = retnetConfig(d, given);
  const { heads: H, headK: K, headV: V } = c;
  const gammas = retentionLogDecay(H).map(Math.exp);
  const rotated = (name: string, scale: number) =>
    stack(
      projections(p, x, T, d, name).map((r, t) =>
        Array.from({ length: H }, (_, h) => rotateRef(head(r, h, K), t).map((v) => v * scale)).flat(),
      ),
    );
  const gate = c.outputGate ? projections(p, x, T, d, 'g_proj.weight') : null;
  return decayedHeads({
    kind: 'retnet',
    T,
    heads: H,
    K,
    V,
    q: rotated('q_proj.weight', 1 / Math.sqrt(K)),
    k: rotated('k_proj.weight', 1),
    decay: Float64Array.from({ length: T * H * K }, (_, i) => gammas[Math.floor(i / K) % H]),
    v: stack(projections(p, x, T, d, 'v_proj.weight')),
    post: (t, outs) =>
      matvec(param(p, 'o_proj.weight'), perHeadNorm(outs, param(p, 'g_norm.weight'), c.normEps, gate?.[t])),
    description: 'per head (retention): K^−½ RoPE(q_t)·RoPE(k_s) γ_h^(t−s); then RMSNorm ⊙ swish(W_g x), W_o',
  });
}

function mamba2(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = mamba2Config(d, given);
  const { dInner, heads: H, headDim: P, dState: N, groups: G } = c;
  const convDim = dInner + 2 * G * N;
  const proj = projections(p, x, T, d, 'in_proj.weight');
  const xBC = convSequence(
    proj.map((r) => r.slice(dInner, dInner + convDim)),
    param(p, 'conv1d.weight'),
    param(p, 'conv1d.bias'),
  ).map((r) => r.map(silu));
  const dt = proj.map((r) =>
    Array.from({ length: H }, (_, h) => softplus(r[dInner + convDim + h] + param(p, 'dt_bias').data[h])),
  );
  const group = (h: number) => Math.floor(h / (H / G));
  const q = new Float64Array(T * H * N);
  const k = new Float64Array(T * H * N);
  const decay = new Float64Array(T * H * N);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) {
      const g = group(h);
      const a = Math.exp(-dt[t][h] * Math.exp(param(p, 'A_log').data[h]));
      for (let n = 0; n < N; n++) {
        q[(t * H + h) * N + n] = xBC[t][dInner + G * N + g * N + n];
        k[(t * H + h) * N + n] = dt[t][h] * xBC[t][dInner + g * N + n];
        decay[(t * H + h) * N + n] = a;
      }
    }
  const width = dInner / G;
  return decayedHeads({
    kind: 'mamba2',
    T,
    heads: H,
    K: N,
    V: P,
    q,
    k,
    decay,
    v: stack(xBC.map((r) => r.slice(0, dInner))),
    skip: Array.from(param(p, 'D').data),
    post: (t, outs) => {
      const z = proj[t].slice(0, dInner);
      const gated = outs.flatMap((o) => Array.from(o)).map((v, i) => v * silu(z[i]));
      const normed = gated.map((v, i) => {
        const g0 = Math.floor(i / width) * width;
        const ms = gated.slice(g0, g0 + width).reduce((s, w) => s + w * w, 0) / width;
        return (v / Math.sqrt(ms + MAMBA2_NORM_EPS)) * param(p, 'norm.weight').data[i];
      });
      return matvec(param(p, 'out_proj.weight'), normed);
    },
    description:
      'per head (SSD): C_t · B_s Δ_s ∏ exp(Δ_r A_h) + D_h on x = silu(conv(·)); then ⊙ silu(z), group RMSNorm, out_proj',
  });
}

function hgrn2(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = hgrn2Config(d, given);
  const { heads: H, headDim: E, lowerBound: lb } = c;
  const lambda = stack(projections(p, x, T, d, 'f_proj.weight').map((r) => r.map((f) => lb + (1 - lb) * sigmoid(f))));
  return decayedHeads({
    kind: 'hgrn2',
    T,
    heads: H,
    K: E,
    V: E,
    q: stack(projections(p, x, T, d, 'q_proj.weight').map((r) => r.map((v) => silu(v) / Math.sqrt(E)))),
    k: lambda.map((l) => 1 - l),
    decay: lambda,
    v: stack(projections(p, x, T, d, 'i_proj.weight')),
    post: (_t, outs) =>
      matvec(
        param(p, 'o_proj.weight'),
        rmsNormVec(
          outs.flatMap((o) => Array.from(o)),
          param(p, 'g_norm.weight'),
          c.normEps,
        ),
      ),
    description: 'per head: E^−½ silu(q_t) · Diag(∏ λ)(1 − λ_s) with λ = lb + (1 − lb) σ(W_f x); then RMSNorm, W_o',
  });
}

export const MATRIX_BUILDERS = {
  gla,
  linear_attn: linearAttention,
  retnet,
  mamba2,
  hgrn2,
};
