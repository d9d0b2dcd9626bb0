// The two class-B layers whose step is not the plain matrix step of linear-matrix.ts, in ONNX (the
// equations of gpu/nn/mixers/linear-matrix/rwkv6.ref.ts and mlstm.ref.ts):
//   RWKV-6 reads the state *before* the token's update, plus a bonus for the current token;
//   mLSTM has exponential input gates with a running-max stabilizer m and a normalizer n.
// The parallel graphs scan these one-token steps over time.

import type { OnnxGraph } from '../builder.js';
import { NO_HISTORY } from '../../../../gpu/ops/gla/stabilizer.js';
import { LOG_FORGET_FLOOR, MLSTM_EPS } from '../../../../gpu/nn/mixers/linear-matrix/mlstm.js';
import { RWKV6_MIXES } from '../../../../gpu/nn/mixers/linear-matrix/rwkv6.js';
import { num, scanParallel, shortConvStep, type OnnxMixer, type OnnxMixerFactory, type StateSpec } from '../common.js';

/** GroupNorm with one group per head: LayerNorm over the last axis of x [B, H, D], weight/bias [H·D]. */
function headLayerNorm(g: OnnxGraph, x: string, shape: [number, number], eps: number, weight: string, bias?: string) {
  const centered = g.sub(x, g.reduceMean(x, [-1], true));
  const variance = g.reduceMean(g.mul(centered, centered), [-1], true);
  const scaled = g.mul(g.div(centered, g.sqrt(g.addScalar(variance, eps))), g.reshape(weight, shape));
  return bias ? g.add(scaled, g.reshape(bias, shape)) : scaled;
}

/** RWKV-6's five data-dependent token-shift mixes (r, w, k, v, g: x_bias rows, x_proj.2 column blocks). */
const MIXES = RWKV6_MIXES.length;

/**
 * RWKV-6: the ddlerp token shift against the carried previous input, w = exp(−exp(LoRA)) per key channel,
 * o = rᵀ S + (r·(u ⊙ k)) v from the state before the token, then S ← Diag(w) S + k vᵀ; GroupNorm per head
 * ⊙ swish(g), W_o. States S [B, H, K, V] and shift [B, d] (the last input).
 */
export const rwkv6: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const H = num(config, 'num_heads');
  const K = (d * num(config, 'expand_k')) / H;
  const V = (d * num(config, 'expand_v')) / H;
  const r = num(config, 'proj_low_rank_dim');
  const eps = num(config, 'norm_eps');
  const states: StateSpec[] = [
    { name: 'S', dims: [H, K, V] },
    { name: 'shift', dims: [d] },
  ];
  const step: OnnxMixer['step'] = (g, x, state) => {
    const delta = g.sub(state.shift, x);
    const low = g.tanh(g.linear(g.add(x, g.mul(delta, w('x_proj.0.mu'))), w('x_proj.0.linear.weight')));
    // μ_n = W₂[:, n·r:(n+1)·r] low_n: W₂ as [d, 5, r] times low as [B, 1, 5, r], summed over r.
    const blocks = g.mul(g.reshape(w('x_proj.2.weight'), [d, MIXES, r]), g.reshape(low, [0, 1, MIXES, r]));
    const mu = g.add(g.transpose(g.reduceSum(blocks, [3]), [0, 2, 1]), w('x_bias')); // [B, 5, d]
    const mixed = g.add(g.unsqueeze(x, [1]), g.mul(g.unsqueeze(delta, [1]), mu));
    const [xr, xw, xk, xv, xg] = g.split(mixed, 1, Array(MIXES).fill(1)).map((t) => g.squeeze(t, [1]));
    const perHead = (t: string, D: number) => g.reshape(t, [0, H, D]);
    const rr = perHead(g.linear(xr, w('r_proj.linear.weight')), K);
    const k = perHead(g.linear(xk, w('k_proj.linear.weight')), K);
    const v = perHead(g.linear(xv, w('v_proj.linear.weight')), V);
    const lora = g.linear(
      g.tanh(g.linear(xw, w('w_proj.linear.lora.0.weight'))),
      w('w_proj.linear.lora.2.weight'),
      w('w_proj.linear.lora.2.bias'),
    );
    const decay = perHead(g.exp(g.neg(g.exp(lora))), K);
    const bonus = g.mul(g.reduceSum(g.mul(g.mul(rr, w('bonus')), k), [-1], true), v);
    const o = g.add(g.reduceSum(g.mul(state.S, g.unsqueeze(rr, [3])), [2]), bonus); // [B, H, V]
    const S = g.add(g.mul(g.unsqueeze(decay, [3]), state.S), g.mul(g.unsqueeze(k, [3]), g.unsqueeze(v, [2])));
    const normed = headLayerNorm(g, o, [H, V], eps, w('g_norm.weight'), w('g_norm.bias'));
    const gate = g.silu(g.linear(xg, w('g_proj.linear.weight')));
    const y = g.linear(g.mul(g.reshape(normed, [0, H * V]), gate), w('o_proj.weight'));
    return { y, state: { S, shift: x } };
  };
  return { states, step, parallel: (g, x) => scanParallel(g, x, states, step) };
};

/**
 * mLSTM: up-projection, conv + swish, block-diagonal q/k/v, gates from [q, k, v], then per head
 *   m' = max(log f + m, ĩ),  C ← e^{max(log f + m − m', −60)} C + e^{ĩ − m'} (k/√K) vᵀ  (and n alike),
 *   h = Cᵀq / max(|nᵀq|, e^{−m'} + 1e-6),
 * per-head GroupNorm, the learnable skip, ⊙ swish(z), down-projection. States S, n, m and the conv's
 * history as StateLab's, plus `started` [B, 1] (0 before the first token, then 1): StateLab starts m at
 * −∞ ("no history"), and with `started` an all-zero state is a fresh sequence, as for every layer.
 */
export const mlstm: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const multiple = num(config, 'round_proj_up_to_multiple_of');
  const I = Math.ceil((num(config, 'proj_factor') * d) / multiple) * multiple;
  const H = num(config, 'num_heads');
  const K = I / H;
  const bs = num(config, 'qkv_proj_blocksize');
  const taps = num(config, 'conv_size');
  const eps = num(config, 'norm_eps');
  const states: StateSpec[] = [
    { name: 'S', dims: [H, K, K] },
    { name: 'n', dims: [H, K] },
    { name: 'm', dims: [H] },
    { name: 'conv', dims: [taps - 1, I] },
    { name: 'started', dims: [1] },
  ];
  /** fla's GroupedLinear: block g of the output is W[g·bs:(g+1)·bs, :] times block g of t [B, I]. */
  const grouped = (g: OnnxGraph, t: string, name: string) =>
    g.reshape(
      g.reduceSum(g.mul(g.reshape(t, [0, I / bs, 1, bs]), g.reshape(w(`${name}.weight`), [I / bs, bs, bs])), [3]),
      [0, I],
    );
  const step: OnnxMixer['step'] = (g, x, state) => {
    const [xm, z] = g.split(g.linear(x, w('proj_up.weight')), -1, [I, I]);
    const conv = shortConvStep(g, xm, state.conv, w('conv1d.weight'), taps, w('conv1d.bias'));
    const xc = g.silu(conv.y);
    const [q, k, v] = [grouped(g, xc, 'q_proj'), grouped(g, xc, 'k_proj'), grouped(g, xm, 'v_proj')];
    const gatesIn = g.concat([q, k, v], -1);
    const ig = g.linear(gatesIn, w('igate.weight'), w('igate.bias')); // [B, H]
    const logF = g.logSigmoid(g.linear(gatesIn, w('fgate.weight'), w('fgate.bias')));

    // m before the first token is NO_HISTORY (−1e30): log f + m never wins the max there.
    const previous = g.one('Where', [g.one('Greater', [state.started, g.floats(0)]), state.m, g.floats(NO_HISTORY)]);
    const carried = g.add(logF, previous);
    const m = g.max(carried, ig);
    const forget = g.exp(g.max(g.sub(carried, m), g.floats(LOG_FORGET_FLOOR))); // [B, H]
    const perHead = (t: string) => g.reshape(t, [0, H, K]);
    const write = g.mul(g.unsqueeze(g.exp(g.sub(ig, m)), [2]), g.scale(perHead(k), 1 / Math.sqrt(K)));
    const S = g.add(
      g.mul(g.unsqueeze(forget, [2, 3]), state.S),
      g.mul(g.unsqueeze(write, [3]), g.unsqueeze(perHead(v), [2])),
    );
    const n = g.add(g.mul(g.unsqueeze(forget, [2]), state.n), write);
    const qh = perHead(q);
    const numerator = g.reduceSum(g.mul(S, g.unsqueeze(qh, [3])), [2]); // Cᵀq: [B, H, K]
    const denominator = g.max(g.one('Abs', [g.reduceSum(g.mul(n, qh), [-1])]), g.addScalar(g.exp(g.neg(m)), MLSTM_EPS));
    const h = g.div(numerator, g.unsqueeze(denominator, [2]));
    const normed = g.reshape(headLayerNorm(g, h, [H, K], eps, w('o_norm.weight')), [0, I]);
    const out = g.mul(g.add(normed, g.mul(w('learnable_skip'), xc)), g.silu(z));
    const started = g.add(g.mul(state.started, g.floats(0)), g.floats(1));
    return { y: g.linear(out, w('proj_down.weight')), state: { S, n, m, conv: conv.state, started } };
  };
  return { states, step, parallel: (g, x) => scanParallel(g, x, states, step) };
};
