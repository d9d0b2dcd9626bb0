// Causal softmax attention in ONNX (the math of gpu/nn/mixers/attention/attention.ref.ts): grouped
// key/value heads by a Gather over the head axis, the sliding window and the causal rule as a mask
// (−inf before the softmax), the Forgetting Transformer's F_i − F_j bias from a cumulative sum of
// log σ(w_f·x), and RoPE on q and k (rope_theta > 0, GPT-NeoX layout, f32 angles). The parallel graph
// attends over the sequence; the step graph appends one token to the KV cache (state k, v
// [B, past, kv_heads, head_dim] with keys rotated at their positions and, with the gate, f [B, past, heads]).
// The cache keeps every token (StateLab's keeps only the window): the logits are the same.

import type { OnnxGraph } from '../builder.js';
import { num, type MixerStates, type OnnxMixerFactory } from '../common.js';

export const attention: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const H = num(config, 'num_heads');
  const G = num(config, 'num_kv_heads') || H;
  const D = num(config, 'head_dim') || d / H;
  const window = num(config, 'window');
  const forget = config.forget_gate === true;
  // Graphs saved before RoPE existed have no rope_theta: no positional encoding, as they were trained.
  const ropeTheta = typeof config.rope_theta === 'number' ? config.rope_theta : 0;
  /** RoPE (GPT-NeoX layout) on x [B, T, heads, D] at float positions [T]. */
  const rope = (g: OnnxGraph, x: string, positions: string) => {
    if (ropeTheta <= 0) return x;
    const half = D / 2;
    const invFreq = g.floats(Array.from({ length: half }, (_, f) => Math.pow(ropeTheta, (-2 * f) / D)));
    const angle = g.unsqueeze(g.mul(g.unsqueeze(positions, [1]), invFreq), [1]); // [T, 1, D/2]
    const [cos, sin] = [g.one('Cos', [angle]), g.one('Sin', [angle])];
    const [x1, x2] = g.split(x, -1, [half, half]);
    return g.concat([g.sub(g.mul(x1, cos), g.mul(x2, sin)), g.add(g.mul(x1, sin), g.mul(x2, cos))], -1);
  };
  const toFloat = (g: OnnxGraph, t: string) => g.one('Cast', [t], { to: 1 });
  const bias = (name: string) => (config.qkv_bias ? w(`${name}.bias`) : undefined);
  const project = (g: OnnxGraph, x: string, name: string) => g.linear(x, w(`${name}.weight`), bias(name));
  /** kv [B, L, G, D] → [B, H, L, D] with query head h reading kv head ⌊h / (H/G)⌋. */
  const expandHeads = (g: OnnxGraph, kv: string) =>
    g.transpose(
      G === H ? kv : g.gather(kv, g.ints(Array.from({ length: H }, (_, h) => Math.floor(h / (H / G)))), 2),
      [0, 2, 1, 3],
    );
  const logForget = (g: OnnxGraph, x: string) =>
    g.logSigmoid(g.linear(x, w('fgate_proj.weight'), w('fgate_proj.bias')));
  /** softmax(mask(scale·q kᵀ + bias)) v for q [B, H, Tq, D], keys/values [B, L, G, D]. */
  const attend = (g: OnnxGraph, q: string, k: string, v: string, visible: string, extra?: string) => {
    let scores = g.scale(g.matmul(q, g.transpose(expandHeads(g, k), [0, 1, 3, 2])), 1 / Math.sqrt(D));
    if (extra) scores = g.add(scores, extra);
    const masked = g.one('Where', [visible, scores, g.floats(-Infinity)]);
    return g.matmul(g.one('Softmax', [masked], { axis: -1 }), expandHeads(g, v)); // [B, H, Tq, D]
  };
  const dim = (g: OnnxGraph, t: string, axis: number) => g.gather(g.shape(t), g.ints([axis], true));
  const range = (g: OnnxGraph, n: string) => g.one('Range', [g.ints([0], true), n, g.ints([1], true)]);
  /** Visible iff key ≤ query position and (no window or query − key < window). */
  const mask = (g: OnnxGraph, queryPos: string, keyPos: string) => {
    let visible = g.one('LessOrEqual', [keyPos, queryPos]);
    if (window > 0) visible = g.one('And', [visible, g.one('Less', [g.sub(queryPos, keyPos), g.ints([window], true)])]);
    return visible;
  };
  const states = [
    { name: 'k', dims: ['past', G, D] },
    { name: 'v', dims: ['past', G, D] },
    ...(forget ? [{ name: 'f', dims: ['past', H] }] : []),
  ];
  return {
    states,
    parallel(g, x) {
      const positions = range(g, dim(g, x, 1));
      const q = g.transpose(
        rope(g, g.reshape(project(g, x, 'q_proj'), [0, 0, H, D]), toFloat(g, positions)),
        [0, 2, 1, 3],
      );
      const k = rope(g, g.reshape(project(g, x, 'k_proj'), [0, 0, G, D]), toFloat(g, positions));
      const v = g.reshape(project(g, x, 'v_proj'), [0, 0, G, D]);
      const visible = mask(g, g.unsqueeze(positions, [1]), g.unsqueeze(positions, [0]));
      const state: MixerStates = { k, v };
      let extra: string | undefined;
      if (forget) {
        const F = g.one('CumSum', [logForget(g, x), g.ints([1], true)]); // [B, T, H]
        const Fh = g.transpose(F, [0, 2, 1]); // [B, H, T]
        extra = g.sub(g.unsqueeze(Fh, [3]), g.unsqueeze(Fh, [2])); // F_i − F_j
        state.f = F;
      }
      const o = attend(g, q, k, v, visible, extra);
      const y = g.linear(g.reshape(g.transpose(o, [0, 2, 1, 3]), [0, 0, H * D]), w('o_proj.weight'));
      return { y, state };
    },
    step(g, x, state) {
      const past = dim(g, state.k, 1); // the query's position
      const position = g.unsqueeze(toFloat(g, past), [0]); // [1]
      const q = g.transpose(rope(g, g.reshape(project(g, x, 'q_proj'), [0, 1, H, D]), position), [0, 2, 1, 3]);
      const k = g.concat([state.k, rope(g, g.reshape(project(g, x, 'k_proj'), [0, 1, G, D]), position)], 1);
      const v = g.concat([state.v, g.reshape(project(g, x, 'v_proj'), [0, 1, G, D])], 1);
      const visible = mask(g, past, range(g, dim(g, k, 1)));
      const next: MixerStates = { k, v };
      let extra: string | undefined;
      if (forget) {
        // F_t = F_{t−1} + log f_t, with F_{−1} = 0: prepend a zero row and take the last one.
        const withZero = g.concat(
          [g.mul(g.slice(g.reshape(logForget(g, x), [0, 1, H]), 1, 0, 1), g.floats(0)), state.f],
          1,
        );
        const Ft = g.add(g.gather(withZero, past, 1), logForget(g, x)); // [B, H]
        next.f = g.concat([state.f, g.unsqueeze(Ft, [1])], 1);
        extra = g.sub(g.unsqueeze(Ft, [2, 3]), g.unsqueeze(g.transpose(next.f, [0, 2, 1]), [2])); // [B, H, 1, L+1]
      }
      const o = attend(g, q, k, v, visible, extra);
      return { y: g.linear(g.reshape(o, [0, H * D]), w('o_proj.weight')), state: next };
    },
  };
};
