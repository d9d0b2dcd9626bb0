// The contract every sequence mixer (LSTM, minGRU, GLA, DeltaNet, attention, …) fulfils, and the
// registry the graph editor's node catalogue is generated from. A mixer maps hidden states
// [B, T, d_model] to [B, T, d_model] in a parallel (training) form, and offers a step form (one token,
// carried state) that must agree with it.

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

/** Describes one option of a mixer (shown in the node inspector, validated before compiling). */
export interface OptionSpec {
  name: string;
  type: 'int' | 'float' | 'bool' | 'enum';
  default: number | boolean | string;
  min?: number;
  max?: number;
  choices?: string[];
  help: string;
}

export type MixerOptions = Record<string, number | boolean | string>;

export interface Mixer {
  /** Registry key, e.g. "gla". */
  kind: string;
  /** Parameters relative to the mixer's prefix (e.g. `q_proj.weight`). */
  params(): ParamSpec[];
  /** Parallel form over a whole sequence. x: [B, T, d_model]. */
  forward(p: ParamView, x: Tensor, options?: { initialState?: MixerState; returnState?: boolean }): MixerOutput;
  /** One token with carried state. x: [B, d_model]. */
  step(p: ParamView, x: Tensor, state: MixerState): { y: Tensor; state: MixerState };
  initialState(engine: Engine, batch: number): MixerState;
  /** Recurrent floats per sequence (by formula; attention reports its KV cache per token). */
  stateSize(): number;
  /** Forward FLOPs per token (matmuls counted as 2·m·n). */
  flopsPerToken(): number;
}

export interface MixerFactory {
  kind: string;
  title: string;
  family: 'linear-diagonal' | 'linear-matrix' | 'delta-rule' | 'attention' | 'nonlinear-rnn';
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
  const resolved: MixerOptions = {};
  for (const spec of factory.options) {
    const value = given[spec.name] ?? spec.default;
    const fail = (why: string) => {
      throw new RangeError(`${where}: option "${spec.name}" ${why} (got ${JSON.stringify(value)})`);
    };
    if (spec.type === 'int' && !Number.isInteger(value)) fail('must be an integer');
    if (spec.type === 'float' && typeof value !== 'number') fail('must be a number');
    if (spec.type === 'bool' && typeof value !== 'boolean') fail('must be true or false');
    if (spec.type === 'enum' && !spec.choices?.includes(String(value))) fail(`must be one of ${spec.choices?.join(', ')}`);
    if (typeof value === 'number') {
      if (spec.min !== undefined && value < spec.min) fail(`must be at least ${spec.min}`);
      if (spec.max !== undefined && value > spec.max) fail(`must be at most ${spec.max}`);
    }
    resolved[spec.name] = value;
  }
  for (const name of Object.keys(given)) {
    if (!factory.options.some((o) => o.name === name)) {
      throw new RangeError(`${where}: unknown option "${name}" for ${factory.kind}`);
    }
  }
  return resolved;
}
