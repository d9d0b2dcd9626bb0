// The delta-rule layers in ONNX (DeltaNet, Gated DeltaNet, DeltaProduct; the equations of
// gpu/nn/mixers/delta-rule/delta-core.ref.ts): per token, the convolutions on q, k, v, the decay of S
// (gated), `householder` delta-rule updates S += k (β (v − Sᵀk))ᵀ, and the read-out Sᵀq/√K; the
// parallel graph scans that step over time. S is [B, heads, K, V].

import type { OnnxGraph } from '../builder.js';
import {
  l2Normalize,
  num,
  rmsNorm,
  scanParallel,
  shortConvStep,
  type MixerStates,
  type OnnxMixerFactory,
  type StateSpec,
  type WeightOf,
} from '../common.js';

interface DeltaShape {
  d: number;
  H: number;
  K: number;
  V: number;
  n: number;
  gated: boolean;
  outputGate: boolean;
  conv: number;
  negative: boolean;
  eps: number;
}

function deltaMixer(s: DeltaShape, w: WeightOf) {
  const { H, K, V, n } = s;
  const widths: Record<string, number> = { q_conv1d: H * K, k_conv1d: n * H * K, v_conv1d: n * H * V };
  const states: StateSpec[] = [{ name: 'S', dims: [H, K, V] }];
  if (s.conv > 0) for (const [name, width] of Object.entries(widths)) states.push({ name, dims: [s.conv - 1, width] });
  const step = (g: OnnxGraph, x: string, state: MixerStates) => {
    const next: MixerStates = {};
    const convolve = (name: string, raw: string) => {
      if (s.conv === 0) return g.silu(raw);
      const out = shortConvStep(g, raw, state[name], w(`${name}.weight`), s.conv);
      next[name] = out.state;
      return g.silu(out.y);
    };
    const q = l2Normalize(g, g.reshape(convolve('q_conv1d', g.linear(x, w('q_proj.weight'))), [0, H, K]));
    const k = l2Normalize(g, g.reshape(convolve('k_conv1d', g.linear(x, w('k_proj.weight'))), [0, n, H, K]));
    const v = g.reshape(convolve('v_conv1d', g.linear(x, w('v_proj.weight'))), [0, n, H, V]);
    let beta = g.reshape(g.sigmoid(g.linear(x, w('b_proj.weight'))), [0, n, H]);
    if (s.negative) beta = g.scale(beta, 2);
    let S = state.S;
    if (s.gated) {
      const dt = g.softplus(g.add(g.linear(x, w('a_proj.weight')), w('dt_bias')));
      const decay = g.exp(g.mul(g.neg(g.exp(w('A_log'))), dt)); // [B, H]
      S = g.mul(S, g.unsqueeze(decay, [2, 3]));
    }
    for (let j = 0; j < n; j++) {
      const at = (t: string) => g.gather(t, g.ints([j], true), 1);
      const kj = g.unsqueeze(at(k), [3]); // [B, H, K, 1]
      const predicted = g.reduceSum(g.mul(S, kj), [2]); // Sᵀk: [B, H, V]
      const update = g.mul(g.unsqueeze(at(beta), [2]), g.sub(at(v), predicted));
      S = g.add(S, g.mul(kj, g.unsqueeze(update, [2])));
    }
    const read = g.scale(g.reduceSum(g.mul(S, g.unsqueeze(q, [3])), [2]), 1 / Math.sqrt(K)); // [B, H, V]
    let o = rmsNorm(g, read, w('o_norm.weight'), s.eps);
    if (s.outputGate) o = g.mul(o, g.silu(g.reshape(g.linear(x, w('g_proj.weight')), [0, H, V])));
    next.S = S;
    return { y: g.linear(g.reshape(o, [0, H * V]), w('o_proj.weight')), state: next };
  };
  return { states, step, parallel: (g: OnnxGraph, x: string) => scanParallel(g, x, states, step) };
}

function heads(config: Record<string, unknown>, keyWidth: number, valueWidth: number) {
  const H = config.num_heads as number;
  return { H, K: keyWidth / H, V: valueWidth / H };
}

const common = (config: Record<string, unknown>) => ({
  d: config.d_model as number,
  conv: config.conv_size as number,
  negative: config.negative_eigenvalues === true,
  eps: config.norm_eps as number,
});

export const deltanet: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const dims = heads(config, d * num(config, 'expand_k'), d * num(config, 'expand_v'));
  return deltaMixer({ ...common(config), ...dims, n: 1, gated: false, outputGate: config.use_output_gate === true }, w);
};

function gatedWidths(config: Record<string, unknown>) {
  const H = config.num_heads as number;
  const headDim = config.head_dim as number;
  const keyWidth = headDim > 0 ? headDim * H : (config.d_model as number);
  return heads(config, keyWidth, keyWidth * (config.expand_v as number));
}

export const gatedDeltanet: OnnxMixerFactory = (config, w) =>
  deltaMixer(
    { ...common(config), ...gatedWidths(config), n: 1, gated: true, outputGate: config.use_output_gate === true },
    w,
  );

export const deltaproduct: OnnxMixerFactory = (config, w) =>
  deltaMixer(
    {
      ...common(config),
      ...gatedWidths(config),
      n: num(config, 'num_householder'),
      gated: config.use_forget_gate === true,
      outputGate: config.use_output_gate === true,
    },
    w,
  );
