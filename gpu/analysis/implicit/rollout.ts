// Attribution rollout across layers (Abnar & Zuidema 2020, as Zimerman et al. apply it to implicit
// attention): each layer's token-mixing matrix M_l (the mean over heads/channels of |A|) is mixed with
// the identity for the residual stream, Â_l = (1 − r)·M̂_l + r·I with M̂_l row-normalized, and the layers
// compose as R = Â_L ⋯ Â_1. Row t of R says how much each input token contributes, through all mixer
// layers, to position t. Rows of R sum to 1.

/** Rows divided by their sums (an all-zero row becomes the identity row: the token only sees itself). */
export function rowNormalize(M: Float64Array, T: number): Float64Array {
  const out = new Float64Array(T * T);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let s = 0; s < T; s++) sum += M[t * T + s];
    if (!(sum > 0)) out[t * T + t] = 1;
    else for (let s = 0; s < T; s++) out[t * T + s] = M[t * T + s] / sum;
  }
  return out;
}

export function matmulSquare(A: Float64Array, B: Float64Array, T: number): Float64Array {
  const C = new Float64Array(T * T);
  for (let i = 0; i < T; i++)
    for (let k = 0; k < T; k++) {
      const a = A[i * T + k];
      if (a === 0) continue;
      for (let j = 0; j < T; j++) C[i * T + j] += a * B[k * T + j];
    }
  return C;
}

/** layers: per layer (input to output order) a non-negative [T, T] mixing matrix. */
export function rollout(layers: readonly Float64Array[], T: number, residual = 0.5): Float64Array {
  if (!(residual >= 0 && residual <= 1)) throw new RangeError(`rollout: residual weight ${residual} must be in [0, 1]`);
  let R = rowNormalize(
    Float64Array.from({ length: T * T }, (_, i) => (i % (T + 1) === 0 ? 1 : 0)),
    T,
  );
  for (const M of layers) {
    const mixed = rowNormalize(M, T).map((v, i) => (1 - residual) * v + (i % (T + 1) === 0 ? residual : 0));
    R = matmulSquare(mixed, R, T);
  }
  return R;
}
