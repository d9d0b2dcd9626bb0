// The layer shared by DeltaNet, Gated DeltaNet and (Gated) DeltaProduct, after fla's
// fla/layers/{delta_net,gated_deltanet,gated_deltaproduct}.py:
//   q = l2norm(silu(conv(W_q x))),  k = l2norm(silu(conv(W_k x))),  v = silu(conv(W_v x)),
//   β = σ(W_b x)  (2σ with negative eigenvalues: the transition I − βkkᵀ then has eigenvalues in [−1, 1]),
//   g = −exp(A_log) · softplus(W_a x + dt_bias)   (Gated DeltaNet's scalar decay per head),
//   o = delta rule(q, k, v, β, g),  y = W_o RMSNorm(o) (or RMSNormGated(o, W_g x)) per head.
// DeltaProduct takes n_h Householder steps per token: k, v and β come n_h times per token and run as
// n_h pseudo-tokens; the decay acts on the first of them and the query reads after the last, so the
// token's transition is the product of n_h factors (I − β_j k_j k_jᵀ) (fla gated_deltaproduct.py).

import { add, exp, mul, neg, scale, sigmoid, silu, softplus, zeros, full } from '../../../ops/elementwise.js';
import { chunkDeltaRule } from '../../../ops/delta/chunk.js';
import { fusedRecurrentDeltaRule } from '../../../ops/delta/recurrent.js';
import { linear } from '../../../ops/matmul.js';
import { rmsNorm } from '../../../ops/norm.js';
import { concat, reshape, slice } from '../../../ops/shape.js';
import type { Engine } from '../../../engine.js';
import type { Tensor } from '../../../tensor.js';
import { rmsNormGated } from '../../blocks/gated-rms-norm.js';
import { shortConv } from '../../blocks/short-conv.js';
import type { Mixer, MixerState, OptionSpec } from '../../mixer.js';
import type { Init, ParamSpec, ParamView } from '../../module.js';
import { uniform } from '../../../cpu/tensor.js';
import { checkMixerCall, dtBiasInit, zeroState } from '../linear-diagonal/common.js';

export interface DeltaCoreConfig {
  kind: string;
  dModel: number;
  heads: number;
  /** Key (and query) head dim. */
  headK: number;
  /** Value head dim. */
  headV: number;
  /** Householder steps per token (1 = DeltaNet / Gated DeltaNet). */
  householder: number;
  /** Scalar decay per head and token (Gated DeltaNet). */
  gated: boolean;
  /** Swish output gate through a gated RMSNorm (W_g), else a plain RMSNorm. */
  outputGate: boolean;
  /** Short causal convolutions on q, k, v (0 = none). */
  convSize: number;
  negativeEigenvalues: boolean;
  normEps: number;
  chunkSize: number;
}

/** fla's initializer_range for every projection. */
const INIT_STD = 0.02;

function normal(std: number): Init {
  return { kind: 'normal', std };
}

/** Gated DeltaNet's A ~ U(0, 16), stored as A_log = log A (fla gated_deltanet.py). */
const A_LOG_INIT: Init = {
  kind: 'custom',
  values: (shape, seed) => uniform(shape, seed, 0, 16).data.map((a) => Math.log(Math.max(a, 1e-4))),
};

export function deltaParamSpecs(c: DeltaCoreConfig): ParamSpec[] {
  const { dModel: d, heads: H, headK: K, headV: V, householder: n } = c;
  const convBound = 1 / Math.sqrt(Math.max(1, c.convSize));
  const conv = (name: string, channels: number): ParamSpec[] =>
    c.convSize > 0
      ? [
          {
            name: `${name}.weight`,
            shape: [channels, c.convSize],
            init: { kind: 'uniform', low: -convBound, high: convBound },
          },
        ]
      : [];
  return [
    { name: 'q_proj.weight', shape: [H * K, d], init: normal(INIT_STD) },
    { name: 'k_proj.weight', shape: [n * H * K, d], init: normal(INIT_STD) },
    { name: 'v_proj.weight', shape: [n * H * V, d], init: normal(INIT_STD) },
    { name: 'b_proj.weight', shape: [n * H, d], init: normal(INIT_STD) },
    ...(c.gated
      ? [
          { name: 'a_proj.weight', shape: [H, d], init: normal(INIT_STD) },
          { name: 'A_log', shape: [H], init: A_LOG_INIT, noDecay: true },
          { name: 'dt_bias', shape: [H], init: dtBiasInit(0.001, 0.1), noDecay: true },
        ]
      : []),
    ...conv('q_conv1d', H * K),
    ...conv('k_conv1d', n * H * K),
    ...conv('v_conv1d', n * H * V),
    ...(c.outputGate ? [{ name: 'g_proj.weight', shape: [H * V, d], init: normal(INIT_STD) }] : []),
    { name: 'o_norm.weight', shape: [V], init: { kind: 'constant', value: 1 }, noDecay: true },
    { name: 'o_proj.weight', shape: [d, H * V], init: normal(INIT_STD) },
  ];
}

/** x / ‖x‖ over the last axis: RMSNorm without gain is x·√D / √(Σx² + D·eps), so divide by √D. */
function l2Normalize(x: Tensor): Tensor {
  const D = x.shape[x.shape.length - 1];
  const ones = full(x.engine, [D], 1);
  return scale(rmsNorm(x, ones, 1e-6 / D), 1 / Math.sqrt(D));
}

/** silu(short causal conv(x)), carrying the conv's last inputs; the identity path when convSize = 0. */
function convolve(
  c: DeltaCoreConfig,
  p: ParamView,
  name: string,
  x: Tensor,
  state: MixerState | undefined,
  out: MixerState,
) {
  if (c.convSize === 0) return silu(x);
  const r = shortConv(x, p.get(`${name}.weight`), null, state?.[name]);
  out[name] = r.state;
  return silu(r.y);
}

/** Puts `x` [B, T, ...] at sub-step `at` of n pseudo-tokens per token, zeros elsewhere → [B, T·n, ...]. */
function spread(x: Tensor, n: number, at: number): Tensor {
  const [B, T, ...rest] = x.shape;
  const one = reshape(x, [B, T, 1, ...rest]);
  const parts: Tensor[] = [];
  if (at > 0) parts.push(zeros(x.engine, [B, T, at, ...rest]));
  parts.push(one);
  if (at < n - 1) parts.push(zeros(x.engine, [B, T, n - 1 - at, ...rest]));
  return reshape(concat(parts, 2), [B, T * n, ...rest]);
}

/** Runs the layer on x [B, T, d]; `recurrent` picks the token loop (steps) instead of the chunked form. */
function run(c: DeltaCoreConfig, p: ParamView, x: Tensor, state: MixerState | undefined, recurrent: boolean) {
  const { heads: H, headK: K, headV: V, householder: n } = c;
  const [B, T] = x.shape;
  const next: MixerState = {};
  const q = l2Normalize(
    reshape(convolve(c, p, 'q_conv1d', linear(x, p.get('q_proj.weight')), state, next), [B, T, H, K]),
  );
  const k = l2Normalize(
    reshape(convolve(c, p, 'k_conv1d', linear(x, p.get('k_proj.weight')), state, next), [B, T * n, H, K]),
  );
  const v = reshape(convolve(c, p, 'v_conv1d', linear(x, p.get('v_proj.weight')), state, next), [B, T * n, H, V]);
  let beta = reshape(sigmoid(linear(x, p.get('b_proj.weight'))), [B, T * n, H]);
  if (c.negativeEigenvalues) beta = scale(beta, 2);
  let g: Tensor | undefined;
  if (c.gated) {
    const dt = softplus(add(linear(x, p.get('a_proj.weight')), p.get('dt_bias')));
    g = mul(neg(exp(p.get('A_log'))), dt);
    if (n > 1) g = spread(g, n, 0);
  }
  const options = { g, initialState: state?.S, chunkSize: c.chunkSize, scale: 1 / Math.sqrt(K) };
  const qs = n > 1 ? spread(q, n, n - 1) : q;
  const out = recurrent ? fusedRecurrentDeltaRule(qs, k, v, beta, options) : chunkDeltaRule(qs, k, v, beta, options);
  next.S = out.finalState;
  let o = out.o;
  if (n > 1) o = reshape(slice(reshape(o, [B, T, n, H * V]), 2, n - 1, n), [B, T, H, V]);
  o = c.outputGate
    ? rmsNormGated(o, reshape(linear(x, p.get('g_proj.weight')), [B, T, H, V]), p.get('o_norm.weight'), c.normEps)
    : rmsNorm(o, p.get('o_norm.weight'), c.normEps);
  return { y: linear(reshape(o, [B, T, H * V]), p.get('o_proj.weight')), state: next };
}

export function deltaMixer(c: DeltaCoreConfig): Mixer {
  if (c.convSize === 1) {
    throw new RangeError(`${c.kind}: option "conv_size" 1 carries no history; use 0 (no convolution) or at least 2`);
  }
  const { dModel: d, heads: H, headK: K, headV: V, householder: n } = c;
  const convChannels = H * K + n * H * K + n * H * V;
  const stateShapes = (batch: number): Record<string, number[]> => ({
    S: [batch, H, K, V],
    ...(c.convSize > 0
      ? {
          q_conv1d: [batch, c.convSize - 1, H * K],
          k_conv1d: [batch, c.convSize - 1, n * H * K],
          v_conv1d: [batch, c.convSize - 1, n * H * V],
        }
      : {}),
  });
  return {
    kind: c.kind,
    params: () => deltaParamSpecs(c),
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall(c.kind, p, x, d, 'parallel', initialState, stateShapes);
      const { y, state } = run(c, p, x, initialState, false);
      return returnState ? { y, state } : { y };
    },
    step(p, x, state) {
      checkMixerCall(c.kind, p, x, d, 'step', state, stateShapes);
      const [B] = x.shape;
      // The token loop has no backward: a step taken with gradients on goes through the chunked form.
      const recurrent = !x.engine.isGradEnabled;
      const { y, state: next } = run(c, p, reshape(x, [B, 1, d]), state, recurrent);
      return { y: reshape(y, [B, d]), state: next };
    },
    initialState: (engine: Engine, batch: number) => zeroState(engine, stateShapes(batch)),
    stateSize: () => H * K * V + Math.max(0, c.convSize - 1) * convChannels,
    flopsPerToken: () => {
      const projections = H * K + n * H * K + n * H * V + n * H + (c.gated ? H : 0) + (c.outputGate ? H * V : 0);
      // Per pseudo-token the delta rule reads Sᵀk, updates S and (once per token) reads Sᵀq.
      return 2 * d * projections + 2 * H * V * d + n * H * 4 * K * V + 2 * H * K * V + 2 * c.convSize * convChannels;
    },
  };
}

/**
 * Key and value head dims from the layer's widths; `origin` says how each width came from the options,
 * so that errors name the layer kind and the option.
 */
export function headDims(kind: string, heads: number, key: [number, string], value: [number, string]) {
  for (const [what, [width, origin]] of [
    ['key width', key],
    ['value width', value],
  ] as const) {
    if (!Number.isInteger(width) || width < 1) {
      throw new RangeError(`${kind}: ${what} ${width} (${origin}) must be a positive integer`);
    }
    if (width % heads !== 0) {
      throw new RangeError(`${kind}: option "num_heads" ${heads} must divide the ${what} ${width} (${origin})`);
    }
  }
  return { headK: key[0] / heads, headV: value[0] / heads };
}

/** Options every delta-rule layer shares (fla names in the help texts). */
export const SHARED_OPTIONS: Record<'heads' | 'convSize' | 'normEps' | 'chunkSize', OptionSpec> = {
  heads: { name: 'num_heads', type: 'int', default: 4, min: 1, max: 64, help: 'Heads (fla num_heads).' },
  convSize: {
    name: 'conv_size',
    type: 'int',
    default: 4,
    min: 0,
    max: 16,
    help: 'Short causal convolution on q, k, v (fla use_short_conv/conv_size); 0 turns it off (fla warns against it).',
  },
  normEps: { name: 'norm_eps', type: 'float', default: 1e-5, min: 0, max: 1, help: 'Epsilon of the output RMSNorm.' },
  chunkSize: {
    name: 'chunk_size',
    type: 'enum',
    default: '32',
    choices: ['16', '32'],
    help: 'Tokens per chunk of the WY/UT chunked form (numerics and speed only; the result is the same).',
  },
};

export function negativeEigenvaluesOption(byDefault: boolean): OptionSpec {
  return {
    name: 'negative_eigenvalues',
    type: 'bool',
    default: byDefault,
    help: 'β = 2σ(·) ∈ (0, 2): the transition I − βkkᵀ gets eigenvalues in (−1, 1], which lets the layer track parity and other state (fla allow_neg_eigval).',
  };
}
