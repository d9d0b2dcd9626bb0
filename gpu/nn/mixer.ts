// The contract every sequence mixer (LSTM, minGRU, GLA, DeltaNet, attention, …) fulfils, and the
// registry the graph editor's node catalogue is generated from. A mixer maps hidden states
// [B, T, d_model] to [B, T, d_model] in a parallel (training) form, and offers a step form (one token,
// carried state) that must agree with it.

import { resolveParams, type OptionSpec } from '../../shared/graph/catalogue.js';
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';
import type { ParamSpec, ParamView } from './module.js';

/** A mixer's recurrent state: named tensors, each with a leading batch dimension. */
export type MixerState = Record<string, Tensor>;

export interface MixerOutput {
  y: Tensor;
  /** The state after the last token (returned when asked for, or always by `step`). */
  state?: MixerState;
}

export type { OptionSpec };

export type MixerOptions = Record<string, number | boolean | string>;

/**
 * What the graph compiler hands to every mixer of one model evaluation (one parallel forward, or one
 * step), in evaluation order; a fresh context per call. `shared` carries tensors a layer publishes for the
 * later layers of the same call, keyed by a name the publishing family owns — RWKV-7's value residual, where
 * the first layer's values reach every later layer ('rwkv7.v_first'). Values are per token ([B, T, ·] in
 * parallel, [B, 1, ·] or [B, ·] in a step), never state carried across tokens. Mixers that need nothing
 * ignore it; called without one, a mixer behaves as if it were the only layer of the model.
 */
export interface MixerContext {
  shared: Map<string, Tensor>;
}

/** A fresh context for one model evaluation. */
export function mixerContext(): MixerContext {
  return { shared: new Map() };
}

export interface Mixer {
  /** Registry key, e.g. "gla". */
  kind: string;
  /** Parameters relative to the mixer's prefix (e.g. `q_proj.weight`). */
  params(): ParamSpec[];
  /** Parallel form over a whole sequence. x: [B, T, d_model]. */
  forward(
    p: ParamView,
    x: Tensor,
    options?: { initialState?: MixerState; returnState?: boolean; context?: MixerContext },
  ): MixerOutput;
  /** One token with carried state. x: [B, d_model]. */
  step(p: ParamView, x: Tensor, state: MixerState, context?: MixerContext): { y: Tensor; state: MixerState };
  initialState(engine: Engine, batch: number): MixerState;
  /** Recurrent floats per sequence (by formula; attention reports its KV cache per token). */
  stateSize(): number;
  /** Forward FLOPs per token (matmuls counted as 2·m·n). */
  flopsPerToken(): number;
}

export interface MixerFactory {
  kind: string;
  title: string;
  family: 'linear-diagonal' | 'linear-matrix' | 'delta-rule' | 'attention' | 'nonlinear-rnn' | 'convolution';
  description: string;
  options: OptionSpec[];
  /** Validates options (throwing errors that name the option) and builds the mixer. */
  create(dModel: number, options: MixerOptions): Mixer;
}

const registry = new Map<string, MixerFactory>();

export function registerMixer(factory: MixerFactory): void {
  if (registry.has(factory.kind)) throw new Error(`mixer "${factory.kind}" is registered twice`);
  registry.set(factory.kind, factory);
}

export function mixerFactory(kind: string): MixerFactory {
  const factory = registry.get(kind);
  if (!factory) throw new Error(`unknown mixer kind "${kind}" (known: ${[...registry.keys()].sort().join(', ')})`);
  return factory;
}

export function registeredMixers(): MixerFactory[] {
  return [...registry.values()];
}

/** Fills defaults and checks ranges; errors name the mixer and the option. */
export function resolveOptions(factory: MixerFactory, given: MixerOptions, where = factory.kind): MixerOptions {
  const { values, problems } = resolveParams(factory.options, given);
  if (problems.length) {
    const first = problems[0];
    throw new RangeError(`${where}: option "${first.field}" ${first.message}`);
  }
  return values;
}
