// WGSL of the diagonal (ParaRNN) cells outside the scan: the sequential forward and BPTT kernels (one
// invocation per (batch row, unit) walks all T steps — the units never talk to each other, so this
// is the exact "sequential application" baseline), Newton's initial guess, and the deterministic
// reduction of Newton's residual. All share the scan's uniform block (B, T, d, chunk, chunks, iter, tol).
//
// Layouts (d = hidden units): x [B, T, NI, d], params [NP, d], states [B, T, S, d], s0 and final
// state [B, S, d], y [B, T, d].

import { ACTIVATIONS_WGSL } from '../rnn/activations.js';
import { SCAN_PARAMS_WGSL } from './block-scan.js';
import { jacobianWgsl, type DiagCell } from './diag-cells.js';

/** Constants, activations, the cell's step/vjp/Jacobian. Expects `S` to be defined before it. */
export function diagCellWgsl(cell: DiagCell): string {
  return `
const NI = ${cell.pre.length}u;
const NP = ${cell.params.length}u;
const OUT = ${cell.output}u;
struct DiagGrad { dx: array<f32, NI>, dp: array<f32, NP>, ds: array<f32, S> }
${ACTIVATIONS_WGSL}
${cell.wgsl}
${jacobianWgsl(cell)}`;
}

/**
 * Loaders of x_t and the unit's parameters (bindings `pre`, `params`), and optionally of a stored
 * state (binding `states`) and of the initial state (binding `s0`).
 */
export function diagLoaders({ states = false, initial = false } = {}): string {
  return `
fn loadPre(b: u32, t: u32, unit: u32) -> array<f32, NI> {
  var x: array<f32, NI>;
  for (var k = 0u; k < NI; k++) { x[k] = pre[((b * u.T + t) * NI + k) * u.d + unit]; }
  return x;
}
fn loadParams(unit: u32) -> array<f32, NP> {
  var p: array<f32, NP>;
  for (var k = 0u; k < NP; k++) { p[k] = params[k * u.d + unit]; }
  return p;
}${
    states
      ? `
fn loadState(b: u32, t: u32, unit: u32) -> array<f32, S> {
  var s: array<f32, S>;
  for (var q = 0u; q < S; q++) { s[q] = states[((b * u.T + t) * S + q) * u.d + unit]; }
  return s;
}`
      : ''
  }${
    initial
      ? `
fn loadInitial(b: u32, unit: u32) -> array<f32, S> {
  var s: array<f32, S>;
  for (var q = 0u; q < S; q++) { s[q] = s0[(b * S + q) * u.d + unit]; }
  return s;
}`
      : ''
  }`;
}

function prelude(cell: DiagCell): string {
  return `${SCAN_PARAMS_WGSL}
const S = ${cell.states.length}u;
${diagCellWgsl(cell)}`;
}

const MAIN_PER_UNIT = `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.B * u.d) { return; }
  let unit = i % u.d;
  let b = i / u.d;`;

/** Sequential forward: y, final state and (with `saveStates`) every state. */
export function sequentialForwardKernel(cell: DiagCell, saveStates: boolean): string {
  return `${prelude(cell)}
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> s0: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> sT: array<f32>;
${saveStates ? '@group(0) @binding(6) var<storage, read_write> states: array<f32>;' : ''}
${diagLoaders({ initial: true })}
${MAIN_PER_UNIT}
  let p = loadParams(unit);
  var s = loadInitial(b, unit);
  // x_{t+1} is loaded while step t computes: the loads do not wait on the recurrence.
  var xNext = loadPre(b, 0u, unit);
  for (var t = 0u; t < u.T; t++) {
    let xt = xNext;
    if (t + 1u < u.T) { xNext = loadPre(b, t + 1u, unit); }
    s = cellStep(xt, p, s);
    y[(b * u.T + t) * u.d + unit] = s[OUT];
    ${saveStates ? 'for (var q = 0u; q < S; q++) { states[((b * u.T + t) * S + q) * u.d + unit] = s[q]; }' : ''}
  }
  for (var q = 0u; q < S; q++) { sT[(b * S + q) * u.d + unit] = s[q]; }
}`;
}

/** Sequential BPTT: dpre [B, T, NI, d] and per-batch-row parameter gradients [B, NP, d]. */
export function sequentialBackwardKernel(cell: DiagCell): string {
  return `${prelude(cell)}
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> s0: array<f32>;
@group(0) @binding(4) var<storage, read> states: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(7) var<storage, read_write> dpRows: array<f32>;
${diagLoaders({ states: true, initial: true })}
${MAIN_PER_UNIT}
  let p = loadParams(unit);
  var lam: array<f32, S>;
  var dpAcc: array<f32, NP>;
  for (var step = 0u; step < u.T; step++) {
    let t = u.T - 1u - step;
    lam[OUT] += dy[(b * u.T + t) * u.d + unit];
    var sp: array<f32, S>;
    if (t > 0u) { sp = loadState(b, t - 1u, unit); } else { sp = loadInitial(b, unit); }
    let g = cellVjp(loadPre(b, t, unit), p, sp, lam);
    for (var k = 0u; k < NI; k++) { dpre[((b * u.T + t) * NI + k) * u.d + unit] = g.dx[k]; }
    for (var k = 0u; k < NP; k++) { dpAcc[k] += g.dp[k]; }
    lam = g.ds;
  }
  for (var k = 0u; k < NP; k++) { dpRows[(b * NP + k) * u.d + unit] = dpAcc[k]; }
}`;
}

/** Newton's initial guess s_t = f(0, x_t) (f(s0, x_0) at t = 0), all steps in parallel. */
export function initialGuessKernel(cell: DiagCell): string {
  return `${prelude(cell)}
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> s0: array<f32>;
@group(0) @binding(4) var<storage, read_write> states: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> sT: array<f32>;
${diagLoaders({ initial: true })}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.B * u.T * u.d) { return; }
  let unit = i % u.d;
  let t = (i / u.d) % u.T;
  let b = i / (u.d * u.T);
  var sp: array<f32, S>;
  if (t == 0u) { sp = loadInitial(b, unit); }
  let s = cellStep(loadPre(b, t, unit), loadParams(unit), sp);
  for (var q = 0u; q < S; q++) {
    states[((b * u.T + t) * S + q) * u.d + unit] = s[q];
    if (t == u.T - 1u) { sT[(b * S + q) * u.d + unit] = s[q]; }
  }
  y[(b * u.T + t) * u.d + unit] = s[OUT];
}`;
}

/** Invocations per workgroup of the residual reduction. */
export const RESIDUAL_REDUCE_WG = 256;

/** Workgroups of the residual reduction over n partials: ~8 partials per invocation, at most 256 groups. */
export function residualReduceGroups(n: number): number {
  return Math.max(1, Math.min(256, Math.ceil(n / (8 * RESIDUAL_REDUCE_WG))));
}

/**
 * residuals[iter] = max of the per-(row, chunk, unit) residual partials. Many workgroups each reduce a
 * strided slice by a tree, then fold it in with atomicMax on the float's bits: for non-negative floats
 * (the partials are |r| or the finite sentinel) the u32 order is the float order, and max is
 * order-independent, so the result is deterministic. One workgroup reading every partial took longer
 * than the scan phases it summarizes (~1 MB of partials through one SM, once per iteration).
 * `residuals` must start at zero. Once an earlier iterate has converged the value is carried forward
 * without reading the partials, which the skipped iterations left stale.
 */
export const RESIDUAL_REDUCE_WGSL = `
struct Params { n: u32, iter: u32, tol: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> residuals: array<atomic<u32>>;
const WG = ${RESIDUAL_REDUCE_WG}u;
var<workgroup> scratch: array<f32, WG>;
var<workgroup> settled: u32;
@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  if (lid == 0u) {
    settled = 0u;
    if (u.iter > 0u) {
      let before = atomicLoad(&residuals[u.iter - 1u]);
      if (bitcast<f32>(before) <= u.tol) {
        settled = 1u;
        if (wid.x == 0u) { atomicMax(&residuals[u.iter], before); }
      }
    }
  }
  if (workgroupUniformLoad(&settled) == 1u) { return; }
  var worst = 0.0;
  for (var i = wid.x * WG + lid; i < u.n; i += nwg.x * WG) { worst = max(worst, partials[i]); }
  scratch[lid] = worst;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { scratch[lid] = max(scratch[lid], scratch[lid + stride]); }
    workgroupBarrier();
  }
  if (lid == 0u) { atomicMax(&residuals[u.iter], bitcast<u32>(scratch[0])); }
}`;
