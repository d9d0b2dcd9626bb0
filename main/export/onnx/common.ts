// Pieces the ONNX emitters share: the mixer-emitter contract, norms, the short convolution's step,
// zero states of the batch's size, and the generic parallel form of a recurrent mixer (an ONNX Scan
// over time of its one-token step).

import type { ParamValue } from '../../../shared/graph/schema.js';
import type { Dim, OnnxGraph } from './builder.js';

/** A state tensor of a mixer: its StateLab name and the dims after the batch ('past' grows per token). */
export interface StateSpec {
  name: string;
  dims: Dim[];
}

export type MixerStates = Record<string, string>;

/**
 * The ONNX side of gpu/nn/mixer.ts's MixerContext: one per emitted model, handed to every mixer in
 * evaluation order; `shared` maps a key to a value name a layer published for later layers (RWKV-7's
 * first-layer values: [B, T, d] in the parallel model, [B, d] in the step model).
 */
export interface OnnxContext {
  shared: Map<string, string>;
}

export interface OnnxMixer {
  states: StateSpec[];
  /** x [B, T, d] from a zero state → y [B, T, d] and the state after the last token. */
  parallel(g: OnnxGraph, x: string, context?: OnnxContext): { y: string; state: MixerStates };
  /** One token x [B, d] with the carried state → y [B, d] and the next state. */
  step(g: OnnxGraph, x: string, state: MixerStates, context?: OnnxContext): { y: string; state: MixerStates };
}

/** `w('q_proj.weight')` registers the layer's parameter as an initializer and returns its value name. */
export type WeightOf = (name: string) => string;

/**
 * For layers whose exported form uses constants derived from parameters (S4D's discretization, the LRU's
 * λ): `read` gives a parameter's values, `derived` registers a float64-computed constant (rounded to f32)
 * as an initializer under the layer's prefix.
 */
export interface ParamAccess {
  read(name: string): { shape: readonly number[]; data: Float32Array };
  derived(name: string, shape: number[], values: ArrayLike<number>): string;
}

export type OnnxMixerFactory = (config: Record<string, ParamValue>, w: WeightOf, access: ParamAccess) => OnnxMixer;

export function rmsNorm(g: OnnxGraph, x: string, weight: string, eps: number): string {
  const meanSquare = g.reduceMean(g.mul(x, x), [-1], true);
  return g.mul(g.div(x, g.sqrt(g.addScalar(meanSquare, eps))), weight);
}

/** x / sqrt(Σx² + eps) over the last axis (the delta rule's q and k). */
export function l2Normalize(g: OnnxGraph, x: string, eps = 1e-6): string {
  return g.div(x, g.sqrt(g.addScalar(g.reduceSum(g.mul(x, x), [-1], true), eps)));
}

/** [B, ...dims] zeros, B taken from `like`'s first dim. */
export function zerosLike(g: OnnxGraph, like: string, dims: number[]): string {
  const batch = g.slice(g.shape(like), 0, 0, 1);
  const shape = g.concat([batch, g.ints(dims)], 0);
  return g.one('ConstantOfShape', [shape]);
}

/**
 * One step of the causal depthwise convolution: `history` [B, K−1, C] (oldest first) and x [B, C] →
 * y = bias + Σ_j W[:, j] window[j] and the next history.
 */
export function shortConvStep(
  g: OnnxGraph,
  x: string,
  history: string,
  weight: string,
  taps: number,
  bias?: string,
): { y: string; state: string } {
  const window = g.concat([history, g.unsqueeze(x, [1])], 1); // [B, K, C]
  let y = g.reduceSum(g.mul(window, g.transposed(weight)), [1]); // Wᵀ [K, C]
  if (bias) y = g.add(y, bias);
  return { y, state: g.slice(window, 1, 1, taps) };
}

/**
 * The parallel form of a recurrent mixer: zero states, then an ONNX Scan over time whose body is the
 * mixer's own one-token step — the same equations, so the step graph fed token by token must agree.
 */
export function scanParallel(
  g: OnnxGraph,
  x: string,
  states: StateSpec[],
  step: OnnxMixer['step'],
): { y: string; state: MixerStates } {
  const initial = states.map((s) => zerosLike(g, x, s.dims as number[]));
  const names = states.map((s) => s.name);
  const result = g.scan('recurrence', initial, [x], 1, (body, carried, [xt]) => {
    const out = step(body, xt, Object.fromEntries(names.map((n, i) => [n, carried[i]])));
    return { states: names.map((n) => out.state[n]), outputs: [out.y] };
  });
  return { y: result.outputs[0], state: Object.fromEntries(names.map((n, i) => [n, result.states[i]])) };
}

/** Raises a clear error for an option value the ONNX emitter does not handle. */
export function num(config: Record<string, ParamValue>, key: string): number {
  const v = config[key];
  if (typeof v !== 'number') throw new Error(`ONNX export: option "${key}" is ${String(v)}, expected a number`);
  return v;
}
