// Implicit attention (Zimerman, Ali & Wolf, "Explaining Modern Gated-Linear RNNs via a Unified Implicit
// Attention Formulation", ICLR 2025; evals.md §5), in float64 on the CPU for one sequence of one layer.
//
// A linear recurrent layer with data-dependent gates is, for the sequence it actually saw, a linear
// map from its value stream to its outputs: per unit u (a head of a matrix state, a channel of a
// diagonal one) and per value position s, the output at token t is
//     o_u[t] = Σ_s A_u[t, s] v_u[s],       y[t] = post_t(o_1[t], …, o_U[t])
// where A_u is the T×T implicit attention matrix and post_t the layer's token-wise output path (gates,
// norms, output projection). Every family here writes A as the impulse response of its recurrence in
// key space: a token's write key w_s, carried forward by the transitions G_{s+1} … G_t (a decay, a
// Householder reflection, …) and read by the query q_t:
//     A_u[t, s] = q_t · (G_tᵀ ⋯ G_{s+1}ᵀ w_s)          (s ≤ t, 0 above the diagonal)
// computed by running the transitions forward from each write — the same operations as the recurrence,
// so nothing exponentiates a positive cumulative sum. `reconstruct` applies the matrices to the values
// and the output path, which must give the layer's own output: the exactness check of every family.
//
// Nonlinear RNNs have no such matrix: for them `method` is 'jacobian' and A_u[t, s] is a Jacobian-based
// attribution (see jacobian.ts), with no values and no reconstruction.

export type Vec = Float64Array | number[];

export interface ImplicitLayer {
  kind: string;
  method: 'exact' | 'jacobian';
  /** What one matrix belongs to. */
  unit: 'head' | 'channel' | 'layer';
  count: number;
  /** Tokens (rows). */
  T: number;
  /** Value positions (columns): T, or T·n for DeltaProduct's n Householder steps per token. */
  columns: number;
  /** Token of each column (for DeltaProduct several columns share a token). */
  columnToken(s: number): number;
  /** A_u, row-major [T, columns]. */
  matrix(u: number): Float64Array;
  /** Exact layers: value width per unit, the values V_u [columns, Dv], and the output path. */
  valueWidth?: number;
  values?(u: number): Float64Array;
  post?(t: number, outputs: Float64Array[]): Vec;
  /** Per token and unit, the log of the state's decay (mean over the unit's key channels), where defined. */
  logDecay?: Float64Array;
  /** What the matrix maps, in words (written into the analysis). */
  description: string;
}

/**
 * The float64 twin of the compiler's per-evaluation MixerContext (gpu/nn/mixer.ts), for the layers of one
 * analysed sequence built in evaluation order: a layer publishes per-token values [T, ·] that later layers
 * of the same forward read, under the key its family owns (RWKV-7's value residual: 'rwkv7.v_first').
 * Builders called without one treat each layer on its own.
 */
export interface ImplicitContext {
  shared: Map<string, Float64Array>;
}

/** A fresh context for the layers of one analysed sequence. */
export function implicitContext(): ImplicitContext {
  return { shared: new Map() };
}

/** How a unit's key-space contributions evolve: `apply(t, vec)` maps vec ← G_tᵀ vec in place. */
export interface KeySpaceUnit {
  K: number;
  /** Write key of value position s (already including β, Δ, … scales). */
  write(s: number): Vec;
  /** Query read at token t (already scaled). */
  query(t: number): Vec;
  /** Transition applied at value position s (before its write) to every earlier contribution. */
  apply(s: number, vec: Float64Array): void;
  /** Extra diagonal term (a skip connection D_u · v_t), if any. */
  skip?: number;
}

/**
 * A_u[t, s] by impulse responses. `readAfter[t]` is the last value position read by token t (t for one
 * position per token). Cost O(columns · T · K).
 */
export function keySpaceMatrix(
  unit: KeySpaceUnit,
  T: number,
  columns: number,
  readAfter: (t: number) => number,
): Float64Array {
  const A = new Float64Array(T * columns);
  const tokenOf = new Int32Array(columns).fill(-1);
  for (let t = 0; t < T; t++) tokenOf[readAfter(t)] = t;
  const vec = new Float64Array(unit.K);
  for (let s = 0; s < columns; s++) {
    vec.set(unit.write(s));
    for (let r = s; r < columns; r++) {
      if (r > s) unit.apply(r, vec);
      const t = tokenOf[r];
      if (t < 0) continue;
      const q = unit.query(t);
      let acc = 0;
      for (let k = 0; k < unit.K; k++) acc += q[k] * vec[k];
      A[t * columns + s] = acc;
    }
  }
  if (unit.skip) for (let t = 0; t < T; t++) A[t * columns + readAfter(t)] += unit.skip;
  return A;
}

export interface LayerSummary {
  /** The kept units' matrices in token view [T, T] (DeltaProduct's steps of a token summed). */
  kept: Map<number, Float64Array>;
  /** Mean over units of |A_u| in token view [T, T]. */
  meanAbs: Float64Array;
  /** Exact layers: the output recomputed from the matrices, values and output path [T, d]. */
  reconstruction: Float64Array | null;
}

/** One pass over the units (each matrix is computed once): kept matrices, mean |A|, reconstruction. */
export function summarizeLayer(layer: ImplicitLayer, keep: readonly number[] = []): LayerSummary {
  const { T, columns, count } = layer;
  const exact = layer.method === 'exact' && !!layer.values && !!layer.post && !!layer.valueWidth;
  const Dv = layer.valueWidth ?? 0;
  const outputs = exact
    ? Array.from({ length: T }, () => Array.from({ length: count }, () => new Float64Array(Dv)))
    : [];
  const kept = new Map<number, Float64Array>();
  const meanAbs = new Float64Array(T * T);
  for (let u = 0; u < count; u++) {
    const A = layer.matrix(u);
    if (keep.includes(u)) kept.set(u, tokenMatrix(layer, A));
    const abs = tokenMatrix(layer, A, true);
    for (let i = 0; i < T * T; i++) meanAbs[i] += abs[i] / count;
    if (!exact) continue;
    const V = layer.values!(u);
    for (let t = 0; t < T; t++) {
      const o = outputs[t][u];
      for (let s = 0; s < columns; s++) {
        const a = A[t * columns + s];
        if (a === 0) continue;
        for (let j = 0; j < Dv; j++) o[j] += a * V[s * Dv + j];
      }
    }
  }
  let reconstruction: Float64Array | null = null;
  if (exact) {
    const rows = outputs.map((o, t) => Array.from(layer.post!(t, o)));
    const d = rows[0]?.length ?? 0;
    reconstruction = new Float64Array(T * d);
    rows.forEach((r, t) => reconstruction!.set(r, t * d));
  }
  return { kept, meanAbs, reconstruction };
}

/** The layer's output recomputed from its matrices, values and output path: [T, d]. */
export function reconstruct(layer: ImplicitLayer): Float64Array {
  const { reconstruction } = summarizeLayer(layer);
  if (!reconstruction)
    throw new Error(`implicit attention: ${layer.kind} is ${layer.method}-based and has no reconstruction`);
  return reconstruction;
}

/** Token-by-token view of a [T, columns] matrix: columns of the same token summed (identity when columns = T). */
export function tokenMatrix(layer: ImplicitLayer, A: Float64Array, abs = false): Float64Array {
  const { T, columns } = layer;
  if (columns === T && !abs) return A;
  const out = new Float64Array(T * T);
  for (let t = 0; t < T; t++)
    for (let s = 0; s < columns; s++) {
      const a = A[t * columns + s];
      out[t * T + layer.columnToken(s)] += abs ? Math.abs(a) : a;
    }
  return out;
}

// ------------------------------------------------------------------ small float64 helpers

export function dot(a: Vec, b: Vec): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i] * b[i];
  return acc;
}

/** Row t of a [T, n] row-major array, as a plain vector (what the references' helpers take). */
export function rowOf(x: Float64Array, t: number, n: number): number[] {
  return Array.from(x.subarray(t * n, (t + 1) * n));
}

/** A per-token sequence of vectors as one [T, n] array. */
export function stack(rows: readonly Vec[]): Float64Array {
  const n = rows[0]?.length ?? 0;
  const out = new Float64Array(rows.length * n);
  rows.forEach((r, t) => out.set(r, t * n));
  return out;
}

/** Columns [from, from + n) of every row of a [T, width] array: one unit's slice. */
export function columnsOf(x: Float64Array, T: number, width: number, from: number, n: number): Float64Array {
  const out = new Float64Array(T * n);
  for (let t = 0; t < T; t++) out.set(x.subarray(t * width + from, t * width + from + n), t * n);
  return out;
}
