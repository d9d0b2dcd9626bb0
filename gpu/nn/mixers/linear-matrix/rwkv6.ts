// RWKV-6 "Finch" time mixing (Peng et al., "Eagle and Finch"; fla/layers/rwkv6.py): data-dependent
// token shift ("ddlerp"), a data-dependent decay per key channel w = exp(−exp(·)) from a LoRA, and a
// bonus u for the current token:
//   o_t = r_tᵀ (S_{t−1} + Diag(u) k_t v_tᵀ),   S_t = Diag(w_t) S_{t−1} + k_t v_tᵀ,
//   y = W_o (GroupNorm_heads(o) ⊙ swish(g)).
// The read-out sees S_{t−1}, the state *before* token t. That is the GLA kernel run one position late:
// on the sequence [pad, token 0, …, token T−1] with queries [r_0, …, r_{T−1}, 0] and an empty pad
// (k = v = 0, no decay), position p reads r_pᵀ S_{p−1}. The bonus is added outside the kernel.

import { add, exp, mul, neg, silu, sub, tanh, zeros } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { sum } from '../../../ops/reduce.js';
import { concat, slice } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { tokenShift } from '../../blocks/token-shift.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { ParamView } from '../../module.js';
import { headDims } from '../delta-rule/delta-core.js';
import {
  CHUNK_OPTION,
  NORM_EPS_OPTION,
  ONES,
  ZEROS,
  expandOption,
  fromHeads,
  gla,
  headGroupNorm,
  headsOption,
  matrixMixer,
  orthogonalInit,
  toHeads,
  xavierUniform,
} from './common.js';

export interface Rwkv6Config {
  dModel: number;
  heads: number;
  headK: number;
  headV: number;
  /** Rank of the shared token-shift LoRA (fla proj_low_rank_dim). */
  projRank: number;
  /** Rank of the decay LoRA (fla gate_low_rank_dim). */
  gateRank: number;
  normEps: number;
  chunkSize: number;
}

/** The order of the five data-dependent interpolations. */
export const RWKV6_MIXES = ['r', 'w', 'k', 'v', 'g'] as const;

/** fla's RWKV-6 Linear init: Xavier uniform with gain 2^−2.5. */
const GAIN = Math.pow(2, -2.5);

/**
 * o_t = scale · r_tᵀ (S_{t−1} + Diag(u) k_t v_tᵀ) with S_t = Diag(exp w_t) S_{t−1} + k_t v_tᵀ, for r, k,
 * w: [B,T,H,K], v: [B,T,H,V], u: [H,K]. Differentiable, including through h0 and the final state.
 */
export function rwkv6Recurrence(
  x: { r: Tensor; k: Tensor; v: Tensor; logw: Tensor; u: Tensor },
  options: { initialState?: Tensor; scale?: number; chunkSize?: number },
  recurrent: boolean,
) {
  const [B, T, H, K] = x.r.shape;
  const V = x.v.shape[3];
  const e = x.r.engine;
  const padK = zeros(e, [B, 1, H, K]);
  const padV = zeros(e, [B, 1, H, V]);
  const scale = options.scale ?? 1;
  const late = gla(
    concat([x.r, padK], 1),
    concat([padK, x.k], 1),
    concat([padV, x.v], 1),
    { g: concat([padK, x.logw], 1), initialState: options.initialState, scale, chunkSize: options.chunkSize },
    recurrent,
  );
  const bonus = mul(sum(mul(mul(x.r, x.u), x.k), 3, true), x.v);
  const o = add(slice(late.o, 1, 0, T), scale === 1 ? bonus : mul(bonus, e.fromArray([scale], [1])));
  return { o, finalState: late.finalState };
}

export function rwkv6Mixer(c: Rwkv6Config) {
  const { dModel: d, heads: H, headK: K, headV: V, projRank: r, gateRank: gr } = c;
  const ddlerp = (p: ParamView, x: Tensor, delta: Tensor) => {
    const low = tanh(linear(add(x, mul(delta, p.get('x_proj.0.mu'))), p.get('x_proj.0.linear.weight')));
    const mixed: Record<string, Tensor> = {};
    RWKV6_MIXES.forEach((name, n) => {
      const mu = linear(slice(low, 2, n * r, (n + 1) * r), slice(p.get('x_proj.2.weight'), 1, n * r, (n + 1) * r));
      mixed[name] = add(x, mul(delta, add(mu, slice(p.get('x_bias'), 0, n, n + 1))));
    });
    return mixed;
  };
  return matrixMixer({
    kind: 'rwkv6',
    dModel: d,
    params: () => [
      { name: 'x_proj.0.mu', shape: [d], init: ZEROS, noDecay: true },
      { name: 'x_proj.0.linear.weight', shape: [5 * r, d], init: xavierUniform(5 * r, d, GAIN) },
      { name: 'x_proj.2.weight', shape: [d, 5 * r], init: xavierUniform(d, 5 * r, GAIN) },
      { name: 'x_bias', shape: [5, d], init: ZEROS, noDecay: true },
      { name: 'r_proj.linear.weight', shape: [H * K, d], init: xavierUniform(H * K, d, GAIN) },
      { name: 'w_proj.linear.lora.0.weight', shape: [gr, d], init: ZEROS },
      {
        name: 'w_proj.linear.lora.2.weight',
        shape: [H * K, gr],
        init: orthogonalInit(0.1 * (gr > H * K ? Math.sqrt(gr / (H * K)) : 1)),
      },
      { name: 'w_proj.linear.lora.2.bias', shape: [H * K], init: ZEROS, noDecay: true },
      { name: 'k_proj.linear.weight', shape: [H * K, d], init: xavierUniform(H * K, d, GAIN) },
      { name: 'v_proj.linear.weight', shape: [H * V, d], init: xavierUniform(H * V, d, GAIN) },
      { name: 'g_proj.linear.weight', shape: [H * V, d], init: xavierUniform(H * V, d, GAIN) },
      { name: 'bonus', shape: [H, K], init: ZEROS, noDecay: true },
      { name: 'g_norm.weight', shape: [H * V], init: ONES, noDecay: true },
      { name: 'g_norm.bias', shape: [H * V], init: ZEROS, noDecay: true },
      { name: 'o_proj.weight', shape: [d, H * V], init: xavierUniform(d, H * V, GAIN) },
    ],
    stateShapes: (batch) => ({ S: [batch, H, K, V], shift: [batch, d] }),
    run(p, x, state, recurrent) {
      const shifted = tokenShift(x, state?.shift);
      const m = ddlerp(p, x, sub(shifted.y, x));
      const w = linear(
        tanh(linear(m.w, p.get('w_proj.linear.lora.0.weight'))),
        p.get('w_proj.linear.lora.2.weight'),
        p.get('w_proj.linear.lora.2.bias'),
      );
      const out = rwkv6Recurrence(
        {
          r: toHeads(linear(m.r, p.get('r_proj.linear.weight')), H),
          k: toHeads(linear(m.k, p.get('k_proj.linear.weight')), H),
          v: toHeads(linear(m.v, p.get('v_proj.linear.weight')), H),
          // log w = −exp(·) < 0: a decay in (0, 1) per key channel.
          logw: toHeads(neg(exp(w)), H),
          u: p.get('bonus'),
        },
        { initialState: state?.S, chunkSize: c.chunkSize },
        recurrent,
      );
      const normed = fromHeads(headGroupNorm(out.o, p.get('g_norm.weight'), p.get('g_norm.bias'), c.normEps));
      const y = linear(mul(normed, silu(linear(m.g, p.get('g_proj.linear.weight')))), p.get('o_proj.weight'));
      return { y, state: { S: out.finalState, shift: shifted.state } };
    },
    stateSize: () => H * K * V + d,
    flopsPerToken: () =>
      2 * d * 5 * r * 2 + 2 * d * (2 * H * K + 2 * H * V) + 2 * gr * (d + H * K) + 2 * H * V * d + 6 * H * K * V,
  });
}

export function rwkv6Config(dModel: number, given: MixerOptions): Rwkv6Config {
  const o = resolveOptions(RWKV6, given);
  const heads = o.num_heads as number;
  const expandK = o.expand_k as number;
  const expandV = o.expand_v as number;
  const dims = headDims(
    'rwkv6',
    heads,
    [dModel * expandK, `d_model ${dModel} × expand_k ${expandK}`],
    [dModel * expandV, `d_model ${dModel} × expand_v ${expandV}`],
  );
  return {
    dModel,
    heads,
    ...dims,
    projRank: o.proj_low_rank_dim as number,
    gateRank: o.gate_low_rank_dim as number,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const RWKV6: MixerFactory = {
  kind: 'rwkv6',
  title: 'RWKV-6 (Finch)',
  family: 'linear-matrix',
  description: 'Data-dependent token shift and per-channel decay with a bonus for the current token (fla RWKV6).',
  options: [
    headsOption(4),
    expandOption('expand_k', 0.5),
    expandOption('expand_v', 1),
    {
      name: 'proj_low_rank_dim',
      type: 'int',
      default: 32,
      min: 1,
      max: 4096,
      help: 'Rank of the token-shift interpolation LoRA.',
    },
    { name: 'gate_low_rank_dim', type: 'int', default: 64, min: 1, max: 4096, help: 'Rank of the decay LoRA.' },
    NORM_EPS_OPTION,
    CHUNK_OPTION,
  ],
  create: (dModel, options) => rwkv6Mixer(rwkv6Config(dModel, options)),
};

registerMixer(RWKV6);
