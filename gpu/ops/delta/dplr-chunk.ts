// The generalized delta rule with a diagonal-plus-low-rank transition (RWKV-7; dplr.ts has the fused
// recurrent form, dplr-chunk.ref.ts the derivation) in its chunked, training form:
//   S_t = Diag(e^{logw_t}) S_{t−1} + b_t (a_tᵀ S_{t−1}) + k_t v_tᵀ,   o_t = S_tᵀ q_t.
// Per chunk of C tokens, with γ the chunk-local cumulative log decay and the WY-style representation
// P = W S₀ + U of the chunk's "removal" reads p_i = S_{i−1}ᵀ a_i:
//   Ã = a ⊙ e^{γ⁻}, Q̃ = q ⊙ e^{γ}, B̄ = b ⊙ e^{−γ}, K̄ = k ⊙ e^{−γ}, B̂ = b ⊙ e^{γ_C−γ}, K̂ = k ⊙ e^{γ_C−γ}
//   (aTilde, qTilde, bBar, kBar, bHat, kHat below; γ⁻ = γ − logw, the decay up to just before the token)
//   A^{ab} = Ã B̄ᵀ, A^{ak} = Ã K̄ᵀ (strictly lower),  Q^{b} = Q̃ B̄ᵀ, Q^{k} = Q̃ K̄ᵀ (lower)
//   L⁻¹ = (I − A^{ab})⁻¹ (f32 forward substitution, dplr-chunk-solve.ts),  W = L⁻¹ Ã,  U = L⁻¹ A^{ak} V
//   S_{n+1} = Diag(e^{γ_C}) S_n + B̂ᵀ (W S_n) + (B̂ᵀ U + K̂ᵀ V)       (sequential over chunks, dplr-chunk-scan.ts)
//   P = W S_n + U,   O = Q̃ S_n + Q^{b} P + Q^{k} V                    (parallel over chunks)
// Everything but the solve and the scan is a batched matmul or an elementwise op of the engine, so the
// backward is theirs (autograd), with the two custom ops' adjoints written out in their files.
// Numerics: Q̃ B̄ᵀ factors e^{γ_i − γ_j} as e^{γ_i}·e^{−γ_j}, each term of the product keeps its relative
// precision in f32 as long as e^{−γ} stays in range over a chunk: C·|min logw| ≤ 40 (RWKV-7's floor
// logw ≥ −e^{−½} ≈ −0.6065 gives at most 39 at C = 64, 19 at the default 32). The chunk-local γ never
// accumulates across chunks, so long sequences add no error beyond the state passing itself.

import type { Engine } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { record } from '../../autograd.js';
import { add, exp, mul, neg, sub, zeros } from '../elementwise.js';
import { matmul } from '../matmul.js';
import { concat, permute, reshape, slice } from '../shape.js';
import { checkDplrInputs, type DplrInputs } from './dplr.js';
import { chunkStateScan } from './dplr-chunk-scan.js';
import { strictlyLowerMask, unitLowerInverse } from './dplr-chunk-solve.js';

const OP = 'chunkDplrDeltaRule';
export const DPLR_CHUNK_SIZES = [16, 32, 64];
export const DEFAULT_DPLR_CHUNK = 32;

export interface ChunkDplrOptions {
  /** [B, H, K, V]; absent = zeros. */
  initialState?: Tensor;
  /** Tokens per chunk (16, 32 or 64); the result does not depend on it beyond rounding. */
  chunkSize?: number;
}

/** [C, C] ones on and below the diagonal (j ≤ i). */
function lowerMask(C: number): Float32Array {
  const mask = new Float32Array(C * C);
  for (let i = 0; i < C; i++) for (let j = 0; j <= i; j++) mask[i * C + j] = 1;
  return mask;
}

/** γ = the inclusive cumulative sum over each chunk's C rows of logw [..., C, K] (a product with the lower ones). */
function chunkCumsum(engine: Engine, logw: Tensor, C: number): Tensor {
  const ones = engine.fromArray(lowerMask(C), [C, C]);
  const gamma = engine.noGrad(() => matmul(ones, logw));
  // Recorded by hand so that the backward computes no gradient for the constant ones.
  return record(gamma, `${OP}.cumsum`, [logw], (g) => [matmul(ones, g, { transA: true })]);
}

/**
 * S_t = Diag(e^{logw_t}) S_{t−1} + b_t (a_tᵀ S_{t−1}) + k_t v_tᵀ, o_t = S_tᵀ q_t over whole sequences,
 * chunk by chunk (same interface and result as dplrDeltaRule). q, k, logw, a, b [B,T,H,K]; v [B,T,H,V].
 * Differentiable in every input and the initial state, through o and the final state. Requires
 * chunkSize·|logw| ≤ 40 per token (see the header; RWKV-7's decays always qualify).
 */
export function chunkDplrDeltaRule(x: DplrInputs, options: ChunkDplrOptions = {}): { o: Tensor; finalState: Tensor } {
  const { B, T, H, K, V } = checkDplrInputs(x, options.initialState, OP);
  const C = options.chunkSize ?? DEFAULT_DPLR_CHUNK;
  if (!DPLR_CHUNK_SIZES.includes(C)) {
    throw new RangeError(`${OP}: chunkSize must be one of ${DPLR_CHUNK_SIZES.join(', ')} (got ${C})`);
  }
  const engine = x.q.engine;
  for (const t of [x.k, x.v, x.logw, x.a, x.b, options.initialState]) {
    if (t && t.engine !== engine) throw new Error(`${OP}: inputs live on different GPU devices`);
  }
  const NT = Math.ceil(T / C);
  const padded = NT * C;
  // [B, T, H, w] → [B, H, NT, C, w]; padded tokens are zeros everywhere (logw = 0 included), which makes
  // them identity transitions that add nothing to the state.
  const chunks = (t: Tensor, w: number) => {
    const full = padded > T ? concat([t, zeros(engine, [B, padded - T, H, w])], 1) : t;
    return permute(reshape(full, [B, NT, C, H, w]), [0, 3, 1, 2, 4]);
  };
  const [q, k, a, b, logw] = [x.q, x.k, x.a, x.b, x.logw].map((t) => chunks(t, K));
  const v = chunks(x.v, V);

  const gamma = chunkCumsum(engine, logw, C);
  const gammaLast = slice(gamma, 3, C - 1, C); // [B, H, NT, 1, K]
  const decayBefore = exp(sub(gamma, logw)); // e^{γ⁻}: from the chunk start to just before the token
  const growth = exp(neg(gamma)); // e^{−γ}
  const carry = exp(sub(gammaLast, gamma)); // e^{γ_C − γ}: from the token to the chunk end
  const aTilde = mul(a, decayBefore);
  const qTilde = mul(q, exp(gamma));
  const bBar = mul(b, growth);
  const kBar = mul(k, growth);
  const bHat = mul(b, carry);
  const kHat = mul(k, carry);

  const strict = engine.fromArray(strictlyLowerMask(C), [C, C]);
  const lower = engine.fromArray(lowerMask(C), [C, C]);
  const lInv = unitLowerInverse(matmul(aTilde, bBar, { transB: true })); // reads the strictly lower A^{ab}
  const aak = mul(matmul(aTilde, kBar, { transB: true }), strict);
  const qb = mul(matmul(qTilde, bBar, { transB: true }), lower);
  const qk = mul(matmul(qTilde, kBar, { transB: true }), lower);
  const w = matmul(lInv, aTilde); // [B, H, NT, C, K]
  const u = matmul(lInv, matmul(aak, v)); // [B, H, NT, C, V]

  // The sequential pass with each chunk's transition Diag(e^{γ_C}) + B̂ᵀW and input B̂ᵀU + K̂ᵀV.
  const input = add(matmul(bHat, u, { transA: true }), matmul(kHat, v, { transA: true }));
  const perHead = (t: Tensor) => reshape(t, [B * H, NT, ...t.shape.slice(3)]);
  const scan = chunkStateScan(
    { decay: reshape(exp(gammaLast), [B * H, NT, K]), bHat: perHead(bHat), w: perHead(w), r: perHead(input) },
    options.initialState ? reshape(options.initialState, [B * H, K, V]) : undefined,
  );
  const states = reshape(scan.states, [B, H, NT, K, V]);

  const p = add(matmul(w, states), u);
  const out = add(add(matmul(qTilde, states), matmul(qb, p)), matmul(qk, v)); // [B, H, NT, C, V]
  const flat = reshape(permute(out, [0, 2, 3, 1, 4]), [B, padded, H, V]);
  const o = padded > T ? slice(flat, 1, 0, T) : flat;
  return { o, finalState: reshape(scan.last, [B, H, K, V]) };
}

/** How RWKV-7's recurrence runs: 'chunk' (this file), 'recurrent' (dplr.ts), or 'auto' by length. */
export type DplrImplementation = 'auto' | 'chunk' | 'recurrent';
export const DPLR_IMPLEMENTATIONS: DplrImplementation[] = ['auto', 'chunk', 'recurrent'];

/**
 * Shortest sequence 'auto' runs chunked. The chunked form spends ~60 forward dispatches whatever T is,
 * the recurrent one walks T tokens one after another (each a workgroup barrier, forward and backward).
 */
export const DPLR_CHUNK_MIN_T = 64;

export function chooseDplrImplementation(T: number, asked: DplrImplementation = 'auto'): 'chunk' | 'recurrent' {
  if (asked !== 'auto') return asked;
  return T >= DPLR_CHUNK_MIN_T ? 'chunk' : 'recurrent';
}
