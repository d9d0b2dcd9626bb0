// float64 helpers of the class-A mixer references: per-token vectors and scalar functions, so that every
// reference reads as the paper's equations inside a loop over batch rows and time.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import { erf } from '../../../ops/elementwise.defs.js';

export type RefParams = Map<string, CpuTensor>;
export type RefState = Record<string, CpuTensor>;

export const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
export const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
export const silu = (x: number) => x * sigmoid(x);
export const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
/** GELU with the tanh approximation (JAX's default, used by RecurrentGemma). */
export const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

export function param(params: RefParams, name: string): CpuTensor {
  const t = params.get(name);
  if (!t) throw new Error(`reference: missing parameter "${name}"`);
  return t;
}

/** W x (+ bias) for W: [out, in]. */
export function matvec(W: CpuTensor, x: readonly number[], bias?: CpuTensor): number[] {
  const [out, inF] = W.shape;
  return Array.from({ length: out }, (_, o) => {
    let acc = bias ? bias.data[o] : 0;
    for (let i = 0; i < inF; i++) acc += W.data[o * inF + i] * x[i];
    return acc;
  });
}

export function rmsNormVec(x: readonly number[], weight: CpuTensor, eps: number): number[] {
  const meanSquare = x.reduce((s, v) => s + v * v, 0) / x.length;
  const scale = 1 / Math.sqrt(meanSquare + eps);
  return x.map((v, i) => v * scale * weight.data[i]);
}

/** x[b, t, :] of a [B, T, C] tensor. */
export function row(x: CpuTensor, b: number, t: number): number[] {
  const [, T, C] = x.shape;
  return Array.from(x.data.subarray((b * T + t) * C, (b * T + t + 1) * C));
}

export function setRow(x: CpuTensor, b: number, t: number, values: readonly number[]): void {
  const [, T, C] = x.shape;
  x.data.set(values, (b * T + t) * C);
}

/** Row b of a [B, ...] state as a flat vector. */
export function stateRow(s: CpuTensor, b: number): number[] {
  const inner = s.data.length / s.shape[0];
  return Array.from(s.data.subarray(b * inner, (b + 1) * inner));
}

/** Builds a [B, ...inner] state from per-row vectors. */
export function stackRows(rows: number[][], inner: readonly number[]): CpuTensor {
  return cpuTensor([rows.length, ...inner], rows.flat());
}

/**
 * One step of the causal depthwise convolution: `history` holds the K−1 previous inputs (oldest first,
 * each a vector of C); returns bias + Σ_j weight[:, j] · window[j] with window = [...history, x].
 */
export function convStep(history: number[][], x: readonly number[], weight: CpuTensor, bias?: CpuTensor): number[] {
  const K = weight.shape[1];
  const window = [...history, x];
  return x.map((_, c) => {
    let acc = bias ? bias.data[c] : 0;
    for (let j = 0; j < K; j++) acc += weight.data[c * K + j] * window[j][c];
    return acc;
  });
}

/** A [B, K−1, C] conv state as per-row histories (oldest first). */
export function histories(state: CpuTensor | undefined, B: number, K: number, C: number): number[][][] {
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: K - 1 }, (_, j) =>
      state ? Array.from(state.data.subarray((b * (K - 1) + j) * C, (b * (K - 1) + j + 1) * C)) : new Array(C).fill(0),
    ),
  );
}
