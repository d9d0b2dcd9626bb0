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

/**
 * Two kernel shapes. Staged (ks = 0): a workgroup owns tu units of one head for bt batch rows and stages
 * R through workgroup memory in kc-wide chunks; each invocation walks all of D. Split-K (ks > 0): a
 * workgroup owns 4 units (read as vec4) for bt batch rows, and its bt · ks invocations each sum D / ks of
 * the product straight from memory (R broadcast across the rows, h walked along a cache line), then
 * add their partial sums in workgroup memory: more workgroups and a ks-times shorter serial chain.
 */
export interface StepTiles {
  tu: number;
  bt: number;
  kc: number;
  /** Split-K factor; 0 runs the staged kernels. */
  ks: number;
}

/** The staged kernels' tiles (the fastest of six shapes on an H100 before the split-K kernels existed). */
export const STAGED_TILES: StepTiles = { tu: 16, bt: 16, kc: 64, ks: 0 };

/**
 * The tiles fusedRnn uses for head size D: split-K with 8 batch rows per workgroup and D split 16 ways
 * where D allows it (the fastest shape at D = 1024 and within noise of the best at 256 and 512 in the
 * H100 tile sweeps of bench/RESULTS.md), fewer splits for other multiples of 16, else the staged kernels.
 */
export function defaultStepTiles(D: number): StepTiles {
  for (const ks of [16, 8, 4]) {
    const tiles = { ...STAGED_TILES, bt: 8, ks };
    if (splitApplies(D, tiles)) return tiles;
  }
  return STAGED_TILES;
}

/** Whether the split-K kernels apply: they read four units (and four k) at a time and split D evenly. */
export function splitApplies(D: number, t: StepTiles): boolean {
  return t.ks > 0 && D % (4 * t.ks) === 0;
}

export interface StepKernelConfig {
  cell: FusedCell;
  D: number;
  saveTape: boolean;
  tiles: StepTiles;
}

/** Workgroup bytes of the step kernels (the larger of forward and backward). */
export function stepWorkgroupBytes(cell: FusedCell, t: StepTiles, D: number): number {
  const NR = cell.recurrentGates.length;
  if (splitApplies(D, t)) return 4 * (t.ks * t.bt * NR * 4);
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
const KS = ${Math.max(1, c.tiles.ks)}u;
const THREADS = ${splitApplies(c.D, c.tiles) ? c.tiles.bt * c.tiles.ks : c.tiles.tu * c.tiles.bt}u;
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
  return splitApplies(c.D, c.tiles) ? splitForwardKernel(c) : stagedForwardKernel(c);
}

function forwardBindings(c: StepKernelConfig, vec4: boolean): string {
  const type = vec4 ? 'vec4<f32>' : 'f32';
  return `@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> rt: array<${type}>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> sbuf: array<${type}>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
${c.saveTape ? '@group(0) @binding(6) var<storage, read_write> tape: array<f32>;\n@group(0) @binding(7) var<storage, read_write> hist: array<f32>;' : ''}`;
}

/** The cell for (b, unit) once acc[gr] holds (R h_{t−1}) of each recurrent block: state, tape, y. */
function forwardEpilogue(c: StepKernelConfig, stateVec4 = false): string {
  const { cell } = c;
  // With sbuf bound as vec4 (split kernels), a scalar is one component of it.
  const at = (i: string) => (stateVec4 ? `sbuf[(${i}) / 4u][(${i}) % 4u]` : `sbuf[${i}]`);
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
  return `  if (live) {
    let bt = b * u.T + u.t;
    var s: array<f32, S>;
    for (var q = 0u; q < S; q++) { s[q] = ${at('cur + (b * S + q) * HD + col')}; }
    var raw: array<f32, NB>;
${inputPart}
${recurrentPart}
${tape}
    y[bt * HD + col] = s[0];
    for (var q = 0u; q < S; q++) { ${at('nxt + (b * S + q) * HD + col')} = s[q]; }
  }`;
}

// The two halves of sbuf: h_{t−1} is read from `cur`, h_t written to `nxt`.
const STATE_HALVES = `  let half = u.B * S * HD;
  let cur = (u.t % 2u) * half;
  let nxt = ((u.t + 1u) % 2u) * half;`;

function stagedForwardKernel(c: StepKernelConfig): string {
  const { cell } = c;
  return `${header(c)}
${forwardBindings(c, false)}
var<workgroup> hChunk: array<f32, BT * KC>;
var<workgroup> rChunk: array<f32, NR * KC * TU>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${TILE}
${STATE_HALVES}
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
${forwardEpilogue(c)}
}`;
}

// Split-K workgroup (x = head · unit quad, y = batch tile): invocation lid = ks · BT + bl sums k in
// [ks · D/KS, (ks + 1) · D/KS) for batch row bl and the quad's 4 units, then the partial sums meet in
// \`part\` [KS, BT, NR or 1, 4] and the first BT · 4 invocations (bl = lid / 4, unit u0 + lid % 4) finish.
const SPLIT_TILE = `
  let quads = D / 4u;
  let head = wid.x / quads;
  let u0 = (wid.x % quads) * 4u;
  let b0 = wid.y * BT;
  let split = lid / BT;
  let rowRead = min(b0 + lid % BT, u.B - 1u);
  let HD = u.H * D;`;
const SPLIT_FINISH = `
  let ul = lid % 4u;
  let bl = lid / 4u;
  let unit = u0 + ul;
  let b = b0 + bl;
  let live = lid < BT * 4u && b < u.B;
  let col = head * D + unit;`;

function splitForwardKernel(c: StepKernelConfig): string {
  const NR = c.cell.recurrentGates.length;
  return `${header(c)}
${forwardBindings(c, true)}
const PER = D / KS;
var<workgroup> part: array<f32, KS * BT * NR * 4u>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${SPLIT_TILE}
${STATE_HALVES}
  // rt [H, D (k), NR·D]: the quad's 4 units of block g are one vec4 (D and u0 are multiples of 4), and
  // four consecutive k of h_{t−1} are one vec4 of sbuf (PER is a multiple of 4).
  var sums: array<vec4<f32>, NR>;
  let hBase = cur + rowRead * S * HD + head * D;
  let kStride = NR * D / 4u;
  for (var j = 0u; j < PER; j += 4u) {
    let k = split * PER + j;
    let h4 = sbuf[(hBase + k) / 4u];
    let rBase = ((head * D + k) * NR * D + u0) / 4u;
    for (var g = 0u; g < NR; g++) {
      let r = rBase + g * (D / 4u);
      sums[g] += rt[r] * h4.x + rt[r + kStride] * h4.y + rt[r + 2u * kStride] * h4.z + rt[r + 3u * kStride] * h4.w;
    }
  }
  for (var g = 0u; g < NR; g++) {
    let at = (lid * NR + g) * 4u;
    part[at] = sums[g].x;
    part[at + 1u] = sums[g].y;
    part[at + 2u] = sums[g].z;
    part[at + 3u] = sums[g].w;
  }
  workgroupBarrier();
  // Fixed order over the splits: deterministic.
  for (var i = lid; i < BT * NR * 4u; i += THREADS) {
    var total = 0.0;
    for (var q = 0u; q < KS; q++) { total += part[q * BT * NR * 4u + i]; }
    part[i] = total;
  }
  workgroupBarrier();
${SPLIT_FINISH}
  var acc: array<f32, ${NR}>;
  if (live) {
    for (var g = 0u; g < NR; g++) { acc[g] = part[(bl * NR + g) * 4u + ul]; }
  }
${forwardEpilogue(c, true)}
}`;
}

/**
 * Step u.t of the backward (run for t = T−1 … 0): dh gets R^T d(raw)_{t+1} from `drec`, the carried
 * state gradient lives in `dsbuf` [B, S, H·D] (each unit's own entries), and the step's raw-gate
 * gradients go to dgx, drec and the per-row bias sums (accumulated; zeroed by the caller).
 */
export function stepBackwardKernel(c: StepKernelConfig): string {
  return splitApplies(c.D, c.tiles) ? splitBackwardKernel(c) : stagedBackwardKernel(c);
}

/** The cell VJP for (b, unit) once dhRec holds R^T d(raw)_{t+1}: dgx, drec, bias rows, carried ds. */
function backwardEpilogue(c: StepKernelConfig, drecVec4 = false): string {
  const { cell } = c;
  // With drec bound as vec4 (split kernels), a scalar is one component of it.
  const drecAt = (i: string) => (drecVec4 ? `drec[(${i}) / 4u][(${i}) % 4u]` : `drec[${i}]`);
  const writes = [
    ...cell.inputGates.map((g, gi) => `    dgx[(bt * NI + ${gi}u) * HD + col] = cg.draw[${g}];`),
    ...cell.recurrentGates.map(
      (g, gr) => `    ${drecAt(`((${gr}u * u.H + head) * u.B * u.T + bt) * D + unit`)} = cg.draw[${g}];`,
    ),
  ].join('\n');
  return `  if (live) {
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
  }`;
}

function stagedBackwardKernel(c: StepKernelConfig): string {
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
${backwardEpilogue(c)}
}`;
}

function splitBackwardKernel(c: StepKernelConfig): string {
  // The staged kernels' bindings, with R (four consecutive units k) and drec (four consecutive j) as vec4.
  const bindings = BACKWARD_BINDINGS.replace(
    'var<storage, read> rw: array<f32>;',
    'var<storage, read> rw: array<vec4<f32>>;',
  ).replace('var<storage, read_write> drec: array<f32>;', 'var<storage, read_write> drec: array<vec4<f32>>;');
  return `${header(c)}
${bindings}
@group(0) @binding(8) var<storage, read_write> dsbuf: array<f32>;
const PER = D / KS;
var<workgroup> part: array<f32, KS * BT * 4u>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${SPLIT_TILE}
  let last = u.t + 1u >= u.T;
  // Σ_g Σ_j R[g, head, j, k] · d(raw)_{t+1}[g, b, j] for the quad's 4 units k, over this split's j; one
  // accumulator per block g keeps the chains independent, and a constant trip count lets it unroll.
  var sums: array<vec4<f32>, NR>;
  if (!last) {
    for (var g = 0u; g < NR; g++) {
      let dBase = ((g * u.H + head) * u.B * u.T + rowRead * u.T + u.t + 1u) * D + split * PER;
      let rBase = (((g * u.H + head) * D + split * PER) * D + u0) / 4u;
      let jStride = D / 4u;
      for (var j = 0u; j < PER; j += 4u) {
        let d4 = drec[(dBase + j) / 4u];
        let r = rBase + j * jStride;
        sums[g] += rw[r] * d4.x + rw[r + jStride] * d4.y + rw[r + 2u * jStride] * d4.z + rw[r + 3u * jStride] * d4.w;
      }
    }
  }
  var total = vec4<f32>();
  for (var g = 0u; g < NR; g++) { total += sums[g]; }
  let at = lid * 4u;
  part[at] = total.x;
  part[at + 1u] = total.y;
  part[at + 2u] = total.z;
  part[at + 3u] = total.w;
  workgroupBarrier();
${SPLIT_FINISH}
  // Fixed order over the splits: deterministic.
  var dhRec = 0.0;
  if (live) {
    for (var q = 0u; q < KS; q++) { dhRec += part[(q * BT + bl) * 4u + ul]; }
  }
${backwardEpilogue(c, true)}
}`;
}
