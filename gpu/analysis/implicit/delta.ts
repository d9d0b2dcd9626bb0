// Implicit attention of the delta-rule families (DeltaNet, Gated DeltaNet, DeltaProduct): the state is
// corrected, not only decayed, so a past write is carried forward by products of generalized Householder
// transitions in key space:
//     A_h[t, s] = K^−½ q̂_t · (∏_{r=s+1..t} α_r (I − β_r k̂_r k̂_rᵀ)) β_s k̂_s
// (q̂, k̂ L2-normalized, α the Gated DeltaNet decay). DeltaProduct takes n_h Householder steps per token,
// each with its own key, value and β: its matrix has T·n_h columns (token t, step j), read after the
// token's last step. Gates follow delta-core.ref.ts; the output path is the per-head RMSNorm (gated by
// swish(W_g x) when enabled) and W_o.

import type { MixerOptions } from '../../nn/mixer.js';
import { deltanetConfig } from '../../nn/mixers/delta-rule/deltanet.js';
import { deltaproductConfig } from '../../nn/mixers/delta-rule/deltaproduct.js';
import type { DeltaCoreConfig } from '../../nn/mixers/delta-rule/delta-core.js';
import { gatedDeltanetConfig } from '../../nn/mixers/delta-rule/gated-deltanet.js';
import {
  matvec,
  param,
  rmsNormVec,
  sigmoid,
  silu,
  softplus,
  type RefParams,
} from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { keySpaceMatrix, rowOf, type ImplicitLayer } from './core.js';
import { convSequence } from './diagonal.js';

function l2normalize(x: number[]): number[] {
  const norm = Math.sqrt(x.reduce((s, v) => s + v * v, 0) + 1e-6);
  return x.map((v) => v / norm);
}

function deltaLayer(c: DeltaCoreConfig, p: RefParams, d: number, x: Float64Array, T: number): ImplicitLayer {
  const { heads: H, headK: K, headV: V, householder: n } = c;
  const W = (name: string) => param(p, name);
  const rows = Array.from({ length: T }, (_, t) => rowOf(x, t, d));
  // silu(conv(W x)) over the whole sequence (or silu(W x) without convolutions).
  const branch = (proj: string, conv: string) => {
    const raw = rows.map((r) => matvec(W(proj), r));
    return (c.convSize === 0 ? raw : convSequence(raw, W(`${conv}.weight`))).map((r) => r.map(silu));
  };
  const q = branch('q_proj.weight', 'q_conv1d');
  const k = branch('k_proj.weight', 'k_conv1d');
  const v = branch('v_proj.weight', 'v_conv1d');
  const beta = rows.map((r) => matvec(W('b_proj.weight'), r).map((z) => (c.negativeEigenvalues ? 2 : 1) * sigmoid(z)));
  const decay = c.gated
    ? rows.map((r) => {
        const a = matvec(W('a_proj.weight'), r);
        return Array.from({ length: H }, (_, h) =>
          Math.exp(-Math.exp(W('A_log').data[h]) * softplus(a[h] + W('dt_bias').data[h])),
        );
      })
    : null;
  const gate = c.outputGate ? rows.map((r) => matvec(W('g_proj.weight'), r)) : null;
  const columns = T * n;
  // Keys of pseudo-token r = (t, j) for head h, normalized once.
  const keys = Array.from({ length: H }, (_, h) =>
    Array.from({ length: columns }, (_, r) => {
      const [t, j] = [Math.floor(r / n), r % n];
      return l2normalize(k[t].slice((j * H + h) * K, (j * H + h + 1) * K));
    }),
  );
  const queries = Array.from({ length: H }, (_, h) =>
    q.map((qt) => l2normalize(qt.slice(h * K, (h + 1) * K)).map((z) => z / Math.sqrt(K))),
  );
  const betaOf = (h: number, r: number) => beta[Math.floor(r / n)][(r % n) * H + h];
  let logDecay: Float64Array | undefined;
  if (decay) logDecay = Float64Array.from({ length: T * H }, (_, i) => Math.log(decay[Math.floor(i / H)][i % H]));
  return {
    kind: c.kind,
    method: 'exact',
    unit: 'head',
    count: H,
    T,
    columns,
    columnToken: (s) => Math.floor(s / n),
    matrix: (h) =>
      keySpaceMatrix(
        {
          K,
          write: (r) => keys[h][r].map((z) => betaOf(h, r) * z),
          query: (t) => queries[h][t],
          apply: (r, vec) => {
            // The token's decay acts before its first Householder step (delta-core.ref.ts).
            if (decay && r % n === 0) {
              const a = decay[Math.floor(r / n)][h];
              for (let i = 0; i < K; i++) vec[i] *= a;
            }
            const key = keys[h][r];
            let along = 0;
            for (let i = 0; i < K; i++) along += key[i] * vec[i];
            const scale = betaOf(h, r) * along;
            for (let i = 0; i < K; i++) vec[i] -= scale * key[i];
          },
        },
        T,
        columns,
        (t) => t * n + n - 1,
      ),
    valueWidth: V,
    values: (h) =>
      Float64Array.from({ length: columns * V }, (_, i) => {
        const r = Math.floor(i / V);
        const [t, j] = [Math.floor(r / n), r % n];
        return v[t][(j * H + h) * V + (i % V)];
      }),
    post: (t, outs) =>
      matvec(
        W('o_proj.weight'),
        outs.flatMap((o, h) => {
          const normed = rmsNormVec(Array.from(o), W('o_norm.weight'), c.normEps);
          return gate ? normed.map((z, j) => z * silu(gate[t][h * V + j])) : normed;
        }),
      ),
    logDecay,
    description:
      `per head: K^−½ q̂_t · ∏ ${c.gated ? 'α_r ' : ''}(I − β_r k̂_r k̂_rᵀ) β_s k̂_s over silu(conv(·)) streams` +
      (n > 1 ? ` (${n} Householder steps per token: ${n} columns per token)` : '') +
      '; then per-head RMSNorm' +
      (c.outputGate ? ' ⊙ swish(W_g x)' : '') +
      ', W_o',
  };
}

export const DELTA_BUILDERS = {
  deltanet: (p: RefParams, o: MixerOptions, d: number, x: Float64Array, T: number) =>
    deltaLayer(deltanetConfig(d, o), p, d, x, T),
  gated_deltanet: (p: RefParams, o: MixerOptions, d: number, x: Float64Array, T: number) =>
    deltaLayer(gatedDeltanetConfig(d, o), p, d, x, T),
  deltaproduct: (p: RefParams, o: MixerOptions, d: number, x: Float64Array, T: number) =>
    deltaLayer(deltaproductConfig(d, o), p, d, x, T),
};
