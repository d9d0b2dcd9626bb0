// The part of the chunked generalized delta rule that depends on each chunk's own tokens only
// (notation of dplr-chunk.ts): the chunk layout, the cumulative decay γ and its factors, the pair
// matrices, the triangular solve and the WY-style W and U. The forward computes it once; the backward
// recomputes it instead of keeping ~30 tensors of the input's size per layer alive until the step ends.
// Runs without autograd (the op's backward is written out in dplr-chunk-backward.ts).

import type { Engine } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { exp, mul, neg, sub, zeros } from '../elementwise.js';
import { matmul } from '../matmul.js';
import { concat, permute, reshape, slice } from '../shape.js';
import type { DplrInputs } from './dplr.js';
import { strictlyLowerMask, unitLowerInverse } from './dplr-chunk-solve.js';

export interface ChunkDims {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  /** Chunk length, chunks per sequence, and the padded length NT·C. */
  C: number;
  NT: number;
  padded: number;
}

/**
 * [B, T, H, w] → [B, H, NT, C, w]. Padded tokens are zeros everywhere (logw = 0 included), which makes
 * them identity transitions that add nothing to the state; their gradients are dropped by `fromChunks`.
 */
export function toChunks(engine: Engine, d: ChunkDims, t: Tensor, w: number): Tensor {
  const full = d.padded > d.T ? concat([t, zeros(engine, [d.B, d.padded - d.T, d.H, w])], 1) : t;
  return permute(reshape(full, [d.B, d.NT, d.C, d.H, w]), [0, 3, 1, 2, 4]);
}

/** [B, H, NT, C, w] → [B, T, H, w] (the padded tokens dropped). */
export function fromChunks(d: ChunkDims, t: Tensor, w: number): Tensor {
  const flat = reshape(permute(t, [0, 2, 3, 1, 4]), [d.B, d.padded, d.H, w]);
  return d.padded > d.T ? slice(flat, 1, 0, d.T) : flat;
}

/** [C, C] ones on and below the diagonal (j ≤ i). */
export function lowerMask(C: number): Float32Array {
  const mask = new Float32Array(C * C);
  for (let i = 0; i < C; i++) for (let j = 0; j <= i; j++) mask[i * C + j] = 1;
  return mask;
}

export interface ChunkLocal {
  /** The inputs in chunk layout [B, H, NT, C, ·]. */
  q: Tensor;
  k: Tensor;
  a: Tensor;
  b: Tensor;
  v: Tensor;
  /** e^{γ}, e^{γ⁻}, e^{−γ}, e^{γ_C − γ} [B, H, NT, C, K]; e^{γ_C} [B, H, NT, 1, K]. */
  eGamma: Tensor;
  eBefore: Tensor;
  growth: Tensor;
  carry: Tensor;
  eLast: Tensor;
  aTilde: Tensor;
  qTilde: Tensor;
  bBar: Tensor;
  kBar: Tensor;
  bHat: Tensor;
  kHat: Tensor;
  /** [B, H, NT, C, C]: Q^{b}, Q^{k} (lower), A^{ak} (strictly lower), L⁻¹ = (I − A^{ab})⁻¹. */
  qb: Tensor;
  qk: Tensor;
  aak: Tensor;
  lInv: Tensor;
  /** W = L⁻¹Ã [·, C, K]; X = A^{ak}V and U = L⁻¹X [·, C, V]. */
  w: Tensor;
  x: Tensor;
  u: Tensor;
  /** The [C, C] masks and the lower ones (the chunk cumsum's matrix). */
  lower: Tensor;
  strict: Tensor;
}

export function chunkLocal(engine: Engine, d: ChunkDims, x: DplrInputs): ChunkLocal {
  const { C, K, V } = d;
  const [q, k, a, b, logw] = [x.q, x.k, x.a, x.b, x.logw].map((t) => toChunks(engine, d, t, K));
  const v = toChunks(engine, d, x.v, V);
  const lower = engine.fromArray(lowerMask(C), [C, C]);
  const strict = engine.fromArray(strictlyLowerMask(C), [C, C]);
  const gamma = matmul(lower, logw); // the inclusive cumulative sum over each chunk's rows
  const gammaLast = slice(gamma, 3, C - 1, C);
  const negGamma = neg(gamma);
  const before = sub(gamma, logw);
  const toEnd = sub(gammaLast, gamma);
  const local = {
    q,
    k,
    a,
    b,
    v,
    eGamma: exp(gamma),
    eBefore: exp(before),
    growth: exp(negGamma),
    carry: exp(toEnd),
    eLast: exp(gammaLast),
    lower,
    strict,
  };
  for (const t of [logw, gamma, gammaLast, negGamma, before, toEnd]) t.release();
  const aTilde = mul(a, local.eBefore);
  const qTilde = mul(q, local.eGamma);
  const bBar = mul(b, local.growth);
  const kBar = mul(k, local.growth);
  const masked = (left: Tensor, right: Tensor, mask: Tensor) => {
    const full = matmul(left, right, { transB: true });
    const out = mul(full, mask);
    full.release();
    return out;
  };
  const aab = matmul(aTilde, bBar, { transB: true }); // the solve reads its strictly lower part only
  const lInv = unitLowerInverse(aab);
  aab.release();
  const aak = masked(aTilde, kBar, strict);
  const xv = matmul(aak, v);
  return {
    ...local,
    aTilde,
    qTilde,
    bBar,
    kBar,
    bHat: mul(b, local.carry),
    kHat: mul(k, local.carry),
    qb: masked(qTilde, bBar, lower),
    qk: masked(qTilde, kBar, lower),
    aak,
    lInv,
    w: matmul(lInv, aTilde),
    x: xv,
    u: matmul(lInv, xv),
  };
}

/** Releases every tensor of a `ChunkLocal` except those named in `keep`. */
export function releaseLocal(local: ChunkLocal, keep: (keyof ChunkLocal)[] = []): void {
  for (const [name, t] of Object.entries(local) as [keyof ChunkLocal, Tensor][]) if (!keep.includes(name)) t.release();
}
