// The fused recurrent delta rule: one workgroup per (value tile, batch·head) walks the tokens one by
// one with the state tile in workgroup memory — fla's fused_recurrent form. Forward only: the
// inference path (prefill of short prompts, and `deltaRuleStep`, the one-token form with carried
// state). Training uses the chunked form, whose backward exists.

import type { Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { reshape } from '../shape.js';
import {
  DELTA_PARAMS,
  MAX_BV,
  STATE_MAIN,
  STATE_THREADS,
  STATE_TILE,
  constants,
  type ChunkShape,
} from './chunk-kernels.js';
import {
  checkBindingLimit,
  checkDeltaInputs,
  valueTile,
  deltaUniforms,
  placeholder,
  type DeltaRuleOptions,
  type DeltaRuleOutput,
} from './common.js';

function recurrentKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> h0: array<f32>;
@group(0) @binding(7) var<storage, read_write> o: array<f32>;
@group(0) @binding(8) var<storage, read_write> final_state: array<f32>;
var<workgroup> st: array<f32, ${STATE_TILE}>;
var<workgroup> delta: array<f32, ${MAX_BV}>;
${STATE_MAIN}
  for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    var x = 0.0;
    if ((u.flags & 1u) != 0u && vv < DV) { x = h0[(bh * DK + e / BV) * DV + vv]; }
    st[e] = x;
  }
  workgroupBarrier();
  for (var t = 0u; t < u.T; t++) {
    let r = tok(b, t, h);
    let decay = exp(g[r]);
    // u = β (v − (decay·S)ᵀ k), one value column per invocation.
    if (lid < BV && v0 + lid < DV) {
      var predicted = 0.0;
      for (var d = 0u; d < DK; d++) { predicted += st[d * BV + lid] * k[r * DK + d]; }
      delta[lid] = beta[r] * (v[r * DV + v0 + lid] - decay * predicted);
    }
    workgroupBarrier();
    for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
      let c = e % BV;
      if (v0 + c < DV) { st[e] = decay * st[e] + k[r * DK + e / BV] * delta[c]; }
    }
    workgroupBarrier();
    // Reading S for o_t needs no barrier before the next token: that token's first phase only reads S.
    if (lid < BV && v0 + lid < DV) {
      var out = 0.0;
      for (var d = 0u; d < DK; d++) { out += st[d * BV + lid] * q[r * DK + d]; }
      o[r * DV + v0 + lid] = u.scale * out;
    }
  }
  for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < DV) { final_state[(bh * DK + e / BV) * DV + vv] = st[e]; }
  }
}`;
}

/** Same contract as `chunkDeltaRule`, token by token; forward only. */
export function fusedRecurrentDeltaRule(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  beta: Tensor,
  options: DeltaRuleOptions = {},
): DeltaRuleOutput {
  const op = 'fusedRecurrentDeltaRule';
  const d = checkDeltaInputs(op, q, k, v, beta, options);
  const engine = q.engine;
  const inputs = [q, k, v, beta, options.g, options.initialState];
  if (engine.isGradEnabled && inputs.some((t) => t?.requiresGrad)) {
    throw new Error(
      `${op}: the recurrent form has no backward; train with chunkDeltaRule or call it inside engine.noGrad`,
    );
  }
  checkBindingLimit(op, engine, 8);
  const shape = { chunk: 1 };
  const bv = valueTile(d);
  const g = options.g ?? zeros(engine, [d.B, d.T, d.H]);
  const h0 = options.initialState ?? placeholder(engine);
  const o = engine.empty([d.B, d.T, d.H, d.V]);
  const finalState = engine.empty([d.B, d.H, d.K, d.V]);
  engine.dispatch(
    { name: 'delta:recurrent', wgsl: recurrentKernel(shape) },
    {
      bindings: [q, k, v, beta, g, h0, o, finalState],
      uniforms: deltaUniforms(d, 1, options.scale ?? 1 / Math.sqrt(d.K), options.initialState ? 1 : 0, bv),
      workgroups: [Math.ceil(d.V / bv), d.B * d.H],
    },
  );
  if (!options.g) g.release();
  if (!options.initialState) h0.release();
  return { o, finalState };
}

export interface DeltaStepInputs {
  /** [B, H, K] */
  q: Tensor;
  /** [B, H, K], L2-normalized */
  k: Tensor;
  /** [B, H, V] */
  v: Tensor;
  /** [B, H] */
  beta: Tensor;
  /** [B, H] log decay, optional */
  g?: Tensor;
}

/** One token with carried state [B, H, K, V]: returns o [B, H, V] and the next state. */
export function deltaRuleStep(x: DeltaStepInputs, state: Tensor, scale?: number): { o: Tensor; state: Tensor } {
  const [B, H, K] = x.q.shape;
  const V = x.v.shape[2];
  const token = (t: Tensor, width?: number) => reshape(t, width === undefined ? [B, 1, H] : [B, 1, H, width]);
  const { o, finalState } = fusedRecurrentDeltaRule(token(x.q, K), token(x.k, K), token(x.v, V), token(x.beta), {
    g: x.g ? token(x.g) : undefined,
    initialState: state,
    scale,
  });
  return { o: reshape(o, [B, H, V]), state: finalState };
}
