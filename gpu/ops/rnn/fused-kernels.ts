// WGSL generators of the fused sequential RNN kernels (FlashRNN's persistent-kernel idea on WebGPU):
// one workgroup per (head, batch row) owns one recurrence and loops over all T steps inside a single
// dispatch; only workgroupBarrier synchronizes, so no grid-wide sync is needed. The head's recurrent
// block R [NR, D, D] is copied once into workgroup memory when it fits (else it is read from the
// storage buffer, through the caches). One step is: a matrix-vector product R h (one row per
// invocation), a barrier, the pointwise cell update (one unit per invocation), a barrier.
//
// The backward kernel runs BPTT in reverse time the same way: pointwise cell VJP, barrier, the
// transposed product R^T d(raw) (one column per invocation), barrier. It writes the raw-gate gradients
// of every step in the layout of a batched matrix product, so that dR = Σ_t d(raw)_t ⊗ h_{t−1} is one
// deterministic `matmul` against the h history the forward recorded (no atomics, no per-step work).

import { ACTIVATIONS_WGSL } from './activations.js';
import type { FusedCell } from './cells.js';

export interface FusedKernelConfig {
  cell: FusedCell;
  /** Head size. */
  D: number;
  workgroupSize: number;
  /** Keep R in workgroup memory (true) or read it from the storage buffer (false). */
  cacheWeights: boolean;
  /** Forward only: record the states and raw gates of every step for the backward pass. */
  saveTape: boolean;
}

/** Floats of workgroup memory a kernel needs besides R (shared h or gradient vectors). */
export function sharedFloats(cell: FusedCell, D: number): number {
  return 2 * cell.recurrentGates.length * D + D;
}

function header(c: FusedKernelConfig): string {
  const { cell, D } = c;
  return `
const D = ${D}u;
const NR = ${cell.recurrentGates.length}u;
const NB = ${cell.gates.length}u;
const NI = ${cell.inputGates.length}u;
const S = ${cell.states.length}u;
const K = ${cell.states.length + cell.gates.length}u; // tape entries per step: states, then raw gates
const WG = ${c.workgroupSize}u;
struct Params { T: u32, H: u32, B: u32 }
@group(0) @binding(0) var<uniform> u: Params;
struct CellGrad { draw: array<f32, NB>, dsPrev: array<f32, S> }
${ACTIVATIONS_WGSL}
${cell.wgsl}`;
}

/**
 * Forward: y [B, T, H·D] and the final state [B, S, H·D]; with `saveTape` also the tape
 * [B, T, K, H·D] and the h history hist [H, B·T, D] (h_{t−1} per step, the dR product's operand).
 * R comes transposed per head, rt [H, D (k), NR·D (row)], so consecutive rows are adjacent in memory.
 */
export function forwardKernel(c: FusedKernelConfig): string {
  const { cell } = c;
  const S = cell.states.length;
  // Bias and input parts are loaded before the matrix-vector product, so their memory latency
  // overlaps it; the recurrent parts are added after the barrier.
  const inputPart = cell.gates
    .map((_, g) => {
      const gi = cell.inputGates.indexOf(g);
      return `      raw[${g}] = bias[${g}u * HD + col]${gi >= 0 ? ` + gx[(bt * NI + ${gi}u) * HD + col]` : ''};`;
    })
    .join('\n');
  const recurrentPart = cell.recurrentGates
    .map((g, gr) => `      raw[${g}] += recShared[${gr}u * D + lid];`)
    .join('\n');
  const tape = c.saveTape
    ? `      for (var q = 0u; q < S; q++) { tape[(bt * K + q) * HD + col] = s[q]; }
      for (var g = 0u; g < NB; g++) { tape[(bt * K + S + g) * HD + col] = raw[g]; }`
    : '';
  return `${header(c)}
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> rt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> s0: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> sT: array<f32>;
${c.saveTape ? '@group(0) @binding(7) var<storage, read_write> tape: array<f32>;\n@group(0) @binding(8) var<storage, read_write> hist: array<f32>;' : ''}
${c.cacheWeights ? 'var<workgroup> rCache: array<f32, NR * D * D>;' : ''}
var<workgroup> hShared: array<f32, D>;
var<workgroup> recShared: array<f32, NR * D>;

// R[g, head, j, k] for row = g·D + j, stored [k][row]: the invocations of one step own consecutive
// rows and so read consecutive words.
fn weight(head: u32, row: u32, k: u32) -> f32 {
  ${c.cacheWeights ? 'return rCache[k * NR * D + row];' : 'return rt[(head * D + k) * NR * D + row];'}
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let b = wid.y;
  let HD = u.H * D;
  ${c.cacheWeights ? `for (var i = lid; i < NR * D * D; i += WG) { rCache[i] = rt[head * NR * D * D + i]; }` : ''}
  // Invocation lid < D owns hidden unit lid of this head: its state lives in registers all along.
  let owner = lid < D;
  let col = head * D + min(lid, D - 1u);
  var s: array<f32, ${S}>;
  if (owner) {
    for (var q = 0u; q < S; q++) { s[q] = s0[(b * S + q) * HD + col]; }
    hShared[lid] = s[0];
  }
  workgroupBarrier();
  for (var t = 0u; t < u.T; t++) {
    let bt = b * u.T + t;
    var raw: array<f32, NB>;
    if (owner) {
${inputPart}
    }
    for (var row = lid; row < NR * D; row += WG) {
      var acc = 0.0;
      for (var k = 0u; k < D; k++) { acc += weight(head, row, k) * hShared[k]; }
      recShared[row] = acc;
    }
    workgroupBarrier();
    if (owner) {
${recurrentPart}
      ${c.saveTape ? 'hist[(head * u.B * u.T + bt) * D + lid] = s[0]; // h_{t−1}' : ''}
      s = cellStep(raw, s);
      y[bt * HD + col] = s[0];
      hShared[lid] = s[0];
${tape}
    }
    workgroupBarrier();
  }
  if (owner) {
    for (var q = 0u; q < S; q++) { sT[(b * S + q) * HD + col] = s[q]; }
  }
}`;
}

/** Bindings 1–7 of both backward kernels (persistent and step-wise): the same buffers in the same layouts. */
export const BACKWARD_BINDINGS = `@group(0) @binding(1) var<storage, read> rw: array<f32>;
@group(0) @binding(2) var<storage, read> s0: array<f32>;
@group(0) @binding(3) var<storage, read> tape: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(7) var<storage, read_write> drec: array<f32>;`;

/**
 * The cell VJP of step \`t\` for (b, col) from the tape: raw gates, the state after the step and the one
 * before it (s0 at t = 0), then \`cg = cellVjp(raw, sp, sn, ds)\`.
 */
export function tapeVjp(t: string): string {
  return `      var raw: array<f32, NB>;
      var sn: array<f32, S>;
      var sp: array<f32, S>;
      for (var g = 0u; g < NB; g++) { raw[g] = tape[(bt * K + S + g) * HD + col]; }
      for (var q = 0u; q < S; q++) {
        sn[q] = tape[(bt * K + q) * HD + col];
        if (${t} > 0u) { sp[q] = tape[((bt - 1u) * K + q) * HD + col]; } else { sp[q] = s0[(b * S + q) * HD + col]; }
      }
      let cg = cellVjp(raw, sp, sn, ds);`;
}

/**
 * Backward: from dy [B, T, H·D] and the tape, writes dgx [B, T, NI, H·D] (the raw-gate gradients of
 * the input-fed gates), the per-batch-row bias gradient [B, NB, H·D], and the raw-gate gradients of
 * the recurrent blocks as drec [NR, H, B·T, D] (the dR product's other operand).
 */
export function backwardKernel(c: FusedKernelConfig): string {
  const { cell } = c;
  const S = cell.states.length;
  const NB = cell.gates.length;
  const writes = [
    ...cell.inputGates.map((g, gi) => `      dgx[(bt * NI + ${gi}u) * HD + col] = cg.draw[${g}];`),
    ...cell.recurrentGates.map(
      (g, gr) => `      drecShared[${gr}u * D + lid] = cg.draw[${g}];
      drec[((${gr}u * u.H + head) * u.B * u.T + bt) * D + lid] = cg.draw[${g}];`,
    ),
  ].join('\n');
  return `${header(c)}
${BACKWARD_BINDINGS}
${c.cacheWeights ? 'var<workgroup> rCache: array<f32, NR * D * D>;' : ''}
var<workgroup> drecShared: array<f32, NR * D>;
var<workgroup> partShared: array<f32, NR * D>;

// R[g, head, j, k] for row = g·D + j, in its natural layout: the transposed product walks j with
// consecutive invocations on consecutive k.
fn weight(head: u32, row: u32, k: u32) -> f32 {
  ${c.cacheWeights ? 'return rCache[row * D + k];' : 'return rw[((row / D) * u.H + head) * D * D + (row % D) * D + k];'}
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let b = wid.y;
  let HD = u.H * D;
  ${
    c.cacheWeights
      ? `for (var i = lid; i < NR * D * D; i += WG) {
    rCache[i] = rw[((i / (D * D)) * u.H + head) * D * D + i % (D * D)];
  }`
      : ''
  }
  let owner = lid < D;
  let col = head * D + min(lid, D - 1u);
  // ds: gradient w.r.t. the state after step t, from the steps after it (registers, per unit).
  var ds: array<f32, ${S}>;
  var dbAcc: array<f32, ${NB}>;
  for (var step = 0u; step < u.T; step++) {
    let t = u.T - 1u - step;
    if (owner) {
      let bt = b * u.T + t;
      if (step > 0u) {
        var dh = 0.0;
        for (var g = 0u; g < NR; g++) { dh += partShared[g * D + lid]; }
        ds[0] += dh;
      }
      ds[0] += dy[bt * HD + col];
${tapeVjp('t')}
      for (var g = 0u; g < NB; g++) { dbAcc[g] += cg.draw[g]; }
${writes}
      ds = cg.dsPrev;
    }
    workgroupBarrier();
    // partShared[g·D + k] = Σ_j R[g, j, k] draw[g, j]; summed over g by unit k in the next step.
    for (var i = lid; i < NR * D; i += WG) {
      let g = i / D;
      var acc = 0.0;
      for (var j = 0u; j < D; j++) { acc += weight(head, g * D + j, i % D) * drecShared[g * D + j]; }
      partShared[i] = acc;
    }
    workgroupBarrier();
  }
  if (owner) {
    for (var g = 0u; g < NB; g++) { dbias[(b * NB + g) * HD + col] = dbAcc[g]; }
  }
}`;
}
