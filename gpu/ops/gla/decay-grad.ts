// Gradient of the log decay, shared by the chunked and the recurrent forms. With G_t = Σ_{s≤t} g_s
// the cumulative decay over the whole sequence, q_t enters every output with exp(+G_t) and k_t every
// later state with exp(−G_t), and the final state S_T carries exp(G_T) on each of its terms, so
//   ∂L/∂G_t = q_t ⊙ dq_t − k_t ⊙ dk_t  (+ Σ_c S_T ⊙ dS_T at t = T−1),
// and dg_s = Σ_{t≥s} ∂L/∂G_t: a reverse cumulative sum over time. No exponential is taken here, so
// strong decays cannot overflow it. Per key channel: one invocation per (batch·head, channel) walks the
// tokens backwards. Per head (scalar): one workgroup per head (below).

import type { Engine } from '../../engine.js';
import { linearGrid, linearMain } from '../../grid.js';
import type { Tensor } from '../../tensor.js';
import { GLA_PARAMS, HAS_FINAL_GRAD, glaUniforms, type GlaDims } from './common.js';

// Both kernels read the same buffers.
const BINDINGS = `${GLA_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> dq: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> dk: array<f32>;
@group(0) @binding(5) var<storage, read> final_state: array<f32>;
@group(0) @binding(6) var<storage, read> dfinal: array<f32>;
@group(0) @binding(7) var<storage, read_write> dg: array<f32>;`;

const DECAY_GRAD_KERNEL = `${BINDINGS}
${linearMain()}
  if (i >= u.B * u.H * u.GK) { return; }
  let ch = i % u.GK;
  let bh = i / u.GK;
  let b = bh / u.H;
  let h = bh % u.H;
  // The key channels this invocation owns: its own one, or all of them for a scalar decay.
  let d0 = select(0u, ch, u.GK > 1u);
  let d1 = select(u.K, ch + 1u, u.GK > 1u);
  var acc = 0.0;
  if ((u.flags & ${HAS_FINAL_GRAD}u) != 0u) {
    for (var d = d0; d < d1; d++) {
      for (var c = 0u; c < u.V; c++) {
        let e = (bh * u.K + d) * u.V + c;
        acc += final_state[e] * dfinal[e];
      }
    }
  }
  for (var m = 0u; m < u.T; m++) {
    let r = tok(b, u.T - 1u - m, h);
    for (var d = d0; d < d1; d++) { acc += q[r * u.K + d] * dq[r * u.K + d] - k[r * u.K + d] * dk[r * u.K + d]; }
    dg[r * u.GK + ch] = acc;
  }
}`;

// A scalar decay per head has only B·H reverse sums, too few invocations to walk T·K terms each (32 threads
// did 2·T·K serial steps in the layers bench: most of Mamba-2's backward). Here a workgroup owns a head:
// each invocation sums the K-channel terms of a contiguous block of tokens, a suffix scan over the blocks
// gives each block what the later tokens add, and a walk back through the block writes dg.
const SCALAR_THREADS = 256;
const SCALAR_DECAY_GRAD_KERNEL = `${BINDINGS}
var<workgroup> partial: array<f32, ${SCALAR_THREADS}>;
@compute @workgroup_size(${SCALAR_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let bh = wid.x;
  let b = bh / u.H;
  let h = bh % u.H;
  // Σ S_T ⊙ dS_T over this head's state: every token's dg carries it.
  var f = 0.0;
  if ((u.flags & ${HAS_FINAL_GRAD}u) != 0u) {
    for (var e = tid; e < u.K * u.V; e += ${SCALAR_THREADS}u) { f += final_state[bh * u.K * u.V + e] * dfinal[bh * u.K * u.V + e]; }
  }
  partial[tid] = f;
  workgroupBarrier();
  for (var stride = ${SCALAR_THREADS / 2}u; stride > 0u; stride = stride / 2u) {
    if (tid < stride) { partial[tid] += partial[tid + stride]; }
    workgroupBarrier();
  }
  let finalTerm = partial[0];
  workgroupBarrier();
  // This invocation's tokens [t0, t1): their terms, parked in dg until the walk back.
  let per = (u.T + ${SCALAR_THREADS - 1}u) / ${SCALAR_THREADS}u;
  let t0 = min(u.T, tid * per);
  let t1 = min(u.T, t0 + per);
  var blockSum = 0.0;
  for (var t = t0; t < t1; t++) {
    let r = tok(b, t, h);
    var term = 0.0;
    for (var d = 0u; d < u.K; d++) { term += q[r * u.K + d] * dq[r * u.K + d] - k[r * u.K + d] * dk[r * u.K + d]; }
    dg[r] = term;
    blockSum += term;
  }
  // Inclusive suffix sums of the block sums (Hillis-Steele).
  partial[tid] = blockSum;
  workgroupBarrier();
  for (var off = 1u; off < ${SCALAR_THREADS}u; off = off * 2u) {
    var later = 0.0;
    if (tid + off < ${SCALAR_THREADS}u) { later = partial[tid + off]; }
    workgroupBarrier();
    partial[tid] += later;
    workgroupBarrier();
  }
  var acc = finalTerm + partial[tid] - blockSum;
  for (var m = t0; m < t1; m++) {
    let r = tok(b, t1 - 1u - (m - t0), h);
    acc += dg[r];
    dg[r] = acc;
  }
}`;

/** dg of g's shape from q, k, their gradients and (when given) the final state and its gradient. */
export function decayGrad(
  engine: Engine,
  d: GlaDims,
  g: Tensor,
  x: { q: Tensor; dq: Tensor; k: Tensor; dk: Tensor; finalState: Tensor; dFinal: Tensor | null },
): Tensor {
  const dg = engine.empty(g.shape);
  const dfinal = x.dFinal ?? engine.empty([1]);
  const scalar = d.GK === 1;
  engine.dispatch(
    scalar
      ? { name: 'gla:decay-grad-scalar', wgsl: SCALAR_DECAY_GRAD_KERNEL }
      : { name: 'gla:decay-grad', wgsl: DECAY_GRAD_KERNEL },
    {
      bindings: [x.q, x.dq, x.k, x.dk, x.finalState, dfinal, dg],
      uniforms: glaUniforms(d, 1, 1, x.dFinal ? HAS_FINAL_GRAD : 0),
      workgroups: scalar ? [d.B * d.H, 1] : linearGrid(d.B * d.H * d.GK),
    },
  );
  if (!x.dFinal) dfinal.release();
  return dg;
}
