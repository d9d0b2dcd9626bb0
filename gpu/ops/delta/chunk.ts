// The chunked (gated) delta rule as a differentiable op: three forward dispatches and six backward
// dispatches (kernels in chunk-kernels.ts and chunk-backward-kernels.ts). The training form.

import { record } from '../../autograd.js';
import type { Engine } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import {
  contractionsKernel,
  decayGradKernel,
  gradKernel,
  localGradKernel,
  matricesKernel,
  scratchFloats,
  stateBackwardKernel,
} from './chunk-backward-kernels.js';
import { outputKernel, prepareKernel, stateKernel, type ChunkShape } from './chunk-kernels.js';
import {
  checkBindingLimit,
  checkDeltaInputs,
  deltaUniforms,
  placeholder,
  type DeltaDims,
  type DeltaRuleOptions,
  type DeltaRuleOutput,
  valueTile,
} from './common.js';

const OP = 'chunkDeltaRule';

/** What the forward pass leaves for the backward pass (all chunk-major per batch·head). */
interface Saved {
  gcum: Tensor;
  linv: Tensor;
  w: Tensor;
  unew: Tensor;
  /** Chunk-start states [B·H, NT, K, V]. */
  hs: Tensor;
}

/**
 * Delta rule over whole sequences, chunk by chunk. q, k: [B,T,H,K] (k L2-normalized by the caller);
 * v: [B,T,H,V]; beta: [B,T,H] in [0, 1], or [0, 2] for negative eigenvalues. Differentiable in every
 * input, including the decay g and the initial state, and through the final state.
 */
export function chunkDeltaRule(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  beta: Tensor,
  options: DeltaRuleOptions = {},
): DeltaRuleOutput {
  const d = checkDeltaInputs(OP, q, k, v, beta, options);
  const engine = q.engine;
  checkBindingLimit(OP, engine, 10);
  const shape: ChunkShape = { chunk: options.chunkSize ?? 32 };
  const bv = valueTile(d);
  const scale = options.scale ?? 1 / Math.sqrt(d.K);
  const NT = Math.ceil(d.T / shape.chunk);
  const BH = d.B * d.H;
  const rows = BH * NT * shape.chunk;
  const g = options.g ?? zeros(engine, [d.B, d.T, d.H]);
  const h0 = options.initialState ?? placeholder(engine);
  const uniforms = deltaUniforms(d, NT, scale, options.initialState ? 1 : 0, bv);

  const saved: Saved = {
    gcum: engine.empty([rows]),
    linv: engine.empty([rows * shape.chunk]),
    w: engine.empty([rows, d.K]),
    unew: engine.empty([rows, d.V]),
    hs: engine.empty([BH, NT, d.K, d.V]),
  };
  const uprime = engine.empty([rows, d.V]);
  const o = engine.empty([d.B, d.T, d.H, d.V]);
  const finalState = engine.empty([d.B, d.H, d.K, d.V]);
  const parallel: [number, number] = [NT, BH];
  const sequential: [number, number] = [Math.ceil(d.V / bv), BH];
  engine.dispatch(
    { name: 'delta:prepare', wgsl: prepareKernel(shape) },
    { bindings: [k, v, beta, g, saved.gcum, saved.linv, saved.w, uprime], uniforms, workgroups: parallel },
  );
  engine.dispatch(
    { name: 'delta:state', wgsl: stateKernel(shape) },
    {
      bindings: [k, saved.w, uprime, saved.gcum, h0, saved.hs, saved.unew, finalState],
      uniforms,
      workgroups: sequential,
    },
  );
  engine.dispatch(
    { name: 'delta:output', wgsl: outputKernel(shape) },
    { bindings: [q, k, saved.gcum, saved.hs, saved.unew, o], uniforms, workgroups: parallel },
  );
  uprime.release();
  if (!options.g) g.release();
  if (!options.initialState) h0.release();

  const inputs = [q, k, v, beta, options.g, options.initialState];
  const presentIndex = inputs.flatMap((t, i) => (t ? [i] : []));
  const present = presentIndex.map((i) => inputs[i]!);
  if (!engine.isGradEnabled || !present.some((t) => t.requiresGrad)) {
    for (const t of Object.values(saved)) t.release();
    return { o, finalState };
  }

  // Two outputs, one backward: the final state's node runs first (it lists `o` as its input, so the
  // tape orders it after o's producer), stashes its gradient, and o's node runs the joint backward.
  let finalStateGrad: Tensor | null = null;
  record(o, OP, present, (gO) => {
    const x = { q, k, v, beta, g: options.g, h0: options.initialState };
    const grads = chunkBackward(engine, d, shape, scale, NT, x, saved, gO, finalStateGrad);
    return presentIndex.map((i) => grads[i]);
  });
  record(finalState, `${OP}.finalState`, [o], (gS) => {
    finalStateGrad = gS;
    return [zeros(engine, o.shape)];
  });
  return { o, finalState };
}

interface Inputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  beta: Tensor;
  g?: Tensor;
  h0?: Tensor;
}

/** Returns the gradients of [q, k, v, beta, g, h0] (null where the input is absent or not needed). */
function chunkBackward(
  engine: Engine,
  d: DeltaDims,
  shape: ChunkShape,
  scale: number,
  NT: number,
  x: Inputs,
  saved: Saved,
  gO: Tensor,
  gState: Tensor | null,
): (Tensor | null)[] {
  const BH = d.B * d.H;
  const rows = BH * NT * shape.chunk;
  const bv = valueTile(d);
  const uniforms = deltaUniforms(d, NT, scale, gState ? 2 : 0, bv);
  const parallel: [number, number] = [NT, BH];
  const sequential: [number, number] = [Math.ceil(d.V / bv), BH];
  const dfinal = gState ?? placeholder(engine);
  const du = engine.empty([rows, d.V]);
  const dends = engine.empty([BH, NT, d.K, d.V]);
  const dh0 = engine.empty([d.B, d.H, d.K, d.V]);
  const xs = engine.empty([BH * NT, scratchFloats(shape.chunk, d.K, d.V)]);
  const dq = engine.empty(x.q.shape);
  const dk = engine.empty(x.k.shape);
  const dv = engine.empty(x.v.shape);
  const dbeta = engine.empty(x.beta.shape);
  engine.dispatch(
    { name: 'delta:local-grad', wgsl: localGradKernel(shape) },
    { bindings: [x.q, x.k, saved.gcum, gO, du], uniforms, workgroups: parallel },
  );
  engine.dispatch(
    { name: 'delta:state-backward', wgsl: stateBackwardKernel(shape) },
    { bindings: [x.q, x.k, saved.w, saved.gcum, gO, dfinal, du, dends, dh0], uniforms, workgroups: sequential },
  );
  engine.dispatch(
    { name: 'delta:contractions', wgsl: contractionsKernel(shape) },
    { bindings: [saved.hs, dends, saved.unew, du, gO, xs], uniforms, workgroups: parallel },
  );
  engine.dispatch(
    { name: 'delta:matrices', wgsl: matricesKernel(shape) },
    { bindings: [x.k, x.v, x.beta, saved.gcum, saved.linv, du, xs], uniforms, workgroups: parallel },
  );
  engine.dispatch(
    { name: 'delta:grad', wgsl: gradKernel(shape) },
    { bindings: [x.q, x.k, x.v, x.beta, saved.gcum, xs, dq, dk, dv, dbeta], uniforms, workgroups: parallel },
  );
  let dg: Tensor | null = null;
  if (x.g) {
    dg = engine.empty(x.g.shape);
    engine.dispatch(
      { name: 'delta:decay-grad', wgsl: decayGradKernel(shape) },
      { bindings: [xs, dg], uniforms, workgroups: parallel },
    );
  }
  if (!gState) dfinal.release();
  for (const t of [du, dends, xs]) t.release();
  let gh0: Tensor | null = dh0;
  if (!x.h0) {
    dh0.release();
    gh0 = null;
  }
  return [dq, dk, dv, dbeta, dg, gh0];
}
