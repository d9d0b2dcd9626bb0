// RWKV-7 time mixing in ONNX (the equations of gpu/nn/mixers/delta-rule/rwkv7.ref.ts): per token, the token
// shift against the carried previous input, the r/k/v projections and the decay, in-context-rate and gate
// LoRAs, one generalized delta-rule update S ← diag(w) S − (κ̂ ⊙ α)(κ̂ᵀ S) + k vᵀ, the read-out Sᵀr, the
// per-head GroupNorm plus the r·k bonus, the gate and the output projection; the parallel graph scans that
// step over time. States: S [B, heads, N (key), N (value)] and shift [B, d_model] (the last input).
// The options implementation and chunk_size only choose StateLab's kernels; layer_idx and num_layers only
// its initialization.

import type { OnnxGraph } from '../builder.js';
import { l2Normalize, num, scanParallel, type MixerStates, type OnnxMixerFactory, type StateSpec } from '../common.js';

const MIXES = ['x_r', 'x_w', 'x_k', 'x_v', 'x_a', 'x_g'] as const;
/** −e^{−½}: log w = −e^{−½} σ(·) ∈ [−0.607, 0). */
const LOG_DECAY_FLOOR = -Math.exp(-0.5);

export const rwkv7: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const N = num(config, 'head_dim') || Math.min(64, d);
  const H = d / N;
  const eps = num(config, 'norm_eps');
  const states: StateSpec[] = [
    { name: 'S', dims: [H, N, N] },
    { name: 'shift', dims: [d] },
  ];

  /** fla's LoRA: Linear → activation → Linear (+ bias). */
  const lora = (g: OnnxGraph, name: string, x: string, inner: (t: string) => string, bias: boolean) =>
    g.linear(
      inner(g.linear(x, w(`${name}.lora.0.weight`))),
      w(`${name}.lora.2.weight`),
      bias ? w(`${name}.lora.2.bias`) : undefined,
    );

  const step = (g: OnnxGraph, x: string, state: MixerStates) => {
    const heads = (t: string) => g.reshape(t, [0, H, N]);
    const delta = g.sub(state.shift, x);
    const mixed = Object.fromEntries(MIXES.map((m) => [m, g.add(x, g.mul(delta, w(m)))])) as Record<
      (typeof MIXES)[number],
      string
    >;
    const r = heads(g.linear(mixed.x_r, w('r_proj.weight')));
    const decay = heads(g.exp(g.scale(g.sigmoid(lora(g, 'w_lora', mixed.x_w, g.tanh, true)), LOG_DECAY_FLOOR)));
    const k0 = g.linear(mixed.x_k, w('k_proj.weight'));
    const v = heads(g.linear(mixed.x_v, w('v_proj.weight')));
    const alpha = g.sigmoid(lora(g, 'a_lora', mixed.x_a, (t) => t, true));
    const gate = lora(g, 'g_lora', mixed.x_g, g.sigmoid, false);
    const kappa = l2Normalize(g, heads(g.mul(k0, w('k_k'))), 1e-12);
    const k = heads(g.mul(k0, g.add(g.floats(1), g.mul(g.sub(alpha, g.floats(1)), w('k_a')))));
    const a = heads(alpha);

    // κ̂ᵀ S from the state before this token: [B, H, N (value)].
    const removal = g.reduceSum(g.mul(state.S, g.unsqueeze(kappa, [3])), [2]);
    const S = g.add(
      g.sub(
        g.mul(g.unsqueeze(decay, [3]), state.S),
        g.mul(g.unsqueeze(g.mul(kappa, a), [3]), g.unsqueeze(removal, [2])),
      ),
      g.mul(g.unsqueeze(k, [3]), g.unsqueeze(v, [2])),
    );
    const o = g.reduceSum(g.mul(S, g.unsqueeze(r, [3])), [2]); // Sᵀ r: [B, H, N]

    // GroupNorm with one group per head (biased variance, epsilon scaled by the head size, as fla).
    const centered = g.sub(o, g.reduceMean(o, [-1], true));
    const variance = g.reduceMean(g.mul(centered, centered), [-1], true);
    const normed = g.add(
      g.mul(g.div(centered, g.sqrt(g.addScalar(variance, N * eps))), g.reshape(w('g_norm.weight'), [H, N])),
      g.reshape(w('g_norm.bias'), [H, N]),
    );
    const bonus = g.mul(g.reduceSum(g.mul(g.mul(r, k), w('r_k')), [-1], true), v);
    const out = g.mul(g.reshape(g.add(normed, bonus), [0, d]), gate);
    return { y: g.linear(out, w('o_proj.weight')), state: { S, shift: x } };
  };
  return { states, step, parallel: (g: OnnxGraph, x: string) => scanParallel(g, x, states, step) };
};
