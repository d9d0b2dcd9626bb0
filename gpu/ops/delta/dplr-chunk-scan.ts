// The inter-chunk state passing of the chunked generalized delta rule, as a differentiable op: the
// recurrence over chunks
//   S_{n+1} = Diag(d_n) S_n + B̂_nᵀ (W_n S_n) + R_n,    n = 0 … NT−1,   S_0 the initial state (or zeros),
// i.e. the chunk's whole transition Diag(e^{γ_C}) + B̂ᵀW (diagonal plus rank C, never formed as a K×K
// matrix) and its input R = B̂ᵀU + K̂ᵀV. Returns every entering state S_n (the chunks' outputs read them)
// and S_NT. The value columns of S evolve independently, so one workgroup owns (value tile, batch·head)
// and keeps its [K, BV] tile in workgroup memory while it walks the NT chunks (as the delta rule's state
// kernel). The adjoint walks back with G_{n+1} = ∂L/∂S_{n+1} (G_NT = the last state's gradient):
//   dR_n = G_{n+1};  Y_n = B̂_n G_{n+1};  G_n = Diag(d_n) G_{n+1} + W_nᵀ Y_n + ∂L/∂S_n (as read by chunk n);
// then, parallel over chunks, dd_n = rowsum(G_{n+1} ⊙ S_n), dW_n = Y_n S_nᵀ, dB̂_n = (W_n S_n) G_{n+1}ᵀ.

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { mul, zeros } from '../elementwise.js';
import { matmul } from '../matmul.js';
import { sum } from '../reduce.js';
import { MAX_BV, STATE_THREADS, STATE_TILE } from './chunk-kernels.js';
import { placeholder, valueTile } from './common.js';

const OP = 'chunkStateScan';
/** Longest chunk: the workgroup holds one [C, BV] block of W S (or B̂ G). */
const MAX_CHUNK = 64;

export interface ChunkTransitions {
  /** d_n = e^{γ_C}, the chunk's diagonal decay: [BH, NT, K]. */
  decay: Tensor;
  /** B̂_n, W_n: [BH, NT, C, K] (the transition's low-rank part is B̂ᵀW). */
  bHat: Tensor;
  w: Tensor;
  /** R_n: [BH, NT, K, V]. */
  r: Tensor;
}

const PARAMS = `
struct Params { NT: u32, C: u32, K: u32, V: u32, BV: u32, flags: u32 }
@group(0) @binding(0) var<uniform> u: Params;`;

// Shared by both directions: `start` seeds the tile (initial state / last state's gradient).
const MAIN = `
var<workgroup> st: array<f32, ${STATE_TILE}>;
var<workgroup> y: array<f32, ${MAX_CHUNK * MAX_BV}>;
@compute @workgroup_size(${STATE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let C = u.C;
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

/**
 * One direction of the scan. Forward: y = W S, S ← Diag(d) S + B̂ᵀ y + R, writing every entering S and the
 * last. Adjoint (reverse): y = B̂ G, G ← Diag(d) G + Wᵀ y + ∂L/∂S, writing every dR = G_{n+1} and dS_0. The
 * two mirror each other with W and B̂ swapped, so one generator writes both.
 */
function scanKernel(o: {
  reverse: boolean;
  /** The product read first (y = left · tile) and the one applied transposed (tile += rightᵀ y). */
  left: 'w' | 'bhat';
  right: 'w' | 'bhat';
  /** Added to the tile every chunk ([BH, NT, K, V]); the tile written per chunk; the final tile. */
  input: string;
  perChunk: string;
  final: string;
}): string {
  return `${PARAMS}
@group(0) @binding(1) var<storage, read> decay: array<f32>;
@group(0) @binding(2) var<storage, read> bhat: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> ${o.input}: array<f32>;
@group(0) @binding(5) var<storage, read> start: array<f32>;
@group(0) @binding(6) var<storage, read_write> ${o.perChunk}: array<f32>;
@group(0) @binding(7) var<storage, read_write> ${o.final}: array<f32>;
${MAIN}
  for (var step = 0u; step < u.NT; step++) {
    let chunk = bh * u.NT + ${o.reverse ? 'u.NT - 1u - step' : 'step'};
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
      let vv = v0 + e % BV;
      if (vv < V) { ${o.perChunk}[(chunk * K + e / BV) * V + vv] = st[e]; }
    }
    // y = left · tile, [C, BV].
    for (var e = lid; e < C * BV; e += ${STATE_THREADS}u) {
      let j = e / BV;
      let c = e % BV;
      var acc = 0.0;
      for (var i = 0u; i < K; i++) { acc += ${o.left}[(chunk * C + j) * K + i] * st[i * BV + c]; }
      y[e] = acc;
    }
    workgroupBarrier();
    // tile ← Diag(d) tile + rightᵀ y + input: entry e reads only itself and y, so it updates in place.
    for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
      let i = e / BV;
      let c = e % BV;
      let vv = v0 + c;
      var acc = 0.0;
      if (vv < V) {
        acc = decay[chunk * K + i] * st[e] + ${o.input}[(chunk * K + i) * V + vv];
        for (var j = 0u; j < C; j++) { acc += ${o.right}[(chunk * C + j) * K + i] * y[j * BV + c]; }
      }
      st[e] = acc;
    }
    workgroupBarrier();
  }
  for (var e = lid; e < tile; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < V) { ${o.final}[(bh * K + e / BV) * V + vv] = st[e]; }
  }
}`;
}

const FORWARD = scanKernel({ reverse: false, left: 'w', right: 'bhat', input: 'r', perChunk: 'states', final: 'last' });
// The tile holds G; `start` is the last state's gradient.
const BACKWARD = scanKernel({
  reverse: true,
  left: 'bhat',
  right: 'w',
  input: 'dstates',
  perChunk: 'dr',
  final: 'dfirst',
});

function checkShapes(x: ChunkTransitions, initial?: Tensor) {
  if (x.r.shape.length !== 4) throw new RangeError(`${OP}: r must be [BH, NT, K, V], got ${x.r.describe()}`);
  const [BH, NT, K, V] = x.r.shape;
  const C = x.w.shape[2];
  const expect = (name: string, t: Tensor, shape: number[]) => {
    if (t.shape.join() !== shape.join()) {
      throw new RangeError(`${OP}: ${name} must be [${shape.join(', ')}], got ${t.describe()}`);
    }
  };
  expect('decay', x.decay, [BH, NT, K]);
  expect('w', x.w, [BH, NT, C, K]);
  expect('bHat', x.bHat, [BH, NT, C, K]);
  if (initial) expect('initial', initial, [BH, K, V]);
  if (!(C >= 1 && C <= MAX_CHUNK)) throw new RangeError(`${OP}: chunk length ${C} must be in [1, ${MAX_CHUNK}]`);
  return { BH, NT, C, K, V };
}

/**
 * S_{n+1} = Diag(d_n) S_n + B̂_nᵀ (W_n S_n) + R_n over the chunks of every batch·head. Returns `states`
 * [BH, NT, K, V] (S_n entering chunk n) and `last` [BH, K, V] (S_NT); differentiable in every input and the
 * initial state [BH, K, V] (optional) through both.
 */
export function chunkStateScan(x: ChunkTransitions, initial?: Tensor): { states: Tensor; last: Tensor } {
  const { BH, NT, C, K, V } = checkShapes(x, initial);
  const engine = x.r.engine;
  const bv = valueTile({ B: 1, T: 1, H: 1, K, V });
  const workgroups: [number, number] = [Math.ceil(V / bv), BH];
  const start = initial ?? placeholder(engine);
  const states = engine.empty([BH, NT, K, V]);
  const last = engine.empty([BH, K, V]);
  engine.dispatch(
    { name: 'dplr-chunk:scan', wgsl: FORWARD },
    {
      bindings: [x.decay, x.bHat, x.w, x.r, start, states, last],
      uniforms: uniformBytes([NT, C, K, V, bv, initial ? 1 : 0]),
      workgroups,
    },
  );
  if (!initial) start.release();
  const inputs = [x.decay, x.bHat, x.w, x.r, ...(initial ? [initial] : [])];
  if (!engine.isGradEnabled || !inputs.some((t) => t.requiresGrad)) return { states, last };

  // Two outputs, one backward: `last`'s node runs first (it lists `states` as its input, so the tape
  // orders it after the scan), stashes its gradient, and `states`' node runs the whole adjoint.
  let lastGrad: Tensor | null = null;
  record(states, OP, inputs, (gStates) => {
    const gLast = lastGrad;
    lastGrad = null;
    const g = chunkStateScanBackward(x, states, gStates, gLast, !!initial);
    return [g.decay, g.bHat, g.w, g.r, ...(initial ? [g.initial!] : [])];
  });
  record(last, `${OP}.last`, [states], (gLast) => {
    lastGrad = gLast;
    return [zeros(engine, states.shape)];
  });
  return { states, last };
}

/**
 * The scan's adjoint (header): gradients of every transition input and of the initial state (null unless
 * `withInitial`), from the gradients of the entering states (as read by each chunk) and of the last state
 * (null = zero). `states` are the forward's entering states.
 */
export function chunkStateScanBackward(
  x: Omit<ChunkTransitions, 'r'>,
  states: Tensor,
  gStates: Tensor,
  gLast: Tensor | null,
  withInitial: boolean,
): ChunkTransitions & { initial: Tensor | null } {
  const { BH, NT, C, K, V } = checkShapes({ ...x, r: states });
  const engine = states.engine;
  const bv = valueTile({ B: 1, T: 1, H: 1, K, V });
  const dfinal = gLast ?? placeholder(engine);
  const dr = engine.empty(states.shape);
  const dfirst = engine.empty([BH, K, V]);
  engine.dispatch(
    { name: 'dplr-chunk:scan-backward', wgsl: BACKWARD },
    {
      bindings: [x.decay, x.bHat, x.w, gStates, dfinal, dr, dfirst],
      uniforms: uniformBytes([NT, C, K, V, bv, gLast ? 1 : 0]),
      workgroups: [Math.ceil(V / bv), BH],
    },
  );
  if (!gLast) dfinal.release();
  const product = mul(dr, states);
  const decay = sum(product, 3);
  product.release();
  const y = matmul(x.bHat, dr);
  const w = matmul(y, states, { transB: true });
  y.release();
  const z = matmul(x.w, states);
  const bHat = matmul(z, dr, { transB: true });
  z.release();
  if (!withInitial) dfirst.release();
  return { decay, bHat, w, r: dr, initial: withInitial ? dfirst : null };
}
