// Modules as plain data plus functions (Equinox/NNX style): a model is a flat map from HF-style names
// (`layers.3.mixer.q_proj.weight`) to tensors; a module declares the parameters it needs and is a
// function of (parameters, inputs, state). Checkpoints, exports and analyses all read the same names.

import { parameter } from '../autograd.js';
import { randn, rng, uniform, cpuTensor, type CpuTensor } from '../cpu/tensor.js';
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';

export type Init =
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'constant'; value: number }
  /** Anything else a reference implementation does (ring init, S4D-Lin, dt inverse-softplus…). */
  | { kind: 'custom'; values: (shape: readonly number[], seed: number) => Float64Array };

export interface ParamSpec {
  /** Name relative to the module's prefix, e.g. `q_proj.weight`. */
  name: string;
  shape: number[];
  init: Init;
  /** Excluded from weight decay (norm gains, biases, decay rates), as in the reference recipes. */
  noDecay?: boolean;
}

/** The flat parameter map of a model. */
export type ParamMap = Map<string, Tensor>;

/** A module's view of the parameter map: names are resolved under its prefix. */
export interface ParamView {
  prefix: string;
  get(name: string): Tensor;
  has(name: string): boolean;
}

export function paramView(params: ParamMap, prefix: string): ParamView {
  const full = (name: string) => (prefix ? `${prefix}.${name}` : name);
  return {
    prefix,
    get(name) {
      const tensor = params.get(full(name));
      if (!tensor) throw new Error(`missing parameter "${full(name)}"`);
      return tensor;
    },
    has: (name) => params.has(full(name)),
  };
}

export function prefixed(prefix: string, specs: ParamSpec[]): ParamSpec[] {
  return specs.map((s) => ({ ...s, name: prefix ? `${prefix}.${s.name}` : s.name }));
}

/** FNV-1a: a stable per-name seed, so adding a layer never changes how the others are initialized. */
export function nameSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** The float64 initial values of one parameter: identical on every host for the same seed. */
export function initialValues(spec: ParamSpec, seed: number): CpuTensor {
  const s = nameSeed(seed, spec.name);
  const init = spec.init;
  switch (init.kind) {
    case 'normal':
      return randn(spec.shape, s, init.std);
    case 'uniform':
      return uniform(spec.shape, s, init.low, init.high);
    case 'constant':
      return cpuTensor(spec.shape, new Float64Array(spec.shape.reduce((a, b) => a * b, 1)).fill(init.value));
    case 'custom':
      return cpuTensor(spec.shape, init.values(spec.shape, s));
  }
}

/** Creates every parameter on the GPU, kept outside any tidy scope, marked trainable. */
export function createParams(engine: Engine, specs: ParamSpec[], seed: number): ParamMap {
  const params: ParamMap = new Map();
  for (const spec of specs) {
    if (params.has(spec.name)) throw new Error(`duplicate parameter name "${spec.name}"`);
    const values = initialValues(spec, seed);
    const tensor = engine.keep(engine.fromArray(values.data, spec.shape));
    params.set(spec.name, parameter(tensor, spec.name));
  }
  return params;
}

export function countParams(specs: ParamSpec[]): number {
  return specs.reduce((total, s) => total + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** A helper for custom inits that need their own random stream. */
export function seededStream(seed: number): () => number {
  return rng(seed);
}
