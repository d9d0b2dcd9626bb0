// The pre-norm residual block, x ← x + mixer(RMSNorm(x)); x ← x + MLP(RMSNorm(x)), over any registered
// mixer (composed through the registry, so every family plugs in), and the Llama-style Transformer
// block built from it (attention + SwiGLU), the teacher that recurrent students are distilled from.
// A block is itself a `Mixer` ([B, T, d] → [B, T, d], parallel and step forms, carried state), so
// blocks nest (see griffin.ts). Parameter names follow the graph templates: attn_norm, attn, mlp_norm, mlp.

import type { Engine } from '../../engine.js';
import { add } from '../../ops/elementwise.js';
import { rmsNorm } from '../../ops/norm.js';
import type { Tensor } from '../../tensor.js';
import { mixerFactory, type Mixer, type MixerOptions, type MixerState } from '../mixer.js';
import type { ParamSpec, ParamView } from '../module.js';
import { defaultMlpHidden, gatedMlp, gatedMlpSpecs, type GatedActivation } from './mlp.js';

export interface PreNormBlockConfig {
  /** A registered mixer kind (e.g. "attention", "hawk", "gated_deltanet") and its options. */
  mixer: string;
  mixerOptions?: MixerOptions;
  /** Gated MLP after the mixer; null for a mixer-only block. */
  mlp: { activation: GatedActivation; hidden?: number } | null;
  normEps?: number;
  /** Layers in the model (scales the MLP output init). */
  layers?: number;
}

/** A view of the parameters under `name` inside `p`. */
export function subView(p: ParamView, name: string): ParamView {
  return {
    prefix: p.prefix ? `${p.prefix}.${name}` : name,
    get: (n) => p.get(`${name}.${n}`),
    has: (n) => p.has(`${name}.${n}`),
  };
}

/** Prefixes parameter specs (or state keys) with `name.`. */
export function nestSpecs(name: string, specs: ParamSpec[]): ParamSpec[] {
  return specs.map((s) => ({ ...s, name: `${name}.${s.name}` }));
}

export function nestState(name: string, state: MixerState | undefined): MixerState {
  return Object.fromEntries(Object.entries(state ?? {}).map(([k, t]) => [`${name}.${k}`, t]));
}

/** The entries of `state` under `name.`, with the prefix removed (undefined when there are none). */
export function unnestState(name: string, state: MixerState | undefined): MixerState | undefined {
  if (!state) return undefined;
  const inner = Object.entries(state).filter(([k]) => k.startsWith(`${name}.`));
  return inner.length ? Object.fromEntries(inner.map(([k, t]) => [k.slice(name.length + 1), t])) : undefined;
}

export function preNormBlock(dModel: number, c: PreNormBlockConfig): Mixer {
  const mixer = mixerFactory(c.mixer).create(dModel, c.mixerOptions ?? {});
  const eps = c.normEps ?? 1e-6;
  const hidden = c.mlp ? (c.mlp.hidden ?? defaultMlpHidden(dModel)) : 0;
  const norm = (name: string): ParamSpec => ({
    name,
    shape: [dModel],
    init: { kind: 'constant', value: 1 },
    noDecay: true,
  });
  const mlp = (p: ParamView, h: Tensor) =>
    c.mlp ? add(h, gatedMlp(subView(p, 'mlp'), rmsNorm(h, p.get('mlp_norm.weight'), eps), c.mlp.activation)) : h;
  return {
    kind: `block:${c.mixer}`,
    params: () => [
      norm('attn_norm.weight'),
      ...nestSpecs('attn', mixer.params()),
      ...(c.mlp ? [norm('mlp_norm.weight'), ...nestSpecs('mlp', gatedMlpSpecs(dModel, hidden, c.layers ?? 1))] : []),
    ],
    forward(p, x, { initialState, returnState } = {}) {
      const out = mixer.forward(subView(p, 'attn'), rmsNorm(x, p.get('attn_norm.weight'), eps), {
        initialState: unnestState('attn', initialState),
        returnState,
      });
      const y = mlp(p, add(x, out.y));
      return returnState ? { y, state: nestState('attn', out.state) } : { y };
    },
    step(p, x, state) {
      const out = mixer.step(
        subView(p, 'attn'),
        rmsNorm(x, p.get('attn_norm.weight'), eps),
        unnestState('attn', state) ?? {},
      );
      return { y: mlp(p, add(x, out.y)), state: nestState('attn', out.state) };
    },
    initialState: (engine: Engine, batch: number) => nestState('attn', mixer.initialState(engine, batch)),
    stateSize: () => mixer.stateSize(),
    flopsPerToken: () => mixer.flopsPerToken() + (c.mlp ? 6 * dModel * hidden : 0),
  };
}

export interface TransformerBlockConfig {
  heads: number;
  /** Grouped-query attention (Llama 2/3); defaults to heads. */
  kvHeads?: number;
  /** SwiGLU width; defaults to 8/3·d rounded up to 32. */
  mlpHidden?: number;
  /** Sliding window (local attention); 0 = full. */
  window?: number;
  /** RoPE base (Llama 10000, the default); 0 = no positional encoding. */
  ropeTheta?: number;
  normEps?: number;
  layers?: number;
}

/** Llama's decoder layer: pre-norm attention with RoPE and a SwiGLU MLP, both residual, RMSNorm. */
export function transformerBlock(dModel: number, c: TransformerBlockConfig): Mixer {
  return preNormBlock(dModel, {
    mixer: 'attention',
    mixerOptions: {
      num_heads: c.heads,
      num_kv_heads: c.kvHeads ?? 0,
      window: c.window ?? 0,
      rope_theta: c.ropeTheta ?? 10000,
    },
    mlp: { activation: 'swiglu', hidden: c.mlpHidden },
    normEps: c.normEps,
    layers: c.layers,
  });
}
