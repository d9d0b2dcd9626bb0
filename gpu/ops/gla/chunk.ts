// The chunked class-B recurrence as a differentiable op — the training form of linear attention,
// RetNet, GLA, HGRN2, Mamba-2, RWKV-6, mLSTM and GSA. Forward: cumsum, decayed, state and output
// (chunk-kernels.ts); backward: state-backward, dq, dk, dv and the decay gradient
// (chunk-backward-kernels.ts, decay-grad.ts).

import { record } from '../../autograd.js';
import type { Engine } from '../../engine.js';
import { linearGrid } from '../../grid.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { dkKernel, dqKernel, dvKernel, stateBackwardKernel } from './chunk-backward-kernels.js';
import { cumsumKernel, decayedKernel, outputKernel, stateKernel, type ChunkVariant } from './chunk-kernels.js';
import {
  DEFAULT_CHUNK,
  HAS_FINAL_GRAD,
  HAS_INITIAL,
  checkGlaInputs,
  glaUniforms,
  type GlaDims,
  type GlaOptions,
  type GlaOutput,
} from './common.js';
import { decayGrad } from './decay-grad.js';

const OP = 'chunkGla';

/** What the forward leaves for the backward. */
interface Saved {
  /** Chunk-local cumulative log decay, g's shape (zeros [B,T,H] without a decay). */
  gcum: Tensor;
  /** The state entering every chunk, [B·H, NT, K, V]. */
  hs: Tensor;
  /** q ⊙ exp γ and k ⊙ exp(γ_last − γ) (q and k themselves without a decay). */
  qd: Tensor;
  kd: Tensor;
}

/**
 * S_t = Diag(exp g_t) S_{t−1} + k_t v_tᵀ, o_t = scale · S_tᵀ q_t over whole sequences, chunk by chunk.
 * q, k: [B,T,H,K]; v: [B,T,H,V]; options.g: log decay ≤ 0, [B,T,H,K] or [B,T,H]. Differentiable in q,
 * k, v, g and the initial state, through both outputs.
 */
export function chunkGla(q: Tensor, k: Tensor, v: Tensor, options: GlaOptions = {}): GlaOutput {
  const d = checkGlaInputs(OP, q, k, v, options);
  const engine = q.engine;
  const variant: ChunkVariant = { chunk: options.chunkSize ?? DEFAULT_CHUNK, perChannel: d.GK > 1 };
  const scale = options.scale ?? 1 / Math.sqrt(d.K);
  const NT = Math.ceil(d.T / variant.chunk);
  const uniforms = glaUniforms(d, NT, scale, options.initialState ? HAS_INITIAL : 0);
  const elements = d.B * d.H * d.K * d.V;

  let gcum: Tensor;
  let qd = q;
  let kd = k;
  if (options.g) {
    gcum = engine.empty(options.g.shape);
    qd = engine.empty(q.shape);
    kd = engine.empty(k.shape);
    engine.dispatch(
      { name: 'gla:cumsum', wgsl: cumsumKernel(variant) },
      { bindings: [options.g, gcum], uniforms, workgroups: linearGrid(d.B * d.H * NT * d.GK) },
    );
    engine.dispatch(
      { name: 'gla:decayed', wgsl: decayedKernel(variant) },
      { bindings: [q, k, gcum, qd, kd], uniforms, workgroups: linearGrid(q.size) },
    );
  } else {
    gcum = zeros(engine, [d.B, d.T, d.H]);
  }
  const h0 = options.initialState ?? engine.empty([1]);
  const saved: Saved = { gcum, hs: engine.empty([d.B * d.H, NT, d.K, d.V]), qd, kd };
  const o = engine.empty([d.B, d.T, d.H, d.V]);
  const finalState = engine.empty([d.B, d.H, d.K, d.V]);
  engine.dispatch(
    { name: 'gla:state', wgsl: stateKernel(variant) },
    { bindings: [kd, v, gcum, h0, saved.hs, finalState], uniforms, workgroups: linearGrid(elements) },
  );
  engine.dispatch(
    { name: 'gla:output', wgsl: outputKernel(variant) },
    { bindings: [q, k, v, gcum, saved.hs, qd, o], uniforms, workgroups: [NT, d.B * d.H] },
  );
  if (!options.initialState) h0.release();

  const inputs = [q, k, v, options.g, options.initialState];
  const presentIndex = inputs.flatMap((t, i) => (t ? [i] : []));
  const present = presentIndex.map((i) => inputs[i]!);
  if (!engine.isGradEnabled || !present.some((t) => t.requiresGrad)) {
    saved.gcum.release();
    saved.hs.release();
    if (options.g) {
      saved.qd.release();
      saved.kd.release();
    }
    return { o, finalState };
  }

  // Two outputs, one backward: the final state's node runs first (it lists `o` as its input, so the
  // tape orders it after o's producer), stashes its gradient, and o's node runs the joint backward.
  let finalStateGrad: Tensor | null = null;
  record(o, OP, present, (gO) => {
    const gS = finalStateGrad;
    finalStateGrad = null;
    const grads = chunkBackward(engine, d, variant, scale, NT, { q, k, v, g: options.g, finalState }, saved, gO, gS);
    return keepNeeded(inputs, grads, presentIndex);
  });
  record(finalState, `${OP}.finalState`, [o], (gS) => {
    finalStateGrad = gS;
    return [zeros(engine, o.shape)];
  });
  return { o, finalState };
}

/** The gradients of the present inputs that require one; the others are released. */
export function keepNeeded(
  inputs: (Tensor | undefined)[],
  grads: (Tensor | null)[],
  presentIndex: number[],
): (Tensor | null)[] {
  grads.forEach((t, i) => {
    if (t && !inputs[i]?.requiresGrad) t.release();
  });
  return presentIndex.map((i) => (inputs[i]!.requiresGrad ? grads[i] : null));
}

interface Inputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  g?: Tensor;
  finalState: Tensor;
}

/** Returns the gradients of [q, k, v, g, h0] (null where the input is absent). */
function chunkBackward(
  engine: Engine,
  d: GlaDims,
  variant: ChunkVariant,
  scale: number,
  NT: number,
  x: Inputs,
  saved: Saved,
  gO: Tensor,
  gS: Tensor | null,
): (Tensor | null)[] {
  const uniforms = glaUniforms(d, NT, scale, gS ? HAS_FINAL_GRAD : 0);
  const parallel: [number, number] = [NT, d.B * d.H];
  const dfinal = gS ?? engine.empty([1]);
  const dhs = engine.empty([d.B * d.H, NT, d.K, d.V]);
  const dh0 = engine.empty([d.B, d.H, d.K, d.V]);
  const dq = engine.empty(x.q.shape);
  const dk = engine.empty(x.k.shape);
  const dv = engine.empty(x.v.shape);
  engine.dispatch(
    { name: 'gla:state-backward', wgsl: stateBackwardKernel(variant) },
    {
      bindings: [saved.qd, saved.gcum, gO, dfinal, dhs, dh0],
      uniforms,
      workgroups: linearGrid(d.B * d.H * d.K * d.V),
    },
  );
  engine.dispatch(
    { name: 'gla:dq', wgsl: dqKernel(variant) },
    { bindings: [x.k, x.v, saved.gcum, saved.hs, gO, dq], uniforms, workgroups: parallel },
  );
  engine.dispatch(
    { name: 'gla:dk', wgsl: dkKernel(variant) },
    { bindings: [x.q, x.v, saved.gcum, dhs, gO, dk], uniforms, workgroups: parallel },
  );
  engine.dispatch(
    { name: 'gla:dv', wgsl: dvKernel(variant) },
    { bindings: [x.q, x.k, saved.gcum, dhs, gO, saved.kd, dv], uniforms, workgroups: parallel },
  );
  const dg = x.g?.requiresGrad
    ? decayGrad(engine, d, x.g, { q: x.q, dq, k: x.k, dk, finalState: x.finalState, dFinal: gS })
    : null;
  dhs.release();
  if (!gS) dfinal.release();
  return [dq, dk, dv, dg, dh0];
}
