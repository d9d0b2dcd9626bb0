// RWKV-7 "Goose" time mixing (Peng et al.; fla/layers/rwkv7.py, BlinkDL's rwkv_v7_numpy.py):
//   δ = shift(x) − x;  x_* = x + δ ⊙ μ_*  for * ∈ {r, w, k, v, a, g}           (token shift)
//   r = W_r x_r,  k = W_k x_k,  v = W_v x_v
//   log w = −e^{−½} σ(LoRA_w(x_w)) ∈ [−0.607, 0)                              (decay per key channel)
//   α = σ(LoRA_a(x_a)),  g = LoRA_g(x_g) (sigmoid inside)                      (in-context rate, gate)
//   κ̂ = normalize(k ⊙ k_k),  k ← k ⊙ (1 + (α − 1) ⊙ k_a)
//   S_t = diag(w) S + (κ̂ ⊙ α)(−κ̂ᵀ S) + k vᵀ,  o = Sᵀ r                        (generalized delta rule)
//   o ← GroupNorm_heads(o) + (Σ_head r ⊙ k ⊙ r_k) v;   y = W_o (o ⊙ g).
// The recurrence runs chunked (dplr-chunk.ts) or token by token (dplr.ts): option "implementation",
// 'auto' = chunked from DPLR_CHUNK_MIN_T tokens on; steps are always the token loop.
// Value residual (option value_residual, fla's v_first): the first value-residual layer of a model
// evaluation publishes its v on the call's MixerContext; every later one mixes it in per token,
//   v ← v + (v_first − v) ⊙ σ(LoRA_v(x_v))                                    (fla: lerp(v, v_first, ·)).
// Every value-residual layer owns v_lora, the first one leaves it unused (zero gradient): the copies of a
// Repeat block share one parameter list, and which layer is first is only known in evaluation order.

import { add, full, mul, scale, sigmoid, sub, tanh, zeros } from '../../../ops/elementwise.js';
import { dplrDeltaRule } from '../../../ops/delta/dplr.js';
import {
  DEFAULT_DPLR_CHUNK,
  DPLR_CHUNK_SIZES,
  DPLR_IMPLEMENTATIONS,
  chooseDplrImplementation,
  chunkDplrDeltaRule,
  type DplrImplementation,
} from '../../../ops/delta/dplr-chunk.js';
import { linear } from '../../../ops/matmul.js';
import { layerNorm, rmsNorm } from '../../../ops/norm.js';
import { sum } from '../../../ops/reduce.js';
import { reshape } from '../../../ops/shape.js';
import type { Engine } from '../../../engine.js';
import type { Tensor } from '../../../tensor.js';
import { tokenShift } from '../../blocks/token-shift.js';
import { checkMixerCall, zeroState } from '../linear-diagonal/common.js';
import {
  registerMixer,
  resolveOptions,
  type Mixer,
  type MixerContext,
  type MixerFactory,
  type MixerOptions,
  type MixerState,
} from '../../mixer.js';
import type { Init, ParamSpec, ParamView } from '../../module.js';

export interface Rwkv7Config {
  dModel: number;
  heads: number;
  headDim: number;
  decayRank: number;
  gateRank: number;
  aRank: number;
  normEps: number;
  /** This layer's index and the model's depth (only the initialization depends on them). */
  layer: number;
  layers: number;
  /** How whole sequences run the recurrence (absent = 'auto'); the result is the same up to rounding. */
  implementation?: DplrImplementation;
  /** Tokens per chunk of the chunked form (absent = DEFAULT_DPLR_CHUNK). */
  chunkSize?: number;
  /** Whether this layer takes part in the value residual (absent = no), and the rank of its LoRA. */
  valueResidual?: boolean;
  valueRank?: number;
}

/** The key under which the first value-residual layer publishes its values v [B, T, d] on the context. */
export const V_FIRST = 'rwkv7.v_first';
export const VALUE_RESIDUAL = ['off', 'on'];

export const MIXES = ['x_r', 'x_w', 'x_k', 'x_v', 'x_a', 'x_g'] as const;
/** −e^{−½}: the largest decay rate per token, log w ≥ −0.6065 (fla passes it as the lower bound). */
export const LOG_DECAY_FLOOR = -Math.exp(-0.5);

const custom = (f: (i: number, n: number) => number): Init => ({
  kind: 'custom',
  values: (shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return Float64Array.from({ length: n }, (_, i) => f(i, n));
  },
});

/** fla's _initialize_weights where it is a closed formula (the "zigzag" per-head ramps are left out). */
export function rwkv7ParamSpecs(c: Rwkv7Config): ParamSpec[] {
  const d = c.dModel;
  const depth = c.layers > 1 ? c.layer / (c.layers - 1) : 0;
  const shallow = 1 - c.layer / c.layers; // 1 at the first layer → 0 at the last
  const mixPower: Record<(typeof MIXES)[number], number> = {
    x_r: 0.2,
    x_w: 0.9,
    x_k: 0.7,
    x_v: 0.7,
    x_a: 0.9,
    x_g: 0.2,
  };
  const std = 0.02;
  const lora = (name: string, rank: number, bias: Init | null): ParamSpec[] => [
    { name: `${name}.lora.0.weight`, shape: [rank, d], init: { kind: 'normal', std } },
    { name: `${name}.lora.2.weight`, shape: [d, rank], init: { kind: 'normal', std } },
    ...(bias ? [{ name: `${name}.lora.2.bias`, shape: [d], init: bias, noDecay: true }] : []),
  ];
  return [
    ...MIXES.map((name) => ({
      name,
      shape: [d],
      init: custom((i) => 1 - (i / d) ** (mixPower[name] * shallow)),
      noDecay: true,
    })),
    { name: 'k_k', shape: [d], init: custom((i, n) => 0.71 - (0.1 * i) / Math.max(1, n - 1)), noDecay: true },
    { name: 'k_a', shape: [d], init: { kind: 'constant', value: 1.02 }, noDecay: true },
    { name: 'r_k', shape: [c.heads, c.headDim], init: { kind: 'constant', value: -0.04 }, noDecay: true },
    { name: 'r_proj.weight', shape: [d, d], init: { kind: 'normal', std } },
    { name: 'k_proj.weight', shape: [d, d], init: { kind: 'normal', std: 0.1 * std } },
    { name: 'v_proj.weight', shape: [d, d], init: { kind: 'normal', std } },
    ...lora(
      'w_lora',
      c.decayRank,
      custom((i, n) => -6 + 6 * (i / Math.max(1, n - 1)) ** (1 + depth ** 0.3) + 0.5),
    ),
    ...lora(
      'a_lora',
      c.aRank,
      custom((i, n) => -0.19 + (0.4 * i) / Math.max(1, n - 1)),
    ),
    ...lora('g_lora', c.gateRank, null),
    ...(c.valueResidual
      ? lora(
          'v_lora',
          c.valueRank ?? 32,
          custom((i, n) => 0.73 - (0.4 * i) / Math.max(1, n - 1)),
        )
      : []),
    {
      name: 'g_norm.weight',
      shape: [d],
      init: { kind: 'constant', value: ((c.layer + 1) / c.layers) ** 0.7 },
      noDecay: true,
    },
    { name: 'g_norm.bias', shape: [d], init: { kind: 'constant', value: 0 }, noDecay: true },
    { name: 'o_proj.weight', shape: [d, d], init: { kind: 'constant', value: 0 } },
  ];
}

/** Linear → activation → Linear (fla's LoRA module; `inner` is applied between the two). */
function lora(p: ParamView, name: string, x: Tensor, inner: (t: Tensor) => Tensor, bias: boolean): Tensor {
  const low = inner(linear(x, p.get(`${name}.lora.0.weight`)));
  return linear(low, p.get(`${name}.lora.2.weight`), bias ? p.get(`${name}.lora.2.bias`) : undefined);
}

/** x / ‖x‖ over the last axis (as in delta-core.ts: RMSNorm without gain, divided by √D). */
function l2Normalize(x: Tensor): Tensor {
  const D = x.shape[x.shape.length - 1];
  return scale(rmsNorm(x, full(x.engine, [D], 1), 1e-12 / D), 1 / Math.sqrt(D));
}

/**
 * The value residual: the first value-residual layer of the evaluation publishes v, later ones mix it in.
 * Without a context (a layer run on its own) the layer is the first.
 */
function valueResidual(c: Rwkv7Config, p: ParamView, v: Tensor, xv: Tensor, context?: MixerContext): Tensor {
  if (!c.valueResidual || !context) return v;
  const first = context.shared.get(V_FIRST);
  if (!first) {
    context.shared.set(V_FIRST, v);
    return v;
  }
  if (first.shape.join() !== v.shape.join()) {
    throw new RangeError(
      `rwkv7: option "value_residual" is 'on' but the first value-residual RWKV-7 layer's values have shape ` +
        `[${first.shape}] and this layer's [${v.shape}]; every value-residual layer of a model needs the same d_model`,
    );
  }
  const mix = sigmoid(lora(p, 'v_lora', xv, (t) => t, true));
  return add(v, mul(sub(first, v), mix));
}

/** x [B, T, d]; `stepping` keeps one-token steps on the token loop whatever the implementation option. */
function run(
  c: Rwkv7Config,
  p: ParamView,
  x: Tensor,
  state: MixerState | undefined,
  context: MixerContext | undefined,
  stepping = false,
) {
  const { heads: H, headDim: N } = c;
  const [B, T, d] = x.shape;
  const shifted = tokenShift(x, state?.shift);
  const delta = sub(shifted.y, x);
  const mixed = Object.fromEntries(MIXES.map((m) => [m, add(x, mul(delta, p.get(m)))])) as Record<
    (typeof MIXES)[number],
    Tensor
  >;
  const heads = (t: Tensor) => reshape(t, [B, T, H, N]);
  const r = linear(mixed.x_r, p.get('r_proj.weight'));
  const logw = scale(sigmoid(lora(p, 'w_lora', mixed.x_w, tanh, true)), LOG_DECAY_FLOOR);
  let k = linear(mixed.x_k, p.get('k_proj.weight'));
  const v = valueResidual(c, p, linear(mixed.x_v, p.get('v_proj.weight')), mixed.x_v, context);
  const alpha = sigmoid(lora(p, 'a_lora', mixed.x_a, (t) => t, true));
  const g = lora(p, 'g_lora', mixed.x_g, sigmoid, false);
  const kappa = l2Normalize(heads(mul(k, p.get('k_k'))));
  k = mul(k, add(full(x.engine, [1], 1), mul(sub(alpha, full(x.engine, [1], 1)), p.get('k_a'))));
  const inputs = {
    q: heads(r),
    k: heads(k),
    v: heads(v),
    logw: heads(logw),
    a: scale(kappa, -1),
    b: mul(kappa, heads(alpha)),
  };
  const out =
    !stepping && chooseDplrImplementation(T, c.implementation) === 'chunk'
      ? chunkDplrDeltaRule(inputs, { initialState: state?.S, chunkSize: c.chunkSize })
      : dplrDeltaRule(inputs, { initialState: state?.S });
  // GroupNorm with one group per head: normalize each head, then the per-channel affine map.
  const normed = layerNorm(out.o, full(x.engine, [N], 1), zeros(x.engine, [N]), N * c.normEps);
  const affine = add(mul(normed, reshape(p.get('g_norm.weight'), [H, N])), reshape(p.get('g_norm.bias'), [H, N]));
  const bonus = mul(sum(mul(mul(heads(r), heads(k)), p.get('r_k')), 3, true), heads(v));
  const y = linear(mul(reshape(add(affine, bonus), [B, T, d]), g), p.get('o_proj.weight'));
  return { y, state: { S: out.finalState, shift: shifted.state } };
}

export function rwkv7Mixer(c: Rwkv7Config): Mixer {
  const d = c.dModel;
  const stateShapes = (batch: number): Record<string, number[]> => ({
    S: [batch, c.heads, c.headDim, c.headDim],
    shift: [batch, d],
  });
  return {
    kind: 'rwkv7',
    params: () => rwkv7ParamSpecs(c),
    forward(p, x, { initialState, returnState, context } = {}) {
      checkMixerCall('rwkv7', p, x, d, 'parallel', initialState, stateShapes);
      const { y, state } = run(c, p, x, initialState, context);
      return returnState ? { y, state } : { y };
    },
    step(p, x, state, context) {
      checkMixerCall('rwkv7', p, x, d, 'step', state, stateShapes);
      const [B] = x.shape;
      const { y, state: next } = run(c, p, reshape(x, [B, 1, d]), state, context, true);
      return { y: reshape(y, [B, d]), state: next };
    },
    initialState: (engine: Engine, batch: number) => zeroState(engine, stateShapes(batch)),
    stateSize: () => c.heads * c.headDim * c.headDim + d,
    flopsPerToken: () =>
      2 * d * d * 4 +
      4 * d * (c.decayRank + c.aRank + c.gateRank + (c.valueResidual ? (c.valueRank ?? 32) : 0)) +
      6 * c.heads * c.headDim * c.headDim +
      30 * d,
  };
}

export function rwkv7Config(dModel: number, given: MixerOptions): Rwkv7Config {
  const o = resolveOptions(RWKV7, given);
  // RWKV-7's head size is 64; narrower models get one head of the full width.
  const headDim = (o.head_dim as number) || Math.min(64, dModel);
  if (dModel % headDim !== 0) {
    throw new RangeError(`rwkv7: option "head_dim" ${headDim} must divide d_model ${dModel}`);
  }
  const layer = o.layer_idx as number;
  const layers = o.num_layers as number;
  if (layer >= layers) throw new RangeError(`rwkv7: option "layer_idx" ${layer} must be below num_layers ${layers}`);
  return {
    dModel,
    heads: dModel / headDim,
    headDim,
    decayRank: o.decay_low_rank_dim as number,
    gateRank: o.gate_low_rank_dim as number,
    aRank: o.a_low_rank_dim as number,
    normEps: o.norm_eps as number,
    layer,
    layers,
    implementation: o.implementation as DplrImplementation,
    chunkSize: Number(o.chunk_size),
    valueResidual: o.value_residual === 'on',
    valueRank: o.v_low_rank_dim as number,
  };
}

export const RWKV7: MixerFactory = {
  kind: 'rwkv7',
  title: 'RWKV-7',
  family: 'delta-rule',
  description:
    'RWKV-7 "Goose": token shift, per-channel decay and a generalized delta rule with an in-context learning rate (fla RWKV7), optionally with the value residual across layers.',
  options: [
    {
      name: 'head_dim',
      type: 'int',
      default: 0,
      min: 0,
      max: 256,
      help: 'Head size N; 0 = 64 (RWKV-7), or d_model when that is smaller.',
    },
    { name: 'decay_low_rank_dim', type: 'int', default: 64, min: 1, max: 1024, help: 'Rank of the decay LoRA.' },
    { name: 'gate_low_rank_dim', type: 'int', default: 128, min: 1, max: 1024, help: 'Rank of the output-gate LoRA.' },
    { name: 'a_low_rank_dim', type: 'int', default: 64, min: 1, max: 1024, help: 'Rank of the in-context-rate LoRA.' },
    { name: 'norm_eps', type: 'float', default: 1e-5, min: 0, max: 1, help: 'GroupNorm epsilon per head_dim.' },
    { name: 'layer_idx', type: 'int', default: 0, min: 0, max: 1024, help: 'Layer index (initialization only).' },
    { name: 'num_layers', type: 'int', default: 1, min: 1, max: 1024, help: 'Model depth (initialization only).' },
    {
      name: 'implementation',
      type: 'enum',
      default: 'auto',
      choices: DPLR_IMPLEMENTATIONS,
      help: 'How whole sequences run the generalized delta rule: chunk (WY-style chunked form, parallel over chunks), recurrent (token by token), or auto (chunked for longer sequences). Speed and memory only; steps always run token by token.',
    },
    {
      name: 'chunk_size',
      type: 'enum',
      default: String(DEFAULT_DPLR_CHUNK),
      choices: DPLR_CHUNK_SIZES.map(String),
      help: 'Tokens per chunk of the chunked form (speed and memory only; the result is the same).',
    },
    {
      name: 'value_residual',
      type: 'enum',
      default: 'off',
      choices: VALUE_RESIDUAL,
      help: "RWKV-7's value residual (fla's v_first): the first RWKV-7 layer with this option on (in evaluation order) passes its values v to every later one, which mixes them in per token: v += (v_first − v) ⊙ σ(v_lora(x_v)). A layer with nothing before it (the first, or the only one) acts as the first and leaves its v_lora unused. Every value-residual layer of a model must have the same d_model. off = every layer stands alone (checkpoints made before this option).",
    },
    {
      name: 'v_low_rank_dim',
      type: 'int',
      default: 32,
      min: 1,
      max: 1024,
      help: 'Rank of the value-residual LoRA (used when value_residual is on).',
    },
  ],
  create: (dModel, given) => rwkv7Mixer(rwkv7Config(dModel, given)),
};

registerMixer(RWKV7);
