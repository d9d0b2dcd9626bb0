// WGSL of the step-wise RNN kernels: one dispatch per time step, for recurrent matrices too large for one
// workgroup's memory (dense LSTM/GRU at hidden 512, 1024). The persistent kernel (fused-kernels.ts) runs
// a whole sequence in one workgroup per (head, batch row); when R cannot be cached there, every step
// re-reads all of R through that one SM, and only B SMs work. Here a step is spread over the GPU: a
// workgroup owns TU units of one head for BT batch rows, reads just its slice of R (staged through
// workgroup memory in KC-wide chunks, shared by its batch rows), and applies the cell to its own units.
// The dispatch boundary is the grid-wide barrier between steps. States ping-pong between two halves of
// one buffer (a step reads h_{t−1} of every unit while its workgroups write h_t).
//
// The backward runs one dispatch per step in reverse: each workgroup forms dh for its units from the
// next step's raw-gate gradients (R^T d(raw)_{t+1}, read from `drec`, which the dR product needs anyway),
// then the cell VJP. Buffers and layouts are those of the persistent kernels, so the dR and bias
// reductions and the tape are shared.

import { ACTIVATIONS_WGSL } from './activations.js';
import type { FusedCell } from './cells.js';
import { BACKWARD_BINDINGS, tapeVjp } from './fused-kernels.js';

/** Units of one head per workgroup (tu), batch rows per workgroup (bt), width of the staged chunks (kc). */
export interface StepTiles {
  tu: number;
  bt: number;
  kc: number;
}

/** The tiles fusedRnn uses (a benchmark may try others: tu · bt invocations, at most 256). */
export const STEP_TILES: StepTiles = { tu: 16, bt: 16, kc: 64 };

export interface StepKernelConfig {
  cell: FusedCell;
  D: number;
  saveTape: boolean;
  tiles: StepTiles;
}

/** Workgroup bytes of the step kernels (the larger of forward and backward). */
export function stepWorkgroupBytes(cell: FusedCell, t: StepTiles = STEP_TILES): number {
  const NR = cell.recurrentGates.length;
  return 4 * (NR * t.bt * t.kc + NR * t.kc * t.tu);
}

function header(c: StepKernelConfig): string {
  const { cell, D } = c;
  return `
const D = ${D}u;
const NR = ${cell.recurrentGates.length}u;
const NB = ${cell.gates.length}u;
const NI = ${cell.inputGates.length}u;
const S = ${cell.states.length}u;
const K = ${cell.states.length + cell.gates.length}u;
const TU = ${c.tiles.tu}u;
const BT = ${c.tiles.bt}u;
const KC = ${c.tiles.kc}u;
const THREADS = ${c.tiles.tu * c.tiles.bt}u;
struct Params { T: u32, H: u32, B: u32, t: u32 }
@group(0) @binding(0) var<uniform> u: Params;
struct CellGrad { draw: array<f32, NB>, dsPrev: array<f32, S> }
${ACTIVATIONS_WGSL}
${cell.wgsl}`;
}

// Workgroup (x = head · unit tile, y = batch tile); invocation lid = bl · TU + ul.
const TILE = `
  let tilesU = (D + TU - 1u) / TU;
  let head = wid.x / tilesU;
  let u0 = (wid.x % tilesU) * TU;
  let b0 = wid.y * BT;
  let ul = lid % TU;
  let bl = lid / TU;
  let unit = u0 + ul;
  let b = b0 + bl;
  let live = unit < D && b < u.B;
  let HD = u.H * D;
  let col = head * D + min(unit, D - 1u);`;

/**
 * Step u.t of the forward: h_{t−1} from half (t mod 2) of `sbuf` [2, B, S, H·D], h_t into the other
 * half; y, and with saveTape the tape and the h history, exactly as the persistent kernel writes them.
 */
export function stepForwardKernel(c: StepKernelConfig): string {
  const { cell } = c;
  const inputPart = cell.gates
    .map((_, g) => {
      const gi = cell.inputGates.indexOf(g);
      return `    raw[${g}] = bias[${g}u * HD + col]${gi >= 0 ? ` + gx[(bt * NI + ${gi}u) * HD + col]` : ''};`;
    })
    .join('\n');
  const recurrentPart = cell.recurrentGates.map((g, gr) => `    raw[${g}] += acc[${gr}];`).join('\n');
  const tape = c.saveTape
    ? `    hist[(head * u.B * u.T + bt) * D + unit] = s[0]; // h_{t−1}
    s = cellStep(raw, s);
    for (var q = 0u; q < S; q++) { tape[(bt * K + q) * HD + col] = s[q]; }
    for (var g = 0u; g < NB; g++) { tape[(bt * K + S + g) * HD + col] = raw[g]; }`
    : `    s = cellStep(raw, s);`;
  return `${header(c)}
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> rt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> sbuf: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
${c.saveTape ? '@group(0) @binding(6) var<storage, read_write> tape: array<f32>;\n@group(0) @binding(7) var<storage, read_write> hist: array<f32>;' : ''}
var<workgroup> hChunk: array<f32, BT * KC>;
var<workgroup> rChunk: array<f32, NR * KC * TU>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${TILE}
  let half = u.B * S * HD;
  let cur = (u.t % 2u) * half;
  let nxt = ((u.t + 1u) % 2u) * half;
  // (R h_{t−1}) for this invocation's unit and batch row, per recurrent block.
  var acc: array<f32, ${cell.recurrentGates.length}>;
  for (var k0 = 0u; k0 < D; k0 += KC) {
    for (var i = lid; i < BT * KC; i += THREADS) {
      let bb = b0 + i / KC;
      let k = k0 + i % KC;
      var v = 0.0;
      if (bb < u.B && k < D) { v = sbuf[cur + bb * S * HD + head * D + k]; }
      hChunk[i] = v;
    }
    // rt [H, D (k), NR·D (row)]: consecutive units are consecutive words.
    for (var i = lid; i < NR * KC * TU; i += THREADS) {
      let uu = i % TU;
      let kk = (i / TU) % KC;
      let g = i / (TU * KC);
      var v = 0.0;
      if (k0 + kk < D && u0 + uu < D) { v = rt[(head * D + k0 + kk) * NR * D + g * D + u0 + uu]; }
      rChunk[i] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KC; kk++) {
      let hv = hChunk[bl * KC + kk];
      for (var g = 0u; g < NR; g++) { acc[g] += rChunk[(g * KC + kk) * TU + ul] * hv; }
    }
    workgroupBarrier();
  }
  if (live) {
    let bt = b * u.T + u.t;
    var s: array<f32, S>;
    for (var q = 0u; q < S; q++) { s[q] = sbuf[cur + (b * S + q) * HD + col]; }
    var raw: array<f32, NB>;
${inputPart}
${recurrentPart}
${tape}
    y[bt * HD + col] = s[0];
    for (var q = 0u; q < S; q++) { sbuf[nxt + (b * S + q) * HD + col] = s[q]; }
  }
}`;
}

/**
 * Step u.t of the backward (run for t = T−1 … 0): dh gets R^T d(raw)_{t+1} from `drec`, the carried
 * state gradient lives in `dsbuf` [B, S, H·D] (each unit's own entries), and the step's raw-gate
 * gradients go to dgx, drec and the per-row bias sums (accumulated; zeroed by the caller).
 */
export function stepBackwardKernel(c: StepKernelConfig): string {
  const { cell } = c;
  const writes = [
    ...cell.inputGates.map((g, gi) => `    dgx[(bt * NI + ${gi}u) * HD + col] = cg.draw[${g}];`),
    ...cell.recurrentGates.map(
      (g, gr) => `    drec[((${gr}u * u.H + head) * u.B * u.T + bt) * D + unit] = cg.draw[${g}];`,
    ),
  ].join('\n');
  return `${header(c)}
${BACKWARD_BINDINGS}
@group(0) @binding(8) var<storage, read_write> dsbuf: array<f32>;
var<workgroup> dChunk: array<f32, NR * BT * KC>;
var<workgroup> rChunk: array<f32, NR * KC * TU>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${TILE}
  let last = u.t + 1u >= u.T;
  // Σ_g Σ_j R[g, head, j, unit] · d(raw)_{t+1}[g, b, j]: the gradient reaching h_t through step t+1.
  var dhRec = 0.0;
  if (!last) {
    for (var j0 = 0u; j0 < D; j0 += KC) {
      for (var i = lid; i < NR * BT * KC; i += THREADS) {
        let jj = i % KC;
        let bb = b0 + (i / KC) % BT;
        let g = i / (KC * BT);
        var v = 0.0;
        if (bb < u.B && j0 + jj < D) { v = drec[((g * u.H + head) * u.B * u.T + bb * u.T + u.t + 1u) * D + j0 + jj]; }
        dChunk[i] = v;
      }
      // R [NR, H, D (j), D (k)]: consecutive units (k) are consecutive words.
      for (var i = lid; i < NR * KC * TU; i += THREADS) {
        let uu = i % TU;
        let jj = (i / TU) % KC;
        let g = i / (TU * KC);
        var v = 0.0;
        if (j0 + jj < D && u0 + uu < D) { v = rw[((g * u.H + head) * D + j0 + jj) * D + u0 + uu]; }
        rChunk[i] = v;
      }
      workgroupBarrier();
      for (var g = 0u; g < NR; g++) {
        for (var jj = 0u; jj < KC; jj++) { dhRec += rChunk[(g * KC + jj) * TU + ul] * dChunk[(g * BT + bl) * KC + jj]; }
      }
      workgroupBarrier();
    }
  }
  if (live) {
    let bt = b * u.T + u.t;
    var ds: array<f32, S>;
    if (!last) {
      for (var q = 0u; q < S; q++) { ds[q] = dsbuf[(b * S + q) * HD + col]; }
      ds[0] += dhRec;
    }
    ds[0] += dy[bt * HD + col];
${tapeVjp('u.t')}
    for (var g = 0u; g < NB; g++) { dbias[(b * NB + g) * HD + col] += cg.draw[g]; }
${writes}
    for (var q = 0u; q < S; q++) { dsbuf[(b * S + q) * HD + col] = cg.dsPrev[q]; }
  }
}`;
}
