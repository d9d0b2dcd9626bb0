// RWKV-7 time mixing in ONNX (the equations of gpu/nn/mixers/delta-rule/rwkv7.ref.ts): per token, the token
// shift against the carried previous input, the r/k/v projections and the decay, in-context-rate and gate
// LoRAs, one generalized delta-rule update S ← diag(w) S − (κ̂ ⊙ α)(κ̂ᵀ S) + k vᵀ, the read-out Sᵀr, the
// per-head GroupNorm plus the r·k bonus, the gate and the output projection; the parallel graph scans that
// step over time. States: S [B, heads, N (key), N (value)] and shift [B, d_model] (the last input).
// The options implementation and chunk_size only choose StateLab's kernels; layer_idx and num_layers only
// its initialization. value_residual 'on': the first such layer publishes its values v on the model's
// OnnxContext (in the parallel model as an extra per-token output of its Scan, [B, T, d]); later ones take
// them as a second scan input (or, in the step model, the [B, d] value) and mix them in,
// v ← v + (v_first − v) ⊙ σ(v_lora(x_v)).

import type { OnnxGraph } from '../builder.js';
import {
  l2Normalize,
  num,
  scanParallel,
  zerosLike,
  type MixerStates,
  type OnnxContext,
  type OnnxMixerFactory,
  type StateSpec,
} from '../common.js';

const MIXES = ['x_r', 'x_w', 'x_k', 'x_v', 'x_a', 'x_g'] as const;
/** −e^{−½}: log w = −e^{−½} σ(·) ∈ [−0.607, 0). */
const LOG_DECAY_FLOOR = -Math.exp(-0.5);
/** The context key of the first value-residual layer's values (as gpu/nn/mixers/delta-rule/rwkv7.ts). */
const V_FIRST = 'rwkv7.v_first';

export const rwkv7: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const N = num(config, 'head_dim') || Math.min(64, d);
  const H = d / N;
  const eps = num(config, 'norm_eps');
  const valueResidual = config.value_residual === 'on';
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

  /** One token; `vFirst` [B, d]: the first value-residual layer's values to mix in. Also returns v [B, d]. */
  const tokenStep = (g: OnnxGraph, x: string, state: MixerStates, vFirst?: string) => {
    const heads = (t: string) => g.reshape(t, [0, H, N]);
    const delta = g.sub(state.shift, x);
    const mixed = Object.fromEntries(MIXES.map((m) => [m, g.add(x, g.mul(delta, w(m)))])) as Record<
      (typeof MIXES)[number],
      string
    >;
    const r = heads(g.linear(mixed.x_r, w('r_proj.weight')));
    const decay = heads(g.exp(g.scale(g.sigmoid(lora(g, 'w_lora', mixed.x_w, g.tanh, true)), LOG_DECAY_FLOOR)));
    const k0 = g.linear(mixed.x_k, w('k_proj.weight'));
    const ownV = g.linear(mixed.x_v, w('v_proj.weight'));
    const flatV = vFirst
      ? g.add(ownV, g.mul(g.sub(vFirst, ownV), g.sigmoid(lora(g, 'v_lora', mixed.x_v, (t) => t, true))))
      : ownV;
    const v = heads(flatV);
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
    const next: MixerStates = { S, shift: x };
    return { y: g.linear(out, w('o_proj.weight')), state: next, v: flatV };
  };

  const step = (g: OnnxGraph, x: string, state: MixerStates, context?: OnnxContext) => {
    const first = valueResidual ? context?.shared.get(V_FIRST) : undefined;
    const out = tokenStep(g, x, state, first);
    if (valueResidual && context && !first) context.shared.set(V_FIRST, out.v);
    return { y: out.y, state: out.state };
  };

  const parallel = (g: OnnxGraph, x: string, context?: OnnxContext) => {
    if (!valueResidual || !context) return scanParallel(g, x, states, (b, xt, st) => tokenStep(b, xt, st));
    // The Scan of scanParallel, with v_first as a second per-token input (later layers) or v as a second
    // per-token output (the first layer).
    const first = context.shared.get(V_FIRST);
    const names = states.map((s) => s.name);
    const initial = states.map((s) => zerosLike(g, x, s.dims as number[]));
    const result = g.scan('recurrence', initial, first ? [x, first] : [x], 1, (body, carried, [xt, firstT]) => {
      const out = tokenStep(body, xt, Object.fromEntries(names.map((n, i) => [n, carried[i]])), firstT);
      return { states: names.map((n) => out.state[n]), outputs: first ? [out.y] : [out.y, out.v] };
    });
    if (!first) context.shared.set(V_FIRST, result.outputs[1]);
    return { y: result.outputs[0], state: Object.fromEntries(names.map((n, i) => [n, result.states[i]])) };
  };
  return { states, step, parallel };
};
