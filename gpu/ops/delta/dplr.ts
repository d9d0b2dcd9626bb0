// The generalized delta rule with a diagonal-plus-low-rank transition (RWKV-7), as a fused recurrent
// op with a backward pass (reference and notation: dplr.ref.ts):
//   S_t = diag(w_t) S_{t-1} + b_t (a_tᵀ S_{t-1}) + k_t v_tᵀ,   o_t = S_tᵀ q_t,   w = exp(logw).
// The value columns of S evolve independently, so one workgroup owns (value tile, batch·head) and walks
// the tokens. The forward stores the state every C tokens; the backward walks the chunks in reverse,
// recomputes the C states of a chunk from its checkpoint into a scratch buffer, then runs the adjoint
//   dS += q doᵀ;  dp = dSᵀ b;  dS_{t-1} = diag(w) dS + a dpᵀ,
//   dq = S_t do, dk = dS v, dv = dSᵀ k, dlogw = w ⊙ rowsum(dS ∘ S_{t-1}), db = dS p, da = S_{t-1} dp.
// Sums over the value dim are per tile (partials [VT, …]) and summed afterwards. q, k, logw, a, b travel
// packed as one [B,T,H,5,K] tensor so that the backward kernel stays within 9 storage bindings.
// This form is O(T) sequential; the chunked (WY-style) training form is dplr-chunk.ts.

import { record } from '../../autograd.js';
import type { Engine } from '../../engine.js';
import { formatShape, type Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { sum } from '../reduce.js';
import { concat, reshape } from '../shape.js';
import { MAX_BV, STATE_THREADS, STATE_TILE } from './chunk-kernels.js';
import { checkBindingLimit, placeholder, valueTile } from './common.js';

export interface DplrInputs {
  /** [B, T, H, K] each; logw ≤ 0 is the log decay per key channel. */
  q: Tensor;
  k: Tensor;
  logw: Tensor;
  a: Tensor;
  b: Tensor;
  /** [B, T, H, V] */
  v: Tensor;
}

const OP = 'dplrDeltaRule';
/** Tokens between stored states (the backward recomputes at most this many states per chunk). */
const CHECKPOINT = 32;

const PARAMS = `
struct Params { B: u32, T: u32, H: u32, K: u32, V: u32, BV: u32, C: u32, NT: u32, flags: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> u: Params;
fn tok(b: u32, t: u32, h: u32) -> u32 { return (b * u.T + t) * u.H + h; }
// Channel i of vector m (0 q, 1 k, 2 logw, 3 a, 4 b) of token row r in the packed [B, T, H, 5, K] input.
fn vec(r: u32, m: u32, i: u32) -> f32 { return packed[(r * 5u + m) * u.K + i]; }`;

const MAIN = `
@compute @workgroup_size(${STATE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let K = u.K;
  let V = u.V;
  let BV = u.BV;
  let v0 = wid.x * BV;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;
  let tile = K * BV;`;

const FORWARD = `
${PARAMS}
@group(0) @binding(1) var<storage, read> packed: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> h0: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> final_state: array<f32>;
@group(0) @binding(6) var<storage, read_write> hs: array<f32>;
var<workgroup> st: array<f32, ${STATE_TILE}>;
var<workgroup> p: array<f32, ${MAX_BV}>;
${MAIN}
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    var x = 0.0;
    if ((u.flags & 1u) != 0u && vv < V) { x = h0[(bh * K + e / BV) * V + vv]; }
    st[e] = x;
  }
  workgroupBarrier();
  for (var t = 0u; t < u.T; t++) {
    let r = tok(b, t, h);
    if ((u.flags & 4u) != 0u && t % u.C == 0u) {
      for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
        let vv = v0 + e % BV;
        if (vv < V) { hs[((bh * u.NT + t / u.C) * K + e / BV) * V + vv] = st[e]; }
      }
    }
    if (lid < BV) {
      var acc = 0.0;
      for (var i = 0u; i < K; i++) { acc += vec(r, 3u, i) * st[i * BV + lid]; }
      p[lid] = acc;
    }
    workgroupBarrier();
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
      let i = e / BV;
      let c = e % BV;
      let vv = min(v0 + c, V - 1u);
      st[e] = exp(vec(r, 2u, i)) * st[e] + vec(r, 4u, i) * p[c] + vec(r, 1u, i) * v[r * V + vv];
    }
    workgroupBarrier();
    // The next token's first phase only reads S, so o_t needs no barrier after it.
    if (lid < BV && v0 + lid < V) {
      var acc = 0.0;
      for (var i = 0u; i < K; i++) { acc += vec(r, 0u, i) * st[i * BV + lid]; }
      o[r * V + v0 + lid] = acc;
    }
  }
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < V) { final_state[(bh * K + e / BV) * V + vv] = st[e]; }
  }
}`;

const BACKWARD = `
${PARAMS}
@group(0) @binding(1) var<storage, read> packed: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> hs: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> dfinal: array<f32>;
@group(0) @binding(6) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(7) var<storage, read_write> dpart: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
@group(0) @binding(9) var<storage, read_write> dh0: array<f32>;
var<workgroup> ds: array<f32, ${STATE_TILE}>;
var<workgroup> p: array<f32, ${MAX_BV}>;
var<workgroup> dp: array<f32, ${MAX_BV}>;
${MAIN}
  let VT = (V + BV - 1u) / BV;
  // This workgroup's C + 1 recomputed states: slot s holds S after s tokens of the current chunk.
  let own = (wid.y * VT + wid.x) * (u.C + 1u) * tile;
  // Partial sums of vector m's gradient for token row r from this value tile.
  let tokens = u.B * u.T * u.H;
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    var x = 0.0;
    if ((u.flags & 2u) != 0u && vv < V) { x = dfinal[(bh * K + e / BV) * V + vv]; }
    ds[e] = x;
  }
  workgroupBarrier();
  for (var step = 0u; step < u.NT; step++) {
    let n = u.NT - 1u - step;
    let t0 = n * u.C;
    let len = min(u.C, u.T - t0);
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
      let vv = v0 + e % BV;
      var x = 0.0;
      if (vv < V) { x = hs[((bh * u.NT + n) * K + e / BV) * V + vv]; }
      scratch[own + e] = x;
    }
    storageBarrier();
    for (var s = 0u; s < len; s++) {
      let r = tok(b, t0 + s, h);
      if (lid < BV) {
        var acc = 0.0;
        for (var i = 0u; i < K; i++) { acc += vec(r, 3u, i) * scratch[own + s * tile + i * BV + lid]; }
        p[lid] = acc;
      }
      workgroupBarrier();
      for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
        let i = e / BV;
        let vv = min(v0 + e % BV, V - 1u);
        scratch[own + (s + 1u) * tile + e] =
          exp(vec(r, 2u, i)) * scratch[own + s * tile + e] + vec(r, 4u, i) * p[e % BV] + vec(r, 1u, i) * v[r * V + vv];
      }
      storageBarrier();
    }
    for (var sr = 0u; sr < len; sr++) {
      let s = len - 1u - sr;
      let r = tok(b, t0 + s, h);
      let prev = own + s * tile;
      let cur = own + (s + 1u) * tile;
      for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
        let vv = v0 + e % BV;
        if (vv < V) { ds[e] += vec(r, 0u, e / BV) * dout[r * V + vv]; }
      }
      workgroupBarrier();
      if (lid < BV) {
        var pj = 0.0;
        var dpj = 0.0;
        var dvj = 0.0;
        for (var i = 0u; i < K; i++) {
          pj += vec(r, 3u, i) * scratch[prev + i * BV + lid];
          dpj += ds[i * BV + lid] * vec(r, 4u, i);
          dvj += ds[i * BV + lid] * vec(r, 1u, i);
        }
        p[lid] = pj;
        dp[lid] = dpj;
        if (v0 + lid < V) { dv[r * V + v0 + lid] = dvj; }
      }
      workgroupBarrier();
      for (var i = lid; i < K; i += ${STATE_THREADS}u) {
        var gq = 0.0;
        var gw = 0.0;
        var gb = 0.0;
        var gk = 0.0;
        var ga = 0.0;
        for (var c = 0u; c < BV; c++) {
          let vv = v0 + c;
          if (vv < V) {
            let e = i * BV + c;
            gq += scratch[cur + e] * dout[r * V + vv];
            gw += ds[e] * scratch[prev + e];
            gb += ds[e] * p[c];
            gk += ds[e] * v[r * V + vv];
            ga += scratch[prev + e] * dp[c];
          }
        }
        let base = ((wid.x * tokens + r) * 5u) * K + i;
        dpart[base] = gq;
        dpart[base + K] = gk;
        dpart[base + 2u * K] = exp(vec(r, 2u, i)) * gw;
        dpart[base + 3u * K] = ga;
        dpart[base + 4u * K] = gb;
      }
      workgroupBarrier();
      for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
        let i = e / BV;
        ds[e] = exp(vec(r, 2u, i)) * ds[e] + vec(r, 3u, i) * dp[e % BV];
      }
      workgroupBarrier();
    }
  }
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < V) { dh0[(bh * K + e / BV) * V + vv] = ds[e]; }
  }
}`;

function uniforms(B: number, T: number, H: number, K: number, V: number, bv: number, flags: number): ArrayBuffer {
  const bytes = new ArrayBuffer(48);
  const view = new DataView(bytes);
  const chunks = Math.ceil(T / CHECKPOINT);
  [B, T, H, K, V, bv, CHECKPOINT, chunks, flags].forEach((x, i) => view.setUint32(4 * i, x, true));
  return bytes;
}

/** Shapes of the inputs and the initial state against q's [B, T, H, K]; errors name `op` and the input. */
export function checkDplrInputs(x: DplrInputs, initialState?: Tensor, op = OP) {
  if (x.q.shape.length !== 4) throw new RangeError(`${op}: q must be [B, T, H, K], got ${x.q.describe()}`);
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  for (const name of ['k', 'logw', 'a', 'b'] as const) {
    if (x[name].shape.join() !== x.q.shape.join()) {
      throw new RangeError(`${op}: ${name} must have shape ${formatShape(x.q.shape)}, got ${x[name].describe()}`);
    }
  }
  if (x.v.shape.length !== 4 || x.v.shape[0] !== B || x.v.shape[1] !== T || x.v.shape[2] !== H) {
    throw new RangeError(`${op}: v must have shape [${B},${T},${H},V], got ${x.v.describe()}`);
  }
  if (initialState && initialState.shape.join() !== [B, H, K, V].join()) {
    throw new RangeError(
      `${op}: initialState must have shape ${formatShape([B, H, K, V])}, got ${initialState.describe()}`,
    );
  }
  return { B, T, H, K, V };
}

/** RWKV-7's state transition over a sequence; differentiable in every input and the initial state. */
export function dplrDeltaRule(
  x: DplrInputs,
  options: { initialState?: Tensor } = {},
): { o: Tensor; finalState: Tensor } {
  const d = checkDplrInputs(x, options.initialState);
  const { B, T, H, K, V } = d;
  const engine = x.q.engine;
  checkBindingLimit(OP, engine, 9);
  const bv = valueTile({ B, T, H, K, V });
  const VT = Math.ceil(V / bv);
  const NT = Math.ceil(T / CHECKPOINT);
  const packed = concat(
    [x.q, x.k, x.logw, x.a, x.b].map((t) => reshape(t, [B, T, H, 1, K])),
    3,
  );
  const inputs = [packed, x.v, ...(options.initialState ? [options.initialState] : [])];
  const training = engine.isGradEnabled && inputs.some((t) => t.requiresGrad);
  const h0 = options.initialState ?? placeholder(engine);
  const o = engine.empty([B, T, H, V]);
  const finalState = engine.empty([B, H, K, V]);
  const hs = training ? engine.empty([B * H, NT, K, V]) : placeholder(engine);
  engine.dispatch(
    { name: 'dplr:forward', wgsl: FORWARD },
    {
      bindings: [packed, x.v, h0, o, finalState, hs],
      uniforms: uniforms(B, T, H, K, V, bv, (options.initialState ? 1 : 0) | (training ? 4 : 0)),
      workgroups: [VT, B * H],
    },
  );
  if (!options.initialState) h0.release();
  if (!training) {
    hs.release();
    return { o, finalState };
  }
  let finalStateGrad: Tensor | null = null;
  record(o, OP, inputs, (gO) => {
    const grads = dplrBackward(engine, d, bv, { packed, v: x.v, hs }, gO, finalStateGrad);
    return options.initialState ? grads : grads.slice(0, 2);
  });
  // As in chunkDeltaRule: the final state's node runs first and hands its gradient to o's backward.
  record(finalState, `${OP}.finalState`, [o], (gS) => {
    finalStateGrad = gS;
    return [zeros(engine, o.shape)];
  });
  return { o, finalState };
}

function dplrBackward(
  engine: Engine,
  d: { B: number; T: number; H: number; K: number; V: number },
  bv: number,
  saved: { packed: Tensor; v: Tensor; hs: Tensor },
  gO: Tensor,
  gState: Tensor | null,
): Tensor[] {
  const { B, T, H, K, V } = d;
  const VT = Math.ceil(V / bv);
  const dfinal = gState ?? placeholder(engine);
  const scratch = engine.empty([B * H * VT, CHECKPOINT + 1, K * bv]);
  const dpart = engine.empty([VT, B, T, H, 5, K]);
  const dv = engine.empty([B, T, H, V]);
  const dh0 = engine.empty([B, H, K, V]);
  engine.dispatch(
    { name: 'dplr:backward', wgsl: BACKWARD },
    {
      bindings: [saved.packed, saved.v, saved.hs, gO, dfinal, scratch, dpart, dv, dh0],
      uniforms: uniforms(B, T, H, K, V, bv, gState ? 2 : 0),
      workgroups: [VT, B * H],
    },
  );
  const dpacked = sum(dpart, 0);
  for (const t of [scratch, dpart]) t.release();
  if (!gState) dfinal.release();
  return [dpacked, dv, dh0];
}

/** One token with carried state [B, H, K, V]: q, k, logw, a, b [B, H, K]; v [B, H, V]. */
export function dplrStep(x: DplrInputs, state: Tensor): { o: Tensor; state: Tensor } {
  const [B, H, K] = x.q.shape;
  const V = x.v.shape[2];
  const token = (t: Tensor, width: number) => reshape(t, [B, 1, H, width]);
  const out = dplrDeltaRule(
    {
      q: token(x.q, K),
      k: token(x.k, K),
      logw: token(x.logw, K),
      a: token(x.a, K),
      b: token(x.b, K),
      v: token(x.v, V),
    },
    { initialState: state },
  );
  return { o: reshape(out.o, [B, H, V]), state: out.finalState };
}
