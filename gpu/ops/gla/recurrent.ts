// The fused recurrent class-B recurrence (fla's fused_recurrent_gla): token by token, each invocation
// owning one column (or one row) of one head's state in private memory, so no invocation ever waits on
// another. The inference path (prompts of a few tokens, and `glaStep`, one token with carried state);
// it is differentiable too, by re-running the recurrence:
//   dq_t = scale S_t dO_t                 (forward sweep, row owners),
//   dS_t = scale q_t dO_tᵀ + Diag(exp g_{t+1}) dS_{t+1},  dk_t = dS_t v_t  (reverse sweep, row owners),
//   dv_t = dS_tᵀ k_t                      (reverse sweep, column owners),
// and dg from the shared identity in decay-grad.ts.

import { record } from '../../autograd.js';
import { linearGrid, linearMain } from '../../grid.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { reshape } from '../shape.js';
import { keepNeeded } from './chunk.js';
import {
  GLA_PARAMS,
  HAS_FINAL_GRAD,
  HAS_INITIAL,
  checkGlaInputs,
  glaUniforms,
  type GlaOptions,
  type GlaOutput,
} from './common.js';
import { decayGrad } from './decay-grad.js';

/** Head dims are baked as the private arrays' lengths (one pipeline per head size). */
function dimsHeader(K: number, V: number): string {
  return `const MAXK = ${K}u;
const MAXV = ${V}u;
${GLA_PARAMS}`;
}

/** Column owners: one invocation per (b·h, value channel c) holds S[:, c]. */
const COLUMN_MAIN = `${linearMain()}
  if (i >= u.B * u.H * u.V) { return; }
  let c = i % u.V;
  let bh = i / u.V;
  let b = bh / u.H;
  let h = bh % u.H;`;

/** Row owners: one invocation per (b·h, key channel d) holds S[d, :]. */
const ROW_MAIN = `${linearMain()}
  if (i >= u.B * u.H * u.K) { return; }
  let d = i % u.K;
  let bh = i / u.K;
  let b = bh / u.H;
  let h = bh % u.H;`;

function forwardKernel(K: number, V: number): string {
  return `${dimsHeader(K, V)}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> h0: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
@group(0) @binding(7) var<storage, read_write> final_state: array<f32>;
${COLUMN_MAIN}
  var s: array<f32, MAXK>;
  for (var d = 0u; d < u.K; d++) {
    s[d] = select(0.0, h0[(bh * u.K + d) * u.V + c], (u.flags & ${HAS_INITIAL}u) != 0u);
  }
  for (var t = 0u; t < u.T; t++) {
    let r = tok(b, t, h);
    let vc = v[r * u.V + c];
    var out = 0.0;
    for (var d = 0u; d < u.K; d++) {
      s[d] = exp(g[gidx(r, d)]) * s[d] + k[r * u.K + d] * vc;
      out += s[d] * q[r * u.K + d];
    }
    o[r * u.V + c] = u.scale * out;
  }
  for (var d = 0u; d < u.K; d++) { final_state[(bh * u.K + d) * u.V + c] = s[d]; }
}`;
}

function dqKernel(K: number, V: number): string {
  return `${dimsHeader(K, V)}
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> h0: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;
${ROW_MAIN}
  var s: array<f32, MAXV>;
  for (var c = 0u; c < u.V; c++) {
    s[c] = select(0.0, h0[(bh * u.K + d) * u.V + c], (u.flags & ${HAS_INITIAL}u) != 0u);
  }
  for (var t = 0u; t < u.T; t++) {
    let r = tok(b, t, h);
    let a = exp(g[gidx(r, d)]);
    let kd = k[r * u.K + d];
    var acc = 0.0;
    for (var c = 0u; c < u.V; c++) {
      s[c] = a * s[c] + kd * v[r * u.V + c];
      acc += s[c] * dout[r * u.V + c];
    }
    dq[r * u.K + d] = u.scale * acc;
  }
}`;
}

function dkKernel(K: number, V: number): string {
  return `${dimsHeader(K, V)}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> dfinal: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
@group(0) @binding(7) var<storage, read_write> dh0: array<f32>;
${ROW_MAIN}
  var ds: array<f32, MAXV>;
  for (var c = 0u; c < u.V; c++) {
    ds[c] = select(0.0, dfinal[(bh * u.K + d) * u.V + c], (u.flags & ${HAS_FINAL_GRAD}u) != 0u);
  }
  for (var m = 0u; m < u.T; m++) {
    let r = tok(b, u.T - 1u - m, h);
    let qd = u.scale * q[r * u.K + d];
    var acc = 0.0;
    for (var c = 0u; c < u.V; c++) {
      ds[c] += qd * dout[r * u.V + c];
      acc += ds[c] * v[r * u.V + c];
    }
    dk[r * u.K + d] = acc;
    let a = exp(g[gidx(r, d)]);
    for (var c = 0u; c < u.V; c++) { ds[c] *= a; }
  }
  for (var c = 0u; c < u.V; c++) { dh0[(bh * u.K + d) * u.V + c] = ds[c]; }
}`;
}

function dvKernel(K: number, V: number): string {
  return `${dimsHeader(K, V)}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> dfinal: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv: array<f32>;
${COLUMN_MAIN}
  var ds: array<f32, MAXK>;
  for (var d = 0u; d < u.K; d++) {
    ds[d] = select(0.0, dfinal[(bh * u.K + d) * u.V + c], (u.flags & ${HAS_FINAL_GRAD}u) != 0u);
  }
  for (var m = 0u; m < u.T; m++) {
    let r = tok(b, u.T - 1u - m, h);
    let oc = u.scale * dout[r * u.V + c];
    var acc = 0.0;
    for (var d = 0u; d < u.K; d++) {
      ds[d] += q[r * u.K + d] * oc;
      acc += ds[d] * k[r * u.K + d];
    }
    dv[r * u.V + c] = acc;
    for (var d = 0u; d < u.K; d++) { ds[d] *= exp(g[gidx(r, d)]); }
  }
}`;
}

/** Same contract as `chunkGla`, token by token (chunkSize is ignored). Differentiable. */
export function fusedRecurrentGla(q: Tensor, k: Tensor, v: Tensor, options: GlaOptions = {}): GlaOutput {
  const op = 'fusedRecurrentGla';
  const d = checkGlaInputs(op, q, k, v, options);
  const engine = q.engine;
  const scale = options.scale ?? 1 / Math.sqrt(d.K);
  // Without a decay, exp(0) = 1 everywhere: a zero log decay per head is the same recurrence.
  const g = options.g ?? zeros(engine, [d.B, d.T, d.H]);
  const h0 = options.initialState ?? engine.empty([1]);
  const o = engine.empty([d.B, d.T, d.H, d.V]);
  const finalState = engine.empty([d.B, d.H, d.K, d.V]);
  const columns = linearGrid(d.B * d.H * d.V);
  const rows = linearGrid(d.B * d.H * d.K);
  engine.dispatch(
    { name: 'gla:recurrent', wgsl: forwardKernel(d.K, d.V) },
    {
      bindings: [q, k, v, g, h0, o, finalState],
      uniforms: glaUniforms(d, 1, scale, options.initialState ? HAS_INITIAL : 0),
      workgroups: columns,
    },
  );

  const inputs = [q, k, v, options.g, options.initialState];
  const presentIndex = inputs.flatMap((t, i) => (t ? [i] : []));
  const present = presentIndex.map((i) => inputs[i]!);
  if (!engine.isGradEnabled || !present.some((t) => t.requiresGrad)) {
    if (!options.g) g.release();
    if (!options.initialState) h0.release();
    return { o, finalState };
  }
  let finalStateGrad: Tensor | null = null;
  record(o, op, present, (gO) => {
    const gS = finalStateGrad;
    finalStateGrad = null;
    const forwardUniforms = glaUniforms(d, 1, scale, options.initialState ? HAS_INITIAL : 0);
    const backwardUniforms = glaUniforms(d, 1, scale, gS ? HAS_FINAL_GRAD : 0);
    const dfinal = gS ?? engine.empty([1]);
    const dq = engine.empty(q.shape);
    const dk = engine.empty(k.shape);
    const dv = engine.empty(v.shape);
    const dh0 = engine.empty([d.B, d.H, d.K, d.V]);
    engine.dispatch(
      { name: 'gla:recurrent-dq', wgsl: dqKernel(d.K, d.V) },
      { bindings: [k, v, g, h0, gO, dq], uniforms: forwardUniforms, workgroups: rows },
    );
    engine.dispatch(
      { name: 'gla:recurrent-dk', wgsl: dkKernel(d.K, d.V) },
      { bindings: [q, v, g, gO, dfinal, dk, dh0], uniforms: backwardUniforms, workgroups: rows },
    );
    engine.dispatch(
      { name: 'gla:recurrent-dv', wgsl: dvKernel(d.K, d.V) },
      { bindings: [q, k, g, gO, dfinal, dv], uniforms: backwardUniforms, workgroups: columns },
    );
    const dg = options.g?.requiresGrad
      ? decayGrad(engine, d, options.g, { q, dq, k, dk, finalState, dFinal: gS })
      : null;
    if (!gS) dfinal.release();
    return keepNeeded(inputs, [dq, dk, dv, dg, dh0], presentIndex);
  });
  record(finalState, `${op}.finalState`, [o], (gS) => {
    finalStateGrad = gS;
    return [zeros(engine, o.shape)];
  });
  return { o, finalState };
}

export interface GlaStepInputs {
  /** [B, H, K] */
  q: Tensor;
  /** [B, H, K] */
  k: Tensor;
  /** [B, H, V] */
  v: Tensor;
  /** Log decay [B, H, K] or [B, H]; absent = none. */
  g?: Tensor;
}

/** One token with carried state [B, H, K, V]: returns o [B, H, V] and the next state. */
export function glaStep(x: GlaStepInputs, state: Tensor, scale?: number): { o: Tensor; state: Tensor } {
  if (x.q.shape.length !== 3 || x.v.shape.length !== 3) {
    throw new RangeError(`glaStep: q must be [B, H, K] and v [B, H, V], got ${x.q.describe()} and ${x.v.describe()}`);
  }
  const [B, H, K] = x.q.shape;
  const V = x.v.shape[2];
  const token = (t: Tensor) => reshape(t, [B, 1, ...t.shape.slice(1)]);
  const { o, finalState } = fusedRecurrentGla(token(x.q), token(x.k), token(x.v), {
    g: x.g ? token(x.g) : undefined,
    initialState: state,
    scale: scale ?? 1 / Math.sqrt(K),
  });
  return { o: reshape(o, [B, H, V]), state: finalState };
}
