// WGSL of tiled ("flash") causal attention. The forward keeps, per query row, a running max m, a
// running sum l and an unnormalized output in registers while it walks the key tiles (online
// softmax), so no T×T matrix ever exists; it stores only o and the row's logsumexp. The backward
// recomputes the probabilities from the logsumexp in two kernels — one per query tile (dq, and the
// FoX bias' row sums) and one per key tile (dk, dv, the bias' column sums, summed over the query heads
// of a group) — because WebGPU has no float atomics to scatter dq from a key-tile kernel.
//
// Threads: a row of the tile (query row, or key row in the dk/dv kernel) is owned by TPR invocations,
// each holding the head dims d ≡ lane (mod TPR). The head dim D is a uniform; the tiles are sized for
// DMAX ≥ D, so one pipeline serves every head dim up to DMAX. The tile loops run to u.br / u.bc (equal
// to the constants BR / BC): with constant bounds, compilers unroll them fully — lavapipe (CI) then
// spends ~10 s per kernel — while the short per-lane loops over DPT stay constant so that the
// accumulators live in registers.

export interface FlashTiles {
  /** Query rows per tile. */
  br: number;
  /** Key rows per tile. */
  bc: number;
  /** Invocations per row. */
  tpr: number;
  /** Head dim the workgroup tiles are sized for (a power of two ≥ D). */
  dmax: number;
}

export const ATTENTION_PARAMS = `
struct Params {
  B: u32, Tq: u32, Tk: u32, H: u32,
  HKV: u32, D: u32, window: u32, flags: u32,
  scale: f32, br: u32, bc: u32, pad: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
// A masked score; any real score (scaled dot products plus log forget gates) is far above it.
const MASKED = -1.0e30;
fn qRow(b: u32, i: u32, h: u32) -> u32 { return ((b * u.Tq + i) * u.H + h) * u.D; }
fn kvRow(b: u32, j: u32, hk: u32) -> u32 { return ((b * u.Tk + j) * u.HKV + hk) * u.D; }
// Index of the per-(position, query head) bias F and of the per-query-row statistics.
fn biasIndex(b: u32, j: u32, h: u32) -> u32 { return (b * u.Tk + j) * u.H + h; }
fn rowIndex(b: u32, i: u32, h: u32) -> u32 { return (b * u.Tq + i) * u.H + h; }
// Key j is visible from the query at position pos (causal, and inside the window when there is one).
fn visible(j: u32, pos: u32) -> bool { return j <= pos && (u.window == 0u || pos - j < u.window); }`;

function tileConstants(t: FlashTiles): string {
  return `const BR = ${t.br}u; const BC = ${t.bc}u; const TPR = ${t.tpr}u; const DMAX = ${t.dmax}u; const DPT = ${t.dmax / t.tpr}u;
// Tile rows are padded by one float: with a stride of DMAX (a multiple of 32) the invocations of a row
// group would all hit one memory bank when they read different rows at the same dim.
const STRIDE = DMAX + 1u;`;
}

/** Copies `rows` rows of D floats into a workgroup tile [rows, STRIDE] (zeros past D and past the end). */
function loadTile(
  tile: string,
  source: string,
  rowIndex: (r: string) => string,
  rows: string,
  limit: string,
  threads: number,
): string {
  return `
  for (var e = lid; e < ${rows} * DMAX; e += ${threads}u) {
    let rr = e / DMAX;
    let dd = e % DMAX;
    var x = 0.0;
    if (dd < u.D && ${limit}) { x = ${source}[${rowIndex('rr')} + dd]; }
    ${tile}[rr * STRIDE + dd] = x;
  }`;
}

/** Scaled score of tile row r (query) and tile row c (key) with the FoX bias, or MASKED. */
const SCORE = `
fn score(r: u32, c: u32, i: u32, j: u32, pos: u32, b: u32, h: u32) -> f32 {
  if (i >= u.Tq || j >= u.Tk || !visible(j, pos)) { return MASKED; }
  var s = 0.0;
  for (var d = 0u; d < u.D; d++) { s += qs[r * STRIDE + d] * ks[c * STRIDE + d]; }
  s *= u.scale;
  if ((u.flags & 1u) != 0u) { s += bias[biasIndex(b, pos, h)] - bias[biasIndex(b, j, h)]; }
  return s;
}`;

/** Key tiles a query tile [i0, i0 + BR) can see: from the window's start to its last position. */
const KEY_RANGE = `
  let offset = u.Tk - u.Tq;
  let lastPos = offset + min(i0 + BR, u.Tq) - 1u;
  let jEnd = lastPos + 1u;
  var jStart = 0u;
  if (u.window > 0u && offset + i0 + 1u > u.window) { jStart = (offset + i0 + 1u - u.window) / BC * BC; }`;

const QUERY_MAIN = (threads: number) => `
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i0 = wid.x * BR;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;
  let hk = h / (u.H / u.HKV);
  let r = lid / TPR;
  let lane = lid % TPR;
  let i = i0 + r;
  let pos = u.Tk - u.Tq + i;`;

export function forwardKernel(t: FlashTiles): string {
  const threads = t.br * t.tpr;
  return `${tileConstants(t)}
${ATTENTION_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
var<workgroup> qs: array<f32, ${t.br * (t.dmax + 1)}>;
// Holds the key tile for the scores, then the value tile for the weighted sum.
var<workgroup> ks: array<f32, ${t.bc * (t.dmax + 1)}>;
var<workgroup> ps: array<f32, ${t.br * t.bc}>;
${SCORE}
${QUERY_MAIN(threads)}
${loadTile('qs', 'q', (rr) => `qRow(b, i0 + ${rr}, h)`, 'BR', 'i0 + rr < u.Tq', threads)}
${KEY_RANGE}
  var m = MASKED;
  var l = 0.0;
  var acc: array<f32, DPT>;
  for (var s = 0u; s < DPT; s++) { acc[s] = 0.0; }
  for (var j0 = jStart; j0 < jEnd; j0 += BC) {
    workgroupBarrier();
${loadTile('ks', 'k', (rr) => `kvRow(b, j0 + ${rr}, hk)`, 'BC', 'j0 + rr < u.Tk', threads)}
    workgroupBarrier();
    for (var c = lane; c < BC; c += TPR) { ps[r * BC + c] = score(r, c, i, j0 + c, pos, b, h); }
    workgroupBarrier();
${loadTile('ks', 'v', (rr) => `kvRow(b, j0 + ${rr}, hk)`, 'BC', 'j0 + rr < u.Tk', threads)}
    workgroupBarrier();
    var tileMax = MASKED;
    for (var c = 0u; c < u.bc; c++) { tileMax = max(tileMax, ps[r * BC + c]); }
    let mNew = max(m, tileMax);
    let alpha = exp(m - mNew);
    var rowSum = 0.0;
    for (var s = 0u; s < DPT; s++) { acc[s] *= alpha; }
    for (var c = 0u; c < u.bc; c++) {
      let sc = ps[r * BC + c];
      let p = select(0.0, exp(sc - mNew), sc > 0.5 * MASKED);
      rowSum += p;
      for (var s = 0u; s < DPT; s++) { acc[s] += p * ks[c * STRIDE + lane + s * TPR]; }
    }
    l = l * alpha + rowSum;
    m = mNew;
  }
  if (i < u.Tq) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var s = 0u; s < DPT; s++) {
      let d = lane + s * TPR;
      if (d < u.D) { o[qRow(b, i, h) + d] = acc[s] * inv; }
    }
    if (lane == 0u) { lse[rowIndex(b, i, h)] = m + log(max(l, 1.0e-30)); }
  }
}`;
}

/** Probability and dS of one (query row, key) pair from the stored logsumexp: dS = P (dO·v − Δ). */
const PROB_AND_DS = `
fn probability(sc: f32, rowLse: f32) -> f32 { return select(0.0, exp(sc - rowLse), sc > 0.5 * MASKED); }
fn dotDoV(r: u32, c: u32) -> f32 {
  var acc = 0.0;
  for (var d = 0u; d < u.D; d++) { acc += dos[r * STRIDE + d] * vs[c * STRIDE + d]; }
  return acc;
}`;

/** dq = scale Σ_j dS_ij k_j per query tile; also the bias gradient's row sums Σ_j dS_ij. */
export function dqKernel(t: FlashTiles): string {
  const threads = t.br * t.tpr;
  return `${tileConstants(t)}
${ATTENTION_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> dbias: array<f32>;
var<workgroup> qs: array<f32, ${t.br * (t.dmax + 1)}>;
var<workgroup> dos: array<f32, ${t.br * (t.dmax + 1)}>;
var<workgroup> ks: array<f32, ${t.bc * (t.dmax + 1)}>;
var<workgroup> vs: array<f32, ${t.bc * (t.dmax + 1)}>;
var<workgroup> ps: array<f32, ${t.br * t.bc}>;
${SCORE}
${PROB_AND_DS}
${QUERY_MAIN(threads)}
${loadTile('qs', 'q', (rr) => `qRow(b, i0 + ${rr}, h)`, 'BR', 'i0 + rr < u.Tq', threads)}
${loadTile('dos', 'dout', (rr) => `qRow(b, i0 + ${rr}, h)`, 'BR', 'i0 + rr < u.Tq', threads)}
${KEY_RANGE}
  var rowLse = 0.0;
  var rowDelta = 0.0;
  if (i < u.Tq) {
    rowLse = lse[rowIndex(b, i, h)];
    rowDelta = delta[rowIndex(b, i, h)];
  }
  var rowDs = 0.0;
  var acc: array<f32, DPT>;
  for (var s = 0u; s < DPT; s++) { acc[s] = 0.0; }
  for (var j0 = jStart; j0 < jEnd; j0 += BC) {
    workgroupBarrier();
${loadTile('ks', 'k', (rr) => `kvRow(b, j0 + ${rr}, hk)`, 'BC', 'j0 + rr < u.Tk', threads)}
${loadTile('vs', 'v', (rr) => `kvRow(b, j0 + ${rr}, hk)`, 'BC', 'j0 + rr < u.Tk', threads)}
    workgroupBarrier();
    for (var c = lane; c < BC; c += TPR) {
      let p = probability(score(r, c, i, j0 + c, pos, b, h), rowLse);
      ps[r * BC + c] = select(0.0, p * (dotDoV(r, c) - rowDelta), p > 0.0);
    }
    workgroupBarrier();
    for (var c = 0u; c < u.bc; c++) {
      let ds = ps[r * BC + c];
      rowDs += ds;
      for (var s = 0u; s < DPT; s++) { acc[s] += ds * ks[c * STRIDE + lane + s * TPR]; }
    }
  }
  if (i < u.Tq) {
    for (var s = 0u; s < DPT; s++) {
      let d = lane + s * TPR;
      if (d < u.D) { dq[qRow(b, i, h) + d] = u.scale * acc[s]; }
    }
    if (lane == 0u && (u.flags & 1u) != 0u) { dbias[biasIndex(b, pos, h)] = rowDs; }
  }
}`;
}

/**
 * dk = scale Σ_i dS_ij q_i and dv = Σ_i P_ij dO_i per key tile, summed over the query heads that
 * share this kv head; the bias gradient's column sums −Σ_i dS_ij per query head.
 */
export function dkvKernel(t: FlashTiles): string {
  const threads = t.bc * t.tpr;
  return `${tileConstants(t)}
${ATTENTION_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;
@group(0) @binding(10) var<storage, read_write> dbias: array<f32>;
var<workgroup> ks: array<f32, ${t.bc * (t.dmax + 1)}>;
var<workgroup> vs: array<f32, ${t.bc * (t.dmax + 1)}>;
var<workgroup> qs: array<f32, ${t.br * (t.dmax + 1)}>;
var<workgroup> dos: array<f32, ${t.br * (t.dmax + 1)}>;
var<workgroup> ps: array<f32, ${t.br * t.bc}>;
var<workgroup> dss: array<f32, ${t.br * t.bc}>;
var<workgroup> rowLse: array<f32, ${t.br}>;
var<workgroup> rowDelta: array<f32, ${t.br}>;
${SCORE}
${PROB_AND_DS}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j0 = wid.x * BC;
  let bhk = wid.y;
  let b = bhk / u.HKV;
  let hk = bhk % u.HKV;
  let group = u.H / u.HKV;
  let c = lid / TPR;
  let lane = lid % TPR;
  let j = j0 + c;
  let offset = u.Tk - u.Tq;
${loadTile('ks', 'k', (rr) => `kvRow(b, j0 + ${rr}, hk)`, 'BC', 'j0 + rr < u.Tk', threads)}
${loadTile('vs', 'v', (rr) => `kvRow(b, j0 + ${rr}, hk)`, 'BC', 'j0 + rr < u.Tk', threads)}
  // Queries that see this key tile: positions from j0 (causal) to the window's reach past its end.
  var iStart = 0u;
  if (j0 > offset) { iStart = (j0 - offset) / BR * BR; }
  var iEnd = u.Tq;
  if (u.window > 0u) { iEnd = min(u.Tq, max(j0 + BC - 1u + u.window, offset) - offset); }
  var accK: array<f32, DPT>;
  var accV: array<f32, DPT>;
  for (var s = 0u; s < DPT; s++) { accK[s] = 0.0; accV[s] = 0.0; }
  for (var g = 0u; g < group; g++) {
    let h = hk * group + g;
    var colDs = 0.0;
    for (var i0 = iStart; i0 < iEnd; i0 += BR) {
      workgroupBarrier();
${loadTile('qs', 'q', (rr) => `qRow(b, i0 + ${rr}, h)`, 'BR', 'i0 + rr < u.Tq', threads)}
${loadTile('dos', 'dout', (rr) => `qRow(b, i0 + ${rr}, h)`, 'BR', 'i0 + rr < u.Tq', threads)}
      for (var rr = lid; rr < BR; rr += ${threads}u) {
        let ii = min(i0 + rr, u.Tq - 1u);
        rowLse[rr] = lse[rowIndex(b, ii, h)];
        rowDelta[rr] = delta[rowIndex(b, ii, h)];
      }
      workgroupBarrier();
      for (var e = lid; e < BR * BC; e += ${threads}u) {
        let r = e / BC;
        let cc = e % BC;
        let p = probability(score(r, cc, i0 + r, j0 + cc, offset + i0 + r, b, h), rowLse[r]);
        ps[e] = p;
        dss[e] = select(0.0, p * (dotDoV(r, cc) - rowDelta[r]), p > 0.0);
      }
      workgroupBarrier();
      for (var r = 0u; r < u.br; r++) {
        let p = ps[r * BC + c];
        let ds = dss[r * BC + c];
        colDs += ds;
        for (var s = 0u; s < DPT; s++) {
          accV[s] += p * dos[r * STRIDE + lane + s * TPR];
          accK[s] += ds * qs[r * STRIDE + lane + s * TPR];
        }
      }
    }
    if (j < u.Tk && lane == 0u && (u.flags & 1u) != 0u) { dbias[biasIndex(b, j, h)] = -colDs; }
  }
  if (j < u.Tk) {
    for (var s = 0u; s < DPT; s++) {
      let d = lane + s * TPR;
      if (d < u.D) {
        dk[kvRow(b, j, hk) + d] = u.scale * accK[s];
        dv[kvRow(b, j, hk) + d] = accV[s];
      }
    }
  }
}`;
}
