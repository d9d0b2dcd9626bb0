// float64 helpers of the class-B mixer references: one token of one head's matrix state, the feature
// maps, norms and rotary on plain vectors — so every reference reads as its paper's equations inside a
// loop over batch rows, tokens and heads.

import { softplus } from '../linear-diagonal/ref-utils.js';

/**
 * One token of S ← Diag(a) S + k vᵀ for one head (S: [K, V] flat, updated in place), then returns
 * scale · Sᵀ q. `a[d]` is the decay of key channel d (all ones without decay).
 */
export function glaTokenRef(
  S: Float64Array,
  q: readonly number[],
  k: readonly number[],
  v: readonly number[],
  a: readonly number[],
  scale: number,
): number[] {
  const K = k.length;
  const V = v.length;
  for (let d = 0; d < K; d++) for (let c = 0; c < V; c++) S[d * V + c] = a[d] * S[d * V + c] + k[d] * v[c];
  return Array.from({ length: V }, (_, c) => {
    let acc = 0;
    for (let d = 0; d < K; d++) acc += S[d * V + c] * q[d];
    return scale * acc;
  });
}

/** Σ_d q[d] S[d, :] (the read-out without an update). */
export function readRef(S: Float64Array, q: readonly number[], V: number, scale: number): number[] {
  return Array.from({ length: V }, (_, c) => {
    let acc = 0;
    for (let d = 0; d < q.length; d++) acc += S[d * V + c] * q[d];
    return scale * acc;
  });
}

export const logsigmoid = (x: number) => -softplus(-x);
export const elu1 = (x: number) => (x > 0 ? x + 1 : Math.exp(x));

/** (x − mean) / sqrt(var + eps) ⊙ weight + bias over the whole vector. */
export function layerNormVec(x: readonly number[], eps: number, weight?: readonly number[], bias?: readonly number[]) {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * inv * (weight?.[i] ?? 1) + (bias?.[i] ?? 0));
}

/** Rotary embedding of one head vector at position p (half-split pairs, base 10000). */
export function rotateRef(x: readonly number[], p: number, base = 10000): number[] {
  const half = x.length / 2;
  const y = x.slice();
  for (let f = 0; f < half; f++) {
    const theta = p * Math.pow(base, (-2 * f) / x.length);
    y[f] = x[f] * Math.cos(theta) - x[f + half] * Math.sin(theta);
    y[f + half] = x[f] * Math.sin(theta) + x[f + half] * Math.cos(theta);
  }
  return y;
}

/** Head h of a vector of H·D values. */
export function head(x: readonly number[], h: number, D: number): number[] {
  return x.slice(h * D, (h + 1) * D);
}

/** A state row [H, ...] of batch b as per-head float64 matrices. */
export function headStates(state: { data: Float64Array } | undefined, b: number, H: number, size: number) {
  return Array.from({ length: H }, (_, h) => {
    const S = new Float64Array(size);
    if (state) S.set(state.data.subarray((b * H + h) * size, (b * H + h + 1) * size));
    return S;
  });
}
