// The inter-chunk state passing of the chunked generalized delta rule, as a differentiable op: the
// matrix linear recurrence over chunks
//   S_{n+1} = M_n S_n + R_n,    n = 0 … NT−1,   S_0 the initial state (zeros when absent),
// with M_n [K, K] the chunk's whole transition (Diag(e^{γ_C}) + B̂ᵀ W) and R_n [K, V] its input
// (B̂ᵀ U + K̂ᵀ V). Returns every entering state S_n (the chunks' outputs read them) and S_NT.
// The value columns of S evolve independently, so one workgroup owns (value tile, batch·head) and keeps
// its [K, BV] tile in workgroup memory while it walks the NT chunks, as the delta rule's state kernel.
// The adjoint walks back:  G_NT = dS_NT;  dR_n = G_{n+1};  G_n = M_nᵀ G_{n+1} + dS_n(read by chunk n);
// dS_0 = G_0; and dM_n = G_{n+1} S_nᵀ is one batched product afterwards (parallel over chunks).

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { matmul } from '../matmul.js';
import { STATE_THREADS, STATE_TILE } from './chunk-kernels.js';
import { placeholder, valueTile } from './common.js';

const OP = 'chunkStateScan';

const PARAMS = `
struct Params { NT: u32, K: u32, V: u32, BV: u32, flags: u32 }
@group(0) @binding(0) var<uniform> u: Params;`;

const MAIN = `
var<workgroup> st: array<f32, ${STATE_TILE}>;
var<workgroup> nx: array<f32, ${STATE_TILE}>;
@compute @workgroup_size(${STATE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let K = u.K;
  let V = u.V;
  let BV = u.BV;
  let v0 = wid.x * BV;
  let bh = wid.y;
  let tile = K * BV;
  // Element e of the tile is state entry (row e / BV, value column v0 + e % BV) of this head.
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    var x = 0.0;
    if ((u.flags & 1u) != 0u && vv < V) { x = start[(bh * K + e / BV) * V + vv]; }
    st[e] = x;
  }
  workgroupBarrier();`;

const FORWARD = `${PARAMS}
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read> start: array<f32>;
@group(0) @binding(4) var<storage, read_write> states: array<f32>;
@group(0) @binding(5) var<storage, read_write> last: array<f32>;
${MAIN}
  for (var n = 0u; n < u.NT; n++) {
    let chunk = bh * u.NT + n;
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
      let i = e / BV;
      let c = e % BV;
      let vv = v0 + c;
      var acc = 0.0;
      if (vv < V) {
        states[(chunk * K + i) * V + vv] = st[e];
        acc = r[(chunk * K + i) * V + vv];
        for (var j = 0u; j < K; j++) { acc += m[(chunk * K + i) * K + j] * st[j * BV + c]; }
      }
      nx[e] = acc;
    }
    workgroupBarrier();
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) { st[e] = nx[e]; }
    workgroupBarrier();
  }
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < V) { last[(bh * K + e / BV) * V + vv] = st[e]; }
  }
}`;

// `start` is the final state's gradient here, `st` the running G.
const BACKWARD = `${PARAMS}
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read> dstates: array<f32>;
@group(0) @binding(3) var<storage, read> start: array<f32>;
@group(0) @binding(4) var<storage, read_write> dr: array<f32>;
@group(0) @binding(5) var<storage, read_write> dfirst: array<f32>;
${MAIN}
  for (var step = 0u; step < u.NT; step++) {
    let chunk = bh * u.NT + u.NT - 1u - step;
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
      let i = e / BV;
      let c = e % BV;
      let vv = v0 + c;
      var acc = 0.0;
      if (vv < V) {
        dr[(chunk * K + i) * V + vv] = st[e];
        acc = dstates[(chunk * K + i) * V + vv];
        for (var j = 0u; j < K; j++) { acc += m[(chunk * K + j) * K + i] * st[j * BV + c]; }
      }
      nx[e] = acc;
    }
    workgroupBarrier();
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) { st[e] = nx[e]; }
    workgroupBarrier();
  }
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < V) { dfirst[(bh * K + e / BV) * V + vv] = st[e]; }
  }
}`;

/**
 * S_{n+1} = M_n S_n + R_n over the chunks of every batch·head. m [BH, NT, K, K], r [BH, NT, K, V],
 * initial [BH, K, V] (optional). Returns `states` [BH, NT, K, V] (S_n entering chunk n) and `last`
 * [BH, K, V] (S_NT); differentiable in m, r and the initial state through both.
 */
export function chunkStateScan(m: Tensor, r: Tensor, initial?: Tensor): { states: Tensor; last: Tensor } {
  if (m.shape.length !== 4 || m.shape[2] !== m.shape[3]) {
    throw new RangeError(`${OP}: m must be [BH, NT, K, K], got ${m.describe()}`);
  }
  const [BH, NT, K] = m.shape;
  if (r.shape.length !== 4 || r.shape[0] !== BH || r.shape[1] !== NT || r.shape[2] !== K) {
    throw new RangeError(`${OP}: r must be [${BH}, ${NT}, ${K}, V], got ${r.describe()}`);
  }
  const V = r.shape[3];
  if (initial && initial.shape.join() !== [BH, K, V].join()) {
    throw new RangeError(`${OP}: initial must be [${BH}, ${K}, ${V}], got ${initial.describe()}`);
  }
  const engine = m.engine;
  const bv = valueTile({ B: 1, T: 1, H: 1, K, V });
  const workgroups: [number, number] = [Math.ceil(V / bv), BH];
  const start = initial ?? placeholder(engine);
  const states = engine.empty([BH, NT, K, V]);
  const last = engine.empty([BH, K, V]);
  engine.dispatch(
    { name: 'dplr-chunk:scan', wgsl: FORWARD },
    {
      bindings: [m, r, start, states, last],
      uniforms: uniformBytes([NT, K, V, bv, initial ? 1 : 0]),
      workgroups,
    },
  );
  if (!initial) start.release();
  const inputs = [m, r, ...(initial ? [initial] : [])];
  if (!engine.isGradEnabled || !inputs.some((t) => t.requiresGrad)) return { states, last };

  // Two outputs, one backward: `last`'s node runs first (it lists `states` as its input, so the tape
  // orders it after the scan), stashes its gradient, and `states`' node runs the whole adjoint.
  let lastGrad: Tensor | null = null;
  record(states, OP, inputs, (gStates) => {
    const gLast = lastGrad;
    lastGrad = null;
    const dfinal = gLast ?? placeholder(engine);
    const dr = engine.empty(r.shape);
    const dfirst = engine.empty([BH, K, V]);
    engine.dispatch(
      { name: 'dplr-chunk:scan-backward', wgsl: BACKWARD },
      {
        bindings: [m, gStates, dfinal, dr, dfirst],
        uniforms: uniformBytes([NT, K, V, bv, gLast ? 1 : 0]),
        workgroups,
      },
    );
    if (!gLast) dfinal.release();
    const dm = m.requiresGrad ? matmul(dr, states, { transB: true }) : null;
    if (!initial) dfirst.release();
    return [dm, dr, ...(initial ? [dfirst] : [])];
  });
  record(last, `${OP}.last`, [states], (gLast) => {
    lastGrad = gLast;
    return [zeros(engine, states.shape)];
  });
  return { states, last };
}
