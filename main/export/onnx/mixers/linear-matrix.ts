// The class-B layers in ONNX — linear attention, RetNet, GLA, Mamba-2, HGRN2, GSA — as their one-token
// steps around one recurrence (the equations of gpu/nn/mixers/linear-matrix/*.ref.ts):
//   S ← Diag(α) S + k vᵀ,   o = scale · Sᵀ q   per head, S [B, heads, K, V],
// with each family's q, k, v, decay α and read-out; the parallel graph scans that step over time.
// chunk_size only tiles StateLab's kernels: the step is the same recurrence.

import { retentionLogDecay } from '../../../../gpu/nn/mixers/linear-matrix/retnet.js';
import type { OnnxGraph } from '../builder.js';
import {
  num,
  rmsNorm,
  scanParallel,
  shortConvStep,
  type OnnxMixer,
  type OnnxMixerFactory,
  type StateSpec,
} from '../common.js';

/**
 * One token of S ← Diag(α) S + k vᵀ and o = scale · Sᵀ q, for S [B, H, K, V], q, k [B, H, K], v [B, H, V]
 * and the decay α [B, H, K] (per key channel) or [B, H, 1] (per head); no decay when absent.
 */
export function matrixStep(
  g: OnnxGraph,
  S: string,
  x: { q: string; k: string; v: string; decay?: string },
  scale: number,
): { S: string; o: string } {
  const kept = x.decay ? g.mul(g.unsqueeze(x.decay, [3]), S) : S;
  const next = g.add(kept, g.mul(g.unsqueeze(x.k, [3]), g.unsqueeze(x.v, [2])));
  const read = g.reduceSum(g.mul(next, g.unsqueeze(x.q, [3])), [2]);
  return { S: next, o: scale === 1 ? read : g.scale(read, scale) };
}

/** [B, H·D] → [B, H, D]. */
const heads = (g: OnnxGraph, t: string, H: number, D: number) => g.reshape(t, [0, H, D]);

function recurrent(states: StateSpec[], step: OnnxMixer['step']): OnnxMixer {
  return { states, step, parallel: (g, x) => scanParallel(g, x, states, step) };
}

/** Key and value dims per head from d_model × expand_k / expand_v (StateLab's headDims). */
function headDims(config: Record<string, unknown>) {
  const d = config.d_model as number;
  const H = config.num_heads as number;
  return { H, K: (d * (config.expand_k as number)) / H, V: (d * (config.expand_v as number)) / H };
}

/** x / (Σx + 1e-4) over each head (fla norm_q / norm_k). */
const sumNormalize = (g: OnnxGraph, x: string) => g.div(x, g.addScalar(g.reduceSum(x, [-1], true), 1e-4));

/** x ⊙ silu(gate) after RMSNorm per head: fla's FusedRMSNormGated (gate absent: plain RMSNorm). */
function headNormGated(g: OnnxGraph, o: string, weight: string, eps: number, gate?: string) {
  const normed = rmsNorm(g, o, weight, eps);
  return gate ? g.mul(normed, g.silu(gate)) : normed;
}

export const linearAttention: OnnxMixerFactory = (config, w) => {
  const { H, K, V } = headDims(config);
  const map = config.feature_map as string;
  const normalize = config.normalize === true;
  const eps = num(config, 'norm_eps');
  const phi = (g: OnnxGraph, x: string) => {
    if (map === 'relu') return g.one('Relu', [x]);
    if (map === 'identity') return x;
    return g.one('Where', [g.one('Greater', [x, g.floats(0)]), g.addScalar(x, 1), g.exp(x)]); // elu(x) + 1
  };
  // With `normalize`, a column of ones after v carries z = Σ k in the state's last value column.
  const W = V + (normalize ? 1 : 0);
  return recurrent([{ name: 'S', dims: [H, K, W] }], (g, x, state) => {
    let q = heads(g, phi(g, g.linear(x, w('q_proj.weight'))), H, K);
    let k = heads(g, phi(g, g.linear(x, w('k_proj.weight'))), H, K);
    if (config.norm_q === true) q = sumNormalize(g, q);
    if (config.norm_k === true) k = sumNormalize(g, k);
    let v = heads(g, g.linear(x, w('v_proj.weight')), H, V);
    if (normalize) v = g.concat([v, g.addScalar(g.mul(g.slice(v, 2, 0, 1), g.floats(0)), 1)], 2);
    const step = matrixStep(g, state.S, { q, k, v }, 1 / Math.sqrt(K));
    let o = step.o;
    if (normalize) o = g.div(g.slice(o, 2, 0, V), g.addScalar(g.slice(o, 2, V, V + 1), 1e-10));
    if (config.output_norm === 'rmsnorm') o = rmsNorm(g, o, w('norm.weight'), eps);
    return { y: g.linear(g.reshape(o, [0, H * V]), w('o_proj.weight')), state: { S: step.S } };
  });
};

/**
 * RetNet: rotary q, k at each row's position (the state `position` [B], f32 angles as in the attention
 * export), the fixed decay γ_h = 1 − 2^(−5−h), gated RMSNorm per head. A zero state is position 0.
 */
export const retnet: OnnxMixerFactory = (config, w) => {
  const { H, K, V } = headDims(config);
  const eps = num(config, 'norm_eps');
  const gammas = retentionLogDecay(H).map(Math.exp);
  const half = K / 2;
  const invFreq = Array.from({ length: half }, (_, f) => Math.pow(10000, (-2 * f) / K));
  /** RoPE (half-split pairs) of x [B, H, K] at positions [B]. */
  const rope = (g: OnnxGraph, x: string, position: string) => {
    const angle = g.unsqueeze(g.mul(g.unsqueeze(position, [1]), g.floats(invFreq)), [1]); // [B, 1, K/2]
    const [cos, sin] = [g.one('Cos', [angle]), g.one('Sin', [angle])];
    const [x1, x2] = g.split(x, -1, [half, half]);
    return g.concat([g.sub(g.mul(x1, cos), g.mul(x2, sin)), g.add(g.mul(x1, sin), g.mul(x2, cos))], -1);
  };
  const states: StateSpec[] = [
    { name: 'S', dims: [H, K, V] },
    { name: 'position', dims: [] },
  ];
  return recurrent(states, (g, x, state) => {
    const q = rope(g, heads(g, g.linear(x, w('q_proj.weight')), H, K), state.position);
    const k = rope(g, heads(g, g.linear(x, w('k_proj.weight')), H, K), state.position);
    const v = heads(g, g.linear(x, w('v_proj.weight')), H, V);
    const decay = g.reshape(g.floats(gammas), [1, H, 1]);
    const step = matrixStep(g, state.S, { q, k, v, decay }, 1 / Math.sqrt(K));
    const gate = config.use_output_gate === true ? heads(g, g.linear(x, w('g_proj.weight')), H, V) : undefined;
    const o = headNormGated(g, step.o, w('g_norm.weight'), eps, gate);
    const y = g.linear(g.reshape(o, [0, H * V]), w('o_proj.weight'));
    return { y, state: { S: step.S, position: g.addScalar(state.position, 1) } };
  });
};

/** GLA: the decay α = exp(logsigmoid(W₂W₁x + b) / gate_logit_normalizer) per key channel. */
export const gla: OnnxMixerFactory = (config, w) => {
  const { H, K, V } = headDims(config);
  const eps = num(config, 'norm_eps');
  const normalizer = num(config, 'gate_logit_normalizer');
  return recurrent([{ name: 'S', dims: [H, K, V] }], (g, x, state) => {
    const q = heads(g, g.linear(x, w('q_proj.weight')), H, K);
    const k = heads(g, g.linear(x, w('k_proj.weight')), H, K);
    const v = heads(g, g.linear(x, w('v_proj.weight')), H, V);
    const gate = g.linear(g.linear(x, w('gk_proj.0.weight')), w('gk_proj.1.weight'), w('gk_proj.1.bias'));
    const decay = heads(g, g.exp(g.scale(g.logSigmoid(gate), 1 / normalizer)), H, K);
    const step = matrixStep(g, state.S, { q, k, v, decay }, 1 / Math.sqrt(K));
    const outGate = config.use_output_gate === true ? heads(g, g.linear(x, w('g_proj.weight')), H, V) : undefined;
    const o = headNormGated(g, step.o, w('g_norm.weight'), eps, outGate);
    return { y: g.linear(g.reshape(o, [0, H * V]), w('o_proj.weight')), state: { S: step.S } };
  });
};

/**
 * Mamba-2: q = C, k = B (shared by the heads of a group), v = dt·x, decay exp(dt·A) per head, y = Sᵀ C + D x,
 * RMSNorm(y ⊙ silu(z)) within each group. States S [B, H, N, P] and the conv's history.
 */
export const mamba2: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const inner = d * num(config, 'expand');
  const P = num(config, 'headdim');
  const H = inner / P;
  const N = num(config, 'd_state');
  const G = num(config, 'ngroups');
  const taps = num(config, 'd_conv');
  const convDim = inner + 2 * G * N;
  const groupOfHead = Array.from({ length: H }, (_, h) => Math.floor(h / (H / G)));
  const states: StateSpec[] = [
    { name: 'S', dims: [H, N, P] },
    { name: 'conv', dims: [taps - 1, convDim] },
  ];
  return recurrent(states, (g, u, state) => {
    const [z, xBC, dtRaw] = g.split(g.linear(u, w('in_proj.weight')), -1, [inner, convDim, H]);
    const conv = shortConvStep(g, xBC, state.conv, w('conv1d.weight'), taps, w('conv1d.bias'));
    const [xs, Bm, Cm] = g.split(g.silu(conv.y), -1, [inner, G * N, G * N]);
    const perHead = (m: string) => g.gather(g.reshape(m, [0, G, N]), g.ints(groupOfHead), 1); // [B, H, N]
    const dt = g.softplus(g.add(dtRaw, w('dt_bias'))); // [B, H]
    const decay = g.unsqueeze(g.exp(g.mul(g.neg(dt), g.exp(w('A_log')))), [2]); // [B, H, 1]
    const x = heads(g, xs, H, P);
    const v = g.mul(x, g.unsqueeze(dt, [2]));
    const step = matrixStep(g, state.S, { q: perHead(Cm), k: perHead(Bm), v, decay }, 1);
    const y = g.add(step.o, g.mul(x, g.reshape(w('D'), [H, 1])));
    const gated = g.mul(g.reshape(y, [0, inner]), g.silu(z));
    const width = inner / G;
    const normed = rmsNorm(g, g.reshape(gated, [0, G, width]), g.reshape(w('norm.weight'), [G, width]), 1e-5);
    return { y: g.linear(g.reshape(normed, [0, inner]), w('out_proj.weight')), state: { S: step.S, conv: conv.state } };
  });
};

/** HGRN2: λ = lb + (1 − lb) σ(W_f x) decays the state, k = (1 − lb) σ(−W_f x), q = swish(W_q x). */
export const hgrn2: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const E = num(config, 'expand_ratio');
  const H = d / E;
  const lb = num(config, 'lower_bound');
  const eps = num(config, 'norm_eps');
  return recurrent([{ name: 'S', dims: [H, E, E] }], (g, x, state) => {
    const f = g.linear(x, w('f_proj.weight'));
    const decay = heads(g, g.addScalar(g.scale(g.sigmoid(f), 1 - lb), lb), H, E);
    const k = heads(g, g.scale(g.sigmoid(g.neg(f)), 1 - lb), H, E);
    const q = heads(g, g.silu(g.linear(x, w('q_proj.weight'))), H, E);
    const v = heads(g, g.linear(x, w('i_proj.weight')), H, E);
    const step = matrixStep(g, state.S, { q, k, v, decay }, 1 / Math.sqrt(E));
    const o = rmsNorm(g, g.reshape(step.o, [0, d]), w('g_norm.weight'), eps);
    return { y: g.linear(o, w('o_proj.weight')), state: { S: step.S } };
  });
};

/**
 * GSA: M slots per head with α = exp(logsigmoid(W_f x) / normalizer) and s = 1 − α. Pass 1 writes
 * Sk ← Diag(α) Sk + s kᵀ ([M, K], StateLab's slot-major layout) and scores the slots by Sk q; pass 2 is the
 * matrix step on Sv [M, V] with keys s and queries softmax(scores); y = W_o RMSNorm(swish(o)).
 */
export const gsa: OnnxMixerFactory = (config, w) => {
  const { H, K, V } = headDims(config);
  const M = num(config, 'num_slots') || K;
  const normalizer = num(config, 'gate_logit_normalizer');
  const eps = num(config, 'norm_eps');
  const phi = (g: OnnxGraph, t: string) => (config.feature_map === 'relu' ? g.one('Relu', [t]) : g.silu(t));
  const states: StateSpec[] = [
    { name: 'Sk', dims: [H, M, K] },
    { name: 'Sv', dims: [H, M, V] },
  ];
  return recurrent(states, (g, x, state) => {
    const q = heads(g, phi(g, g.linear(x, w('q_proj.weight'))), H, K);
    const k = heads(g, phi(g, g.linear(x, w('k_proj.weight'))), H, K);
    const v = heads(g, g.silu(g.linear(x, w('v_proj.weight'))), H, V);
    const alpha = heads(g, g.exp(g.scale(g.logSigmoid(g.linear(x, w('f_proj.weight'))), 1 / normalizer)), H, M);
    const s = g.sub(g.floats(1), alpha);
    const Sk = g.add(g.mul(g.unsqueeze(alpha, [3]), state.Sk), g.mul(g.unsqueeze(s, [3]), g.unsqueeze(k, [2])));
    const scores = g.reduceSum(g.mul(Sk, g.unsqueeze(q, [2])), [3]); // [B, H, M]
    const weights = g.one('Softmax', [scores], { axis: -1 });
    const pass2 = matrixStep(g, state.Sv, { q: weights, k: s, v, decay: alpha }, 1);
    const o = rmsNorm(g, g.silu(g.reshape(pass2.o, [0, H * V])), w('g_norm.weight'), eps);
    return { y: g.linear(o, w('o_proj.weight')), state: { Sk, Sv: pass2.S } };
  });
};
