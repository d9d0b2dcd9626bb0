// Implicit attention of RWKV-7 (a generalized delta rule with a per-channel decay): the state update
// S_t = (Diag(e^{w_t}) − (κ̂_t ⊙ a_t) κ̂_tᵀ) S_{t−1} + k_t v_tᵀ carries a write forward by those
// transitions in key space, and the read is o_t = S_tᵀ r_t, so per head
//     A_h[t, s] = r_t · G_t ⋯ G_{s+1} k_s,   G_j = Diag(e^{w_j}) − (κ̂_j ⊙ a_j) κ̂_jᵀ.
// The gates (token shift, LoRA decay/in-context rate, normalized removal key κ̂, modified key k) are
// computed as rwkv7.ref.ts. The output path is the per-head GroupNorm, the bonus (r·(ρ ⊙ k)) v_t on the
// current token (after the norm, so it stays in the output path), ⊙ g and W_o.
// Value residual (option value_residual 'on'): the values become ṽ_s = v_s + (v_first,s − v_s) ⊙ σ(v_lora),
// with v_first,s the first value-residual layer's values at the same token s. The transitions and reads do
// not involve v, so A_h (and the decays) are unchanged and exact; the values need v_first. The analyses
// build a model's layers in evaluation order with an ImplicitContext (the float64 twin of the compiler's
// MixerContext): the first value-residual layer publishes its own v there (computed from its captured
// input by the same formula as the v the GPU published), every later one reads it, and each layer is then
// exact with values and output path (the reconstruction holds). Called alone, `rwkv7Implicit` takes
// `vFirst` [T, d] directly; without either a value-residual layer returns the matrices only (no
// reconstruction) and the description says why.

import type { MixerOptions } from '../../nn/mixer.js';
import { LOG_DECAY_FLOOR, MIXES, V_FIRST, rwkv7Config } from '../../nn/mixers/delta-rule/rwkv7.js';
import { matvec, param, sigmoid, type RefParams } from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { columnsOf, keySpaceMatrix, rowOf, stack, type ImplicitContext, type ImplicitLayer } from './core.js';

/** `vFirst` [T, d]: the first value-residual layer's values (used when value_residual is 'on'). */
export function rwkv7Implicit(
  p: RefParams,
  given: MixerOptions,
  d: number,
  x: Float64Array,
  T: number,
  vFirst?: Float64Array,
): ImplicitLayer {
  return buildRwkv7(p, given, d, x, T, vFirst ? { vFirst } : 'unknown').layer;
}

/**
 * The builder the analyses call, with the model's context: a value-residual layer with nothing published
 * before it is the first (its own v is v_first, which it publishes); a later one mixes the published v in.
 * Without a context the layer stands alone, as `rwkv7Implicit` without `vFirst`.
 */
export function rwkv7ImplicitInContext(
  p: RefParams,
  given: MixerOptions,
  d: number,
  x: Float64Array,
  T: number,
  context?: ImplicitContext,
): ImplicitLayer {
  if (!context || !rwkv7Config(d, given).valueResidual) return rwkv7Implicit(p, given, d, x, T);
  const vFirst = context.shared.get(V_FIRST);
  if (vFirst) return rwkv7Implicit(p, given, d, x, T, vFirst);
  const { layer, values } = buildRwkv7(p, given, d, x, T, 'first');
  context.shared.set(V_FIRST, values);
  return layer;
}

/** Whether building this layer publishes v_first for later layers (the first value-residual layer). */
export function rwkv7Publishes(given: MixerOptions, d: number, context: ImplicitContext): boolean {
  return rwkv7Config(d, given).valueResidual === true && !context.shared.has(V_FIRST);
}

/**
 * `role`: the first value-residual layer's values ({ vFirst }) for a later layer; 'first' when this layer is
 * the first value-residual layer (v_first is its own v); 'unknown' when nothing says which (a value-residual
 * layer then has no known values). Returns the values the layer uses, [T, d].
 */
function buildRwkv7(
  p: RefParams,
  given: MixerOptions,
  d: number,
  x: Float64Array,
  T: number,
  role: { vFirst: Float64Array } | 'first' | 'unknown',
): { layer: ImplicitLayer; values: Float64Array } {
  const c = rwkv7Config(d, given);
  const vFirst = typeof role === 'object' ? role.vFirst : undefined;
  if (vFirst && vFirst.length !== T * d)
    throw new RangeError(`implicit attention: rwkv7 vFirst has ${vFirst.length} values, expected [${T}, ${d}]`);
  const { heads: H, headDim: N } = c;
  const P = (name: string) => param(p, name);
  const lora = (name: string, v: number[], inner: (z: number) => number, bias: boolean) =>
    matvec(
      P(`${name}.lora.2.weight`),
      matvec(P(`${name}.lora.0.weight`), v).map(inner),
      bias ? P(`${name}.lora.2.bias`) : undefined,
    );
  const r: number[][] = [];
  const k: number[][] = [];
  const v: number[][] = [];
  const g: number[][] = [];
  const logw: number[][] = [];
  const alpha: number[][] = [];
  const kappa: number[][] = []; // per token, H heads of N, each L2-normalized
  let previous = new Array<number>(d).fill(0);
  for (let t = 0; t < T; t++) {
    const xt = rowOf(x, t, d);
    const mixed = Object.fromEntries(
      MIXES.map((m) => [m, xt.map((z, i) => z + (previous[i] - z) * P(m).data[i])]),
    ) as Record<(typeof MIXES)[number], number[]>;
    previous = xt;
    r.push(matvec(P('r_proj.weight'), mixed.x_r));
    logw.push(lora('w_lora', mixed.x_w, Math.tanh, true).map((z) => LOG_DECAY_FLOOR * sigmoid(z)));
    const k0 = matvec(P('k_proj.weight'), mixed.x_k);
    const own = matvec(P('v_proj.weight'), mixed.x_v);
    if (c.valueResidual && vFirst) {
      const mix = lora('v_lora', mixed.x_v, (z) => z, true).map(sigmoid);
      v.push(own.map((z, i) => z + (vFirst[t * d + i] - z) * mix[i]));
    } else v.push(own);
    const a = lora('a_lora', mixed.x_a, (z) => z, true).map(sigmoid);
    alpha.push(a);
    g.push(lora('g_lora', mixed.x_g, sigmoid, false));
    k.push(k0.map((z, i) => z * (1 + (a[i] - 1) * P('k_a').data[i])));
    kappa.push(
      Array.from({ length: H }, (_, h) => {
        const scaled = k0.slice(h * N, (h + 1) * N).map((z, i) => z * P('k_k').data[h * N + i]);
        const norm = Math.sqrt(scaled.reduce((s, z) => s + z * z, 0) + 1e-12);
        return scaled.map((z) => z / norm);
      }).flat(),
    );
  }
  const logDecay = new Float64Array(T * H);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) logDecay[t * H + h] = logw[t].slice(h * N, (h + 1) * N).reduce((s, z) => s + z, 0) / N;
  const slice = (a: number[], h: number) => a.slice(h * N, (h + 1) * N);
  // Without v_first a value-residual layer's values are unknown here: matrices only.
  const valuesKnown = !c.valueResidual || role !== 'unknown';
  const values = stack(v);
  const layer: ImplicitLayer = {
    kind: 'rwkv7',
    method: 'exact',
    unit: 'head',
    count: H,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix: (h) =>
      keySpaceMatrix(
        {
          K: N,
          write: (s) => slice(k[s], h),
          query: (t) => slice(r[t], h),
          apply: (j, vec) => {
            const kj = slice(kappa[j], h);
            const aj = slice(alpha[j], h);
            const wj = slice(logw[j], h);
            let along = 0;
            for (let i = 0; i < N; i++) along += kj[i] * vec[i];
            for (let i = 0; i < N; i++) vec[i] = Math.exp(wj[i]) * vec[i] - kj[i] * aj[i] * along;
          },
        },
        T,
        T,
        (t) => t,
      ),
    valueWidth: valuesKnown ? N : undefined,
    values: valuesKnown ? (h) => columnsOf(values, T, H * N, h * N, N) : undefined,
    post: !valuesKnown
      ? undefined
      : (t, outs) => {
          const out: number[] = [];
          outs.forEach((o, h) => {
            const mean = o.reduce((s, z) => s + z, 0) / N;
            const variance = o.reduce((s, z) => s + (z - mean) ** 2, 0) / N;
            const rh = slice(r[t], h);
            const kh = slice(k[t], h);
            const bonus = rh.reduce((s, z, i) => s + z * kh[i] * P('r_k').data[h * N + i], 0);
            for (let j = 0; j < N; j++) {
              const channel = h * N + j;
              const normed =
                ((o[j] - mean) / Math.sqrt(variance + N * c.normEps)) * P('g_norm.weight').data[channel] +
                P('g_norm.bias').data[channel];
              out.push((normed + bonus * v[t][channel]) * g[t][channel]);
            }
          });
          return matvec(P('o_proj.weight'), out);
        },
    logDecay,
    description:
      'per head: r_t · ∏ (Diag(e^w) − (κ̂ ⊙ a) κ̂ᵀ) k_s (generalized delta rule, token-shifted gates); ' +
      'then GroupNorm per head, + (r·(ρ ⊙ k_t)) v_t, ⊙ g, W_o' +
      (!c.valueResidual
        ? ''
        : role === 'first'
          ? '; value residual: the first value-residual layer, whose v (v_first) every later one mixes in'
          : valuesKnown
            ? "; value residual: v_s mixes in the first RWKV-7 layer's v at the same token"
            : "; value residual: v_s mixes in the first RWKV-7 layer's v at the same token, which this analysis " +
              'is not given, so the matrices are exact but the output is not reconstructed'),
  };
  return { layer, values };
}

export const RWKV7_BUILDERS = { rwkv7: rwkv7ImplicitInContext };
export const RWKV7_PUBLISHERS = { rwkv7: rwkv7Publishes };
