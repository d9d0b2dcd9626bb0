// The backward pass of the chunked generalized delta rule (notation of dplr-chunk.ts), written out so
// that it keeps only what it needs: it recomputes each chunk's local part (dplr-chunk-local.ts) from the
// inputs, reads the entering states S_n saved by the forward, and walks the forward back:
//   O = Q̃S + Q^{b}P + Q^{k}V:  dQ̃ = dO Sᵀ,  dS = Q̃ᵀ dO,  dQ^{b} = lower(dO Pᵀ),  dP = Q^{b}ᵀ dO,
//                            dQ^{k} = lower(dO Vᵀ),  dV = Q^{k}ᵀ dO
//   P = WS + U:              dW = dP Sᵀ,  dS += Wᵀ dP,  dU = dP
//   the chunk-state scan:    its adjoint (dplr-chunk-scan.ts) gives dR, dW, dB̂, d(e^{γ_C}) and dS₀
//   R = B̂ᵀU + K̂ᵀV:           dB̂ += U dRᵀ,  dU += B̂ dR,  dK̂ = V dRᵀ,  dV += K̂ dR
//   U = L⁻¹X, X = A^{ak}V:   dL⁻¹ = dU Xᵀ,  dX = L⁻ᵀ dU,  dA^{ak} = strict(dX Vᵀ),  dV += A^{ak}ᵀ dX
//   W = L⁻¹Ã:                dL⁻¹ += dW Ãᵀ,  dÃ = L⁻ᵀ dW;   then dA^{ab} from the solve's adjoint
//   the pair matrices:       dÃ += dA^{ab} B̄ + dA^{ak} K̄,  dQ̃ += dQ^{b} B̄ + dQ^{k} K̄,
//                            dB̄ = dA^{ab}ᵀ Ã + dQ^{b}ᵀ Q̃,  dK̄ = dA^{ak}ᵀ Ã + dQ^{k}ᵀ Q̃
//   the decay factors:       dq = dQ̃ e^{γ},  da = dÃ e^{γ⁻},  db = dB̄ e^{−γ} + dB̂ e^{γ_C−γ},  dk likewise,
//                            dγ = dQ̃⊙Q̃ + dÃ⊙Ã − dB̄⊙B̄ − dK̄⊙K̄ − dB̂⊙B̂ − dK̂⊙K̂,
//                            dγ_C = Σ_rows (dB̂⊙B̂ + dK̂⊙K̂) + d(e^{γ_C}) e^{γ_C},
//                            dlogw = (reverse cumsum of dγ) + dγ_C − dÃ⊙Ã   (γ⁻ = γ − logw, γ_C = Σ logw).

import type { Engine } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { add, mul, sub } from '../elementwise.js';
import { matmul } from '../matmul.js';
import { sum } from '../reduce.js';
import { reshape } from '../shape.js';
import type { DplrInputs } from './dplr.js';
import { chunkStateScanBackward } from './dplr-chunk-scan.js';
import { unitLowerInverseBackward } from './dplr-chunk-solve.js';
import { chunkLocal, fromChunks, toChunks, type ChunkDims } from './dplr-chunk-local.js';

export interface DplrGrads {
  q: Tensor;
  k: Tensor;
  logw: Tensor;
  a: Tensor;
  b: Tensor;
  v: Tensor;
  /** [B, H, K, V] when the forward had an initial state. */
  initialState: Tensor | null;
}

/** Sum of the products of matmul(left_i, right_i, options_i): one accumulator, each term released at once. */
function products(terms: [Tensor, Tensor, { transA?: boolean; transB?: boolean }][]): Tensor {
  let total: Tensor | null = null;
  for (const [left, right, options] of terms) {
    const term = matmul(left, right, options);
    if (!total) total = term;
    else {
      const next = add(total, term);
      total.release();
      term.release();
      total = next;
    }
  }
  return total!;
}

/**
 * Gradients of every input (and the initial state) from gO [B, T, H, V] and the final state's gradient
 * gLast [B, H, K, V] (null = zero). `states` [B·H, NT, K, V] are the forward's entering states. Call
 * without autograd, inside a tidy scope (temporaries the walk does not release end there).
 */
export function chunkDplrBackward(
  engine: Engine,
  d: ChunkDims,
  x: DplrInputs,
  states: Tensor,
  gO: Tensor,
  gLast: Tensor | null,
  withInitial: boolean,
): DplrGrads {
  const { B, H, NT, C, K, V } = d;
  const l = chunkLocal(engine, d, x);
  const S = reshape(states, [B, H, NT, K, V]);
  const p = add(matmul(l.w, S), l.u);
  const dO = toChunks(engine, d, gO, V);

  // O = Q̃S + Q^{b}P + Q^{k}V and P = WS + U.
  const lowerOf = (t: Tensor) => mul(t, l.lower);
  const dQb = lowerOf(matmul(dO, p, { transB: true }));
  const dQk = lowerOf(matmul(dO, l.v, { transB: true }));
  const dP = matmul(l.qb, dO, { transA: true });
  const dSread = products([
    [l.qTilde, dO, { transA: true }],
    [l.w, dP, { transA: true }],
  ]);

  // The state passing.
  const perHead = (t: Tensor) => reshape(t, [B * H, NT, ...t.shape.slice(3)]);
  const scan = chunkStateScanBackward(
    { decay: reshape(l.eLast, [B * H, NT, K]), bHat: perHead(l.bHat), w: perHead(l.w) },
    states,
    perHead(dSread),
    gLast ? reshape(gLast, [B * H, K, V]) : null,
    withInitial,
  );
  const dR = reshape(scan.r, [B, H, NT, K, V]);
  const dW = add(matmul(dP, S, { transB: true }), reshape(scan.w, [B, H, NT, C, K]));
  const dU = add(dP, matmul(l.bHat, dR));
  const dBhat = add(reshape(scan.bHat, [B, H, NT, C, K]), matmul(l.u, dR, { transB: true }));
  const dKhat = matmul(l.v, dR, { transB: true });

  // U = L⁻¹X, X = A^{ak}V, W = L⁻¹Ã, and the solve.
  const dX = matmul(l.lInv, dU, { transA: true });
  const dAak = mul(matmul(dX, l.v, { transB: true }), l.strict);
  const dLinv = products([
    [dU, l.x, { transB: true }],
    [dW, l.aTilde, { transB: true }],
  ]);
  const dAab = unitLowerInverseBackward(l.lInv, dLinv);
  const dV = products([
    [l.qk, dO, { transA: true }],
    [l.kHat, dR, {}],
    [l.aak, dX, { transA: true }],
  ]);

  // The pair matrices.
  const dAt = products([
    [l.lInv, dW, { transA: true }],
    [dAab, l.bBar, {}],
    [dAak, l.kBar, {}],
  ]);
  const dQt = products([
    [dO, S, { transB: true }],
    [dQb, l.bBar, {}],
    [dQk, l.kBar, {}],
  ]);
  const dBbar = products([
    [dAab, l.aTilde, { transA: true }],
    [dQb, l.qTilde, { transA: true }],
  ]);
  const dKbar = products([
    [dAak, l.aTilde, { transA: true }],
    [dQk, l.qTilde, { transA: true }],
  ]);

  // The decay factors and the cumulative decay.
  const viaBefore = mul(dAt, l.aTilde);
  const carried = add(mul(dBhat, l.bHat), mul(dKhat, l.kHat));
  const dGamma = sub(add(mul(dQt, l.qTilde), viaBefore), add(add(mul(dBbar, l.bBar), mul(dKbar, l.kBar)), carried));
  const dGammaLast = add(sum(carried, 3, true), mul(reshape(scan.decay, [B, H, NT, 1, K]), l.eLast));
  const dLogw = sub(add(matmul(l.lower, dGamma, { transA: true }), dGammaLast), viaBefore);
  const grads: DplrGrads = {
    q: fromChunks(d, mul(dQt, l.eGamma), K),
    a: fromChunks(d, mul(dAt, l.eBefore), K),
    b: fromChunks(d, add(mul(dBbar, l.growth), mul(dBhat, l.carry)), K),
    k: fromChunks(d, add(mul(dKbar, l.growth), mul(dKhat, l.carry)), K),
    logw: fromChunks(d, dLogw, K),
    v: fromChunks(d, dV, V),
    initialState: scan.initial ? reshape(scan.initial, [B, H, K, V]) : null,
  };
  return grads;
}
