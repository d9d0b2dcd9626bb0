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
// Everything but the solve and the scan is a batched matmul or an elementwise op of the engine. The
// forward keeps only the chunks' entering states; the backward (dplr-chunk-backward.ts) recomputes the
// chunk-local part (dplr-chunk-local.ts) and walks it back with the solve's and the scan's adjoints.
// Numerics: Q̃ B̄ᵀ factors e^{γ_i − γ_j} as e^{γ_i}·e^{−γ_j}, each term of the product keeps its relative
// precision in f32 as long as e^{−γ} stays in range over a chunk: C·|min logw| ≤ 40 (RWKV-7's floor
// logw ≥ −e^{−½} ≈ −0.6065 gives at most 39 at C = 64, 19 at the default 32). The chunk-local γ never
// accumulates across chunks, so long sequences add no error beyond the state passing itself.

import { record } from '../../autograd.js';
import type { Tensor } from '../../tensor.js';
import { add, zeros } from '../elementwise.js';
import { matmul } from '../matmul.js';
import { reshape } from '../shape.js';
import { checkDplrInputs, type DplrInputs } from './dplr.js';
import { chunkDplrBackward } from './dplr-chunk-backward.js';
import { chunkLocal, fromChunks, releaseLocal, type ChunkDims } from './dplr-chunk-local.js';
import { chunkStateScan } from './dplr-chunk-scan.js';

const OP = 'chunkDplrDeltaRule';
export const DPLR_CHUNK_SIZES = [16, 32, 64];
// 64: fastest of 16/32/64 on the H100 at T = 256–2048 (bench/RESULTS.md, "RWKV-7 chunked").
export const DEFAULT_DPLR_CHUNK = 64;

export interface ChunkDplrOptions {
  /** [B, H, K, V]; absent = zeros. */
  initialState?: Tensor;
  /** Tokens per chunk (16, 32 or 64); the result does not depend on it beyond rounding. */
  chunkSize?: number;
}

/**
 * S_t = Diag(e^{logw_t}) S_{t−1} + b_t (a_tᵀ S_{t−1}) + k_t v_tᵀ, o_t = S_tᵀ q_t over whole sequences,
 * chunk by chunk (same interface and result as dplrDeltaRule). q, k, logw, a, b [B,T,H,K]; v [B,T,H,V].
 * Differentiable in every input and the initial state, through o and the final state; the backward keeps
 * only the chunks' entering states and recomputes the rest. Requires chunkSize·|logw| ≤ 40 per token (see
 * the header; RWKV-7's decays always qualify).
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
  const d: ChunkDims = { B, T, H, K, V, C, NT, padded: NT * C };
  const h0 = options.initialState;
  const { o, finalState, states } = engine.noGrad(() =>
    engine.tidy(() => {
      const l = chunkLocal(engine, d, x);
      // The sequential pass with each chunk's transition Diag(e^{γ_C}) + B̂ᵀW and input B̂ᵀU + K̂ᵀV.
      const input = add(matmul(l.bHat, l.u, { transA: true }), matmul(l.kHat, l.v, { transA: true }));
      const perHead = (t: Tensor) => reshape(t, [B * H, NT, ...t.shape.slice(3)]);
      const scan = chunkStateScan(
        { decay: reshape(l.eLast, [B * H, NT, K]), bHat: perHead(l.bHat), w: perHead(l.w), r: perHead(input) },
        h0 ? reshape(h0, [B * H, K, V]) : undefined,
      );
      const S = reshape(scan.states, [B, H, NT, K, V]);
      const p = add(matmul(l.w, S), l.u);
      const out = add(add(matmul(l.qTilde, S), matmul(l.qb, p)), matmul(l.qk, l.v)); // [B, H, NT, C, V]
      releaseLocal(l);
      return { o: fromChunks(d, out, V), finalState: reshape(scan.last, [B, H, K, V]), states: scan.states };
    }),
  );
  const inputs = [x.q, x.k, x.logw, x.a, x.b, x.v, ...(h0 ? [h0] : [])];
  if (!engine.isGradEnabled || !inputs.some((t) => t.requiresGrad)) {
    states.release();
    return { o, finalState };
  }
  // Two outputs, one backward: the final state's node runs first (it lists `o` as its input, so the tape
  // orders it after o's producer), stashes its gradient, and o's node runs the joint backward.
  let finalGrad: Tensor | null = null;
  record(o, OP, inputs, (gO) => {
    const gLast = finalGrad;
    finalGrad = null;
    const g = engine.tidy(() => chunkDplrBackward(engine, d, x, states, gO, gLast, !!h0));
    const grads = [g.q, g.k, g.logw, g.a, g.b, g.v, ...(h0 ? [g.initialState!] : [])];
    // Gradients nobody asked for go back to the pool at once.
    return grads.map((t, i) => {
      if (inputs[i].requiresGrad) return t;
      t.release();
      return null;
    });
  });
  record(finalState, `${OP}.finalState`, [o], (gS) => {
    finalGrad = gS;
    return [zeros(engine, o.shape)];
  });
  return { o, finalState };
}

/** How RWKV-7's recurrence runs: 'chunk' (this file), 'recurrent' (dplr.ts), or 'auto' by length. */
export type DplrImplementation = 'auto' | 'chunk' | 'recurrent';
export const DPLR_IMPLEMENTATIONS: DplrImplementation[] = ['auto', 'chunk', 'recurrent'];

/**
 * Shortest sequence 'auto' runs chunked: the chunked form costs ~65 forward and ~150 backward dispatches
 * whatever T is, the recurrent one 6 + 13 but walks T tokens one after another (a workgroup barrier each,
 * forward and backward). On the H100 the chunked mixer is already 1.2× faster at T = 256 (B 64, d 256) and the
 * kernel 4.7× at T = 1024; lengths below 256 were not measured, so 64 stays a guess there.
 */
export const DPLR_CHUNK_MIN_T = 64;

export function chooseDplrImplementation(T: number, asked: DplrImplementation = 'auto'): 'chunk' | 'recurrent' {
  if (asked !== 'auto') return asked;
  return T >= DPLR_CHUNK_MIN_T ? 'chunk' : 'recurrent';
}
