// Causal multi-head softmax attention as a mixer (fla/layers/attn.py; the Llama teacher and Griffin's
// local attention), with rotary position embeddings on q and k (RoFormer; base `rope_theta`),
// grouped/multi-query heads, a sliding window, optional projection biases (GPT-2: q/k/v and output), and
// the Forgetting Transformer's
// data-dependent forget gate (fla/layers/forgetting_attn.py): logits get F_i − F_j with
// F_t = Σ_{s≤t} log σ(w_f·x_s + b_f) per head.
// Its state is the KV cache: the keys and values of the tokens so far (and F per token with the forget
// gate), [B, L, ·]; a step appends one token and attends over the cache with the same flash kernel.
// With a window the cache keeps only the last `window` tokens (attention only uses relative positions
// and F differences, so dropping older ones changes nothing), so local attention decodes in O(window)
// memory and time per token. RoPE scores depend only on relative positions, so positions are counted
// inside the cache: cached keys are stored rotated by their cache index, new tokens continue from the
// cache length, and when a window drops s old tokens the remaining keys are rotated back by s.

import { attention } from '../../../ops/attention/attention.js';
import { full, logsigmoid } from '../../../ops/elementwise.js';
import { rotary } from '../../../ops/rotary.js';
import { linear } from '../../../ops/matmul.js';
import { linearScan } from '../../../ops/scan/linear-scan.js';
import { concat, reshape, slice } from '../../../ops/shape.js';
import type { Engine } from '../../../engine.js';
import { formatShape, type Tensor } from '../../../tensor.js';
import { checkMixerCall } from '../linear-diagonal/common.js';
import {
  registerMixer,
  resolveOptions,
  type Mixer,
  type MixerFactory,
  type MixerOptions,
  type MixerState,
} from '../../mixer.js';
import type { ParamSpec, ParamView } from '../../module.js';

export interface AttentionConfig {
  kind: string;
  dModel: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** 0 = full causal attention. */
  window: number;
  forgetGate: boolean;
  qkvBias: boolean;
  /** A bias on the output projection (GPT-2's c_proj). */
  oBias: boolean;
  /** RoPE frequency base; 0 = no positional encoding. */
  ropeTheta: number;
}

const INIT_STD = 0.02;

export function attentionParamSpecs(c: AttentionConfig): ParamSpec[] {
  const { dModel: d, heads: H, kvHeads: G, headDim: D } = c;
  const projection = (name: string, out: number): ParamSpec[] => [
    { name: `${name}.weight`, shape: [out, d], init: { kind: 'normal', std: INIT_STD } },
    ...(c.qkvBias
      ? [{ name: `${name}.bias`, shape: [out], init: { kind: 'constant' as const, value: 0 }, noDecay: true }]
      : []),
  ];
  return [
    ...projection('q_proj', H * D),
    ...projection('k_proj', G * D),
    ...projection('v_proj', G * D),
    ...(c.forgetGate
      ? [
          { name: 'fgate_proj.weight', shape: [H, d], init: { kind: 'normal' as const, std: INIT_STD } },
          { name: 'fgate_proj.bias', shape: [H], init: { kind: 'constant' as const, value: 0 }, noDecay: true },
        ]
      : []),
    { name: 'o_proj.weight', shape: [d, H * D], init: { kind: 'normal', std: INIT_STD } },
    ...(c.oBias
      ? [{ name: 'o_proj.bias', shape: [d], init: { kind: 'constant' as const, value: 0 }, noDecay: true }]
      : []),
  ];
}

function project(c: AttentionConfig, p: ParamView, name: string, x: Tensor): Tensor {
  return linear(x, p.get(`${name}.weight`), c.qkvBias ? p.get(`${name}.bias`) : undefined);
}

/** Rotates every cached key [B, L, G, D] by `delta` positions (RoPE of the same angle for all tokens). */
function shiftPositions(k: Tensor, delta: number, base: number): Tensor {
  const [B, L, G, D] = k.shape;
  const rows = reshape(k, [B * L, 1, G, D]);
  return reshape(rotary(rows, { offset: full(k.engine, [B * L], delta), base }), [B, L, G, D]);
}

/** x [B, T, d] after a cache of L tokens (state) → y [B, T, d] and the cache of L + T tokens. */
function run(c: AttentionConfig, p: ParamView, x: Tensor, cache: MixerState | undefined) {
  const { heads: H, kvHeads: G, headDim: D } = c;
  const [B, T] = x.shape;
  let q = reshape(project(c, p, 'q_proj', x), [B, T, H, D]);
  let k = reshape(project(c, p, 'k_proj', x), [B, T, G, D]);
  let v = reshape(project(c, p, 'v_proj', x), [B, T, G, D]);
  const cached = cache && cache.k.shape[1] > 0 ? cache : undefined;
  if (c.ropeTheta > 0) {
    const rope = { offset: cached ? full(x.engine, [B], cached.k.shape[1]) : undefined, base: c.ropeTheta };
    q = rotary(q, rope);
    k = rotary(k, rope);
  }
  if (cached) {
    k = concat([cached.k, k], 1);
    v = concat([cached.v, v], 1);
  }
  const next: MixerState = { k, v };
  let cumLogForget: Tensor | undefined;
  if (c.forgetGate) {
    const logF = logsigmoid(linear(x, p.get('fgate_proj.weight'), p.get('fgate_proj.bias')));
    // F_t = F_{t-1} + log f_t: a linear scan with a = 1, continuing from the cache's last F.
    const L = cached ? cached.f.shape[1] : 0;
    const last = cached ? reshape(slice(cached.f, 1, L - 1, L), [B, H]) : undefined;
    const F = linearScan(full(x.engine, [B, T, H], 1), logF, last).h;
    cumLogForget = cached ? concat([cached.f, F], 1) : F;
    next.f = cumLogForget;
  }
  const o = attention(q, k, v, { window: c.window, cumLogForget, layer: p.prefix || c.kind });
  const L = k.shape[1];
  if (c.window > 0 && L > c.window) {
    const dropped = L - c.window;
    for (const name of Object.keys(next)) next[name] = slice(next[name], 1, dropped, L);
    if (c.ropeTheta > 0) next.k = shiftPositions(next.k, -dropped, c.ropeTheta);
  }
  const oBias = c.oBias ? p.get('o_proj.bias') : undefined;
  return { y: linear(reshape(o, [B, T, H * D]), p.get('o_proj.weight'), oBias), state: next };
}

/** The KV cache of L tokens: k, v [B, L, kv_heads, head_dim] (and f [B, L, heads] with the forget gate). */
function checkCache(c: AttentionConfig, p: ParamView, batch: number, cache: MixerState | undefined): void {
  if (!cache) return;
  const L = cache.k?.shape[1] ?? 0;
  const expected: Record<string, number[]> = {
    k: [batch, L, c.kvHeads, c.headDim],
    v: [batch, L, c.kvHeads, c.headDim],
  };
  if (c.forgetGate) expected.f = [batch, L, c.heads];
  for (const [name, shape] of Object.entries(expected)) {
    const t = cache[name];
    if (!t || t.shape.join() !== shape.join()) {
      throw new RangeError(
        `${c.kind} layer "${p.prefix}": state "${name}" must have shape ${formatShape(shape)}, got ${t ? formatShape(t.shape) : 'nothing'}`,
      );
    }
  }
}

export function attentionMixer(c: AttentionConfig): Mixer {
  const { dModel: d, heads: H, kvHeads: G, headDim: D } = c;
  return {
    kind: c.kind,
    params: () => attentionParamSpecs(c),
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall(c.kind, p, x, d, 'parallel', undefined, () => ({}));
      checkCache(c, p, x.shape[0], initialState);
      const { y, state } = run(c, p, x, initialState);
      return returnState ? { y, state } : { y };
    },
    step(p, x, state) {
      checkMixerCall(c.kind, p, x, d, 'step', undefined, () => ({}));
      checkCache(c, p, x.shape[0], state);
      const [B] = x.shape;
      const { y, state: next } = run(c, p, reshape(x, [B, 1, d]), state);
      return { y: reshape(y, [B, d]), state: next };
    },
    initialState(engine: Engine, batch: number) {
      const state: MixerState = { k: engine.empty([batch, 0, G, D]), v: engine.empty([batch, 0, G, D]) };
      if (c.forgetGate) state.f = engine.empty([batch, 0, H]);
      return state;
    },
    // Floats of cache per token (the mixer contract's convention for attention); a window caps the tokens.
    stateSize: () => 2 * G * D + (c.forgetGate ? H : 0),
    flopsPerToken: () => 2 * d * (H * D + 2 * G * D + (c.forgetGate ? H : 0)) + 2 * H * D * d,
  };
}

/** The layer's shape from its options; errors name the layer kind and the option. */
export function attentionConfig(dModel: number, given: MixerOptions): AttentionConfig {
  const o = resolveOptions(ATTENTION, given);
  const heads = o.num_heads as number;
  const kvHeads = (o.num_kv_heads as number) || heads;
  if (heads % kvHeads !== 0) {
    throw new RangeError(`attention: option "num_kv_heads" ${kvHeads} must divide num_heads ${heads}`);
  }
  const headDim = (o.head_dim as number) || dModel / heads;
  if (!Number.isInteger(headDim)) {
    throw new RangeError(`attention: option "num_heads" ${heads} must divide d_model ${dModel} (or set head_dim)`);
  }
  const ropeTheta = o.rope_theta as number;
  if (ropeTheta > 0 && headDim % 2 !== 0) {
    throw new RangeError(
      `attention: option "rope_theta" needs an even head_dim (got ${headDim}); set it to 0 for no RoPE`,
    );
  }
  if (ropeTheta > 0 && ropeTheta <= 1) {
    throw new RangeError(`attention: option "rope_theta" must be 0 (off) or greater than 1 (got ${ropeTheta})`);
  }
  return {
    kind: 'attention',
    dModel,
    heads,
    kvHeads,
    headDim,
    window: o.window as number,
    forgetGate: o.forget_gate as boolean,
    qkvBias: o.qkv_bias as boolean,
    oBias: o.o_bias as boolean,
    ropeTheta,
  };
}

export const ATTENTION: MixerFactory = {
  kind: 'attention',
  title: 'Attention',
  family: 'attention',
  description:
    'Causal softmax attention (flash-style, memory linear in T) with grouped/multi-query heads, an optional sliding window (local attention) and the Forgetting Transformer gate.',
  options: [
    { name: 'num_heads', type: 'int', default: 4, min: 1, max: 128, help: 'Query heads.' },
    {
      name: 'num_kv_heads',
      type: 'int',
      default: 0,
      min: 0,
      max: 128,
      help: 'Key/value heads (grouped-query attention; 1 = multi-query); 0 = num_heads.',
    },
    { name: 'head_dim', type: 'int', default: 0, min: 0, max: 256, help: 'Head dim; 0 = d_model / num_heads.' },
    {
      name: 'window',
      type: 'int',
      default: 0,
      min: 0,
      max: 1 << 20,
      help: 'Sliding window in tokens (Griffin local attention uses 2048); 0 = full causal attention.',
    },
    {
      name: 'forget_gate',
      type: 'bool',
      default: false,
      help: 'Forgetting Transformer: add F_i − F_j with F the cumulative log forget gate per head (FoX).',
    },
    { name: 'qkv_bias', type: 'bool', default: false, help: 'Biases on the q, k, v projections.' },
    { name: 'o_bias', type: 'bool', default: false, help: "A bias on the output projection (GPT-2's c_proj)." },
    {
      name: 'rope_theta',
      type: 'float',
      default: 10000,
      min: 0,
      max: 1e9,
      help: 'Rotary position embedding base (Llama 10000, Llama 3 500000); 0 = no positional encoding (NoPE).',
    },
  ],
  create: (dModel, given) => attentionMixer(attentionConfig(dModel, given)),
};

registerMixer(ATTENTION);
