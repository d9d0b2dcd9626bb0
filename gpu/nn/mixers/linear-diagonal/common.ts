// Pieces shared by the class-A mixers: fused gate expressions with hand-written derivatives, broadcasting
// with a gradient, the reference initializers (PyTorch's Linear default, Mamba's dt and S4D-real A), and
// option checks.

import { record } from '../../../autograd.js';
import { randn, rng, uniform } from '../../../cpu/tensor.js';
import type { Engine } from '../../../engine.js';
import { mapElementwise, zeros } from '../../../ops/elementwise.js';
import { sumToShape } from '../../../ops/reduce.js';
import { formatShape, type Tensor } from '../../../tensor.js';
import type { MixerOptions, MixerState } from '../../mixer.js';
import type { Init, ParamView } from '../../module.js';

/**
 * One elementwise kernel for a whole gate expression, with its derivative written out. `forward` is WGSL
 * in the inputs a, b (broadcasting) and the scalars p0, p1; `grads[k]` is dL/d(input k) in a, b, p0, p1
 * and `dy` (the upstream gradient). Helpers such as sigmoid_ and softplus_ come from elementwise.ts.
 */
export function fusedMap(
  name: string,
  inputs: [Tensor] | [Tensor, Tensor],
  forward: string,
  grads: [string] | [string, string],
  params: number[] = [],
): Tensor {
  const y = mapElementwise(name, forward, inputs, params);
  const upstream = inputs.length === 1 ? 'b' : 'c';
  return record(y, name, inputs, (dy) =>
    inputs.map((t, k) => {
      if (!t.requiresGrad) return null;
      const expr = grads[k].replace(/\bdy\b/g, upstream);
      return sumToShape(mapElementwise(`${name}.grad${k}`, expr, [...inputs, dy], params), t.shape);
    }),
  );
}

/** `x` repeated to `shape` (NumPy broadcasting); the gradient sums back to x's shape. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const y = mapElementwise('broadcast', 'a', [x], [], shape);
  return record(y, 'broadcast', [x], (g) => [sumToShape(g, x.shape)]);
}

/** expm1(y) as WGSL: exp(y) − 1 without cancellation near 0 (Kahan's trick), exact formula elsewhere. */
export function expm1Wgsl(y: string): string {
  const e = `exp(${y})`;
  return `select(${e} - 1.0, select((${e} - 1.0) * (${y}) / log(${e}), ${y}, ${e} == 1.0), abs(${y}) < 0.5)`;
}

/** PyTorch's nn.Linear / Conv1d default: U(±1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)). */
export function torchDefaultInit(fanIn: number): Init {
  const bound = 1 / Math.sqrt(fanIn);
  return { kind: 'uniform', low: -bound, high: bound };
}

export function normalInit(std: number): Init {
  return { kind: 'normal', std };
}

/**
 * Mamba's dt bias: dt log-uniform in [dtMin, dtMax], floored at `floor`, stored through the inverse of
 * softplus (dt + log(−expm1(−dt))) so that softplus(bias) = dt at initialization.
 */
export function dtBiasInit(dtMin: number, dtMax: number, floor = 1e-4): Init {
  return {
    kind: 'custom',
    values: (shape, seed) => {
      const u = uniform(shape, seed, 0, 1).data;
      return u.map((v) => {
        const dt = Math.max(Math.exp(v * (Math.log(dtMax) - Math.log(dtMin)) + Math.log(dtMin)), floor);
        return dt + Math.log(-Math.expm1(-dt));
      });
    },
  };
}

/** S4D-real: A_log[c, n] = log(n + 1), so A = −exp(A_log) = −(1 … N) in every channel. */
export function s4dRealInit(): Init {
  return {
    kind: 'custom',
    values: (shape) => {
      const n = shape[shape.length - 1];
      return Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.log((i % n) + 1));
    },
  };
}

/** Standard normal values divided by `normalization` (minimal-LRU's matrix_init). */
export function scaledNormalInit(normalization: number): Init {
  return { kind: 'custom', values: (shape, seed) => randn(shape, seed, 1 / normalization).data };
}

/** One uniform stream per parameter, for inits that transform U(0, 1) samples. */
export function uniformSamples(shape: readonly number[], seed: number): Float64Array {
  const next = rng(seed);
  return Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next());
}

/**
 * Negative eigenvalues (Grazzi et al., "Unlocking state-tracking in linear RNNs through negative
 * eigenvalues") are defined in the literature for Mamba's diagonal transition (2·exp(dt·A) − 1) and for
 * the delta rule; for the other class-A families asking for them is an error rather than a silent no-op.
 */
export function rejectNegativeEigenvalues(
  kind: string,
  title: string,
  options: MixerOptions,
  why: string,
): MixerOptions {
  if (options.negative_eigenvalues !== undefined) {
    if (options.negative_eigenvalues === false) {
      const { negative_eigenvalues: _, ...rest } = options;
      return rest;
    }
    throw new RangeError(`${kind}: option "negative_eigenvalues" is not defined for ${title} (${why})`);
  }
  return options;
}

/** Integer width d · factor, or an error naming the option. */
export function scaledWidth(kind: string, option: string, dModel: number, factor: number): number {
  const width = dModel * factor;
  if (!Number.isInteger(width) || width < 1) {
    throw new RangeError(
      `${kind}: option "${option}" ${factor} times d_model ${dModel} must be a positive integer width`,
    );
  }
  return width;
}

/**
 * Checks a mixer call: x is [B, T, d_model] (parallel) or [B, d_model] (step), and a carried state has
 * exactly the entries and shapes of `stateShapes(B)`. Errors name the layer (its parameter prefix).
 */
export function checkMixerCall(
  kind: string,
  p: ParamView,
  x: Tensor,
  dModel: number,
  form: 'parallel' | 'step',
  state: MixerState | undefined,
  stateShapes: (batch: number) => Record<string, number[]>,
): void {
  const where = `${kind} layer "${p.prefix}"`;
  const rank = form === 'parallel' ? 3 : 2;
  if (x.shape.length !== rank || x.shape[rank - 1] !== dModel) {
    const expected = form === 'parallel' ? `[B, T, ${dModel}]` : `[B, ${dModel}]`;
    throw new RangeError(`${where}: ${form} input must be ${expected}, got ${formatShape(x.shape)}`);
  }
  if (!state) return;
  const expected = stateShapes(x.shape[0]);
  for (const [name, shape] of Object.entries(expected)) {
    const t = state[name];
    if (!t) throw new RangeError(`${where}: state "${name}" is missing (expected ${formatShape(shape)})`);
    if (t.shape.join() !== shape.join()) {
      throw new RangeError(
        `${where}: state "${name}" must have shape ${formatShape(shape)}, got ${formatShape(t.shape)}`,
      );
    }
  }
}

/** A zero state of the given entry shapes. */
export function zeroState(engine: Engine, shapes: Record<string, number[]>): MixerState {
  return Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, zeros(engine, shape)]));
}
