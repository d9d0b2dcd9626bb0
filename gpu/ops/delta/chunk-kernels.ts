// WGSL of the chunkwise delta rule, forward pass (fla's chunk_delta_rule / chunk_gated_delta_rule
// with the WY/UT representation, written for WebGPU: no grid-wide sync, one workgroup loops over the
// chunks of one head). Notation per chunk of C tokens, positions i, j local to the chunk:
//   γ_i  = Σ_{m≤i} g_m (cumulative log decay inside the chunk, so every exp below is of a value ≤ 0),
//   Γ_i  = exp(γ_i),  e_ij = exp(γ_i − γ_j) for j ≤ i,
//   A_ij = β_i e_ij k_i·k_j for j < i (strictly lower),  L = I + A,  Linv = L⁻¹ (the UT transform),
//   W    = Linv diag(βΓ) K,  U' = Linv diag(β) V,
//   U    = U' − W S₀          (the deltas u_i = β_i(v_i − Ŝ_iᵀk_i) of every token, all at once),
//   O    = scale (diag(Γ) Q S₀ + P U),  P_ij = e_ij q_i·k_j for j ≤ i,
//   S₁   = Γ_C S₀ + Σ_j e_Cj k_j u_jᵀ.
// Three dispatches: `prepare` (parallel over chunks: the triangular solve for Linv, W, U'),
// `state` (sequential over chunks per head and value tile: U and the chunk-start states), and
// `output` (parallel over chunks: O). Padded rows of the last chunk have k = v = β = g = 0, which
// makes their rows of Linv the identity and their W, U' and U rows zero.

// Only the chunk length C is baked into the WGSL; the head dims K, V and the value tile BV are
// uniforms. One pipeline then serves every head size, and software adapters (CI's lavapipe) do not
// spend seconds unrolling constant-length loops at compile time.
export interface ChunkShape {
  /** Chunk length C. */
  chunk: number;
}

/** Threads of the chunk-parallel kernels and of the sequential state kernels. */
export const PARALLEL_THREADS = 128;
export const STATE_THREADS = 256;
/** Workgroup floats of the sequential kernels' state tile [K, BV] (8 KiB), and the widest tile BV. */
export const STATE_TILE = 2048;
export const MAX_BV = 16;

/** Uniform block shared by every delta-rule kernel. */
export const DELTA_PARAMS = `
struct Params { B: u32, T: u32, H: u32, NT: u32, scale: f32, flags: u32, DK: u32, DV: u32, BV: u32 }
@group(0) @binding(0) var<uniform> u: Params;
// Row index of token t of batch b, head h in the [B, T, H, ·] input layouts.
fn tok(b: u32, t: u32, h: u32) -> u32 { return (b * u.T + t) * u.H + h; }`;

export function constants(s: ChunkShape): string {
  return `const C = ${s.chunk}u;`;
}

const DIMS = `
  let DK = u.DK;
  let DV = u.DV;
  let BV = u.BV;`;

/**
 * Loads β and the cumulative decay γ of chunk `n` into workgroup memory (`bet`, `gam`): rows past the
 * sequence end get β = 0 and repeat the last γ. Needs `len` and `t0`; ends with a barrier.
 */
export const LOAD_CHUNK_GATES = `
  if (lid < C) {
    var bb = 0.0;
    var gg = 0.0;
    if (lid < len) { let r = tok(b, t0 + lid, h); bb = beta[r]; gg = g[r]; }
    bet[lid] = bb;
    gam[lid] = gg;
  }
  workgroupBarrier();
  // C is small: a serial prefix sum by one invocation is simpler than a tree and not a bottleneck.
  if (lid == 0u) { for (var i = 1u; i < C; i++) { gam[i] += gam[i - 1u]; } }
  workgroupBarrier();`;

/** Header of the chunk-parallel kernels: one workgroup per (chunk n, batch·head). */
export const CHUNK_MAIN = `
@compute @workgroup_size(${PARALLEL_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;
  let t0 = n * C;
  let len = min(C, u.T - t0);
  // Row base of this chunk in the chunk-major per-head buffers ([B·H, NT·C, ·]).
  let base = (bh * u.NT + n) * C;${DIMS}`;

/** The intra-chunk scores P_ij = e_ij q_i·k_j (j ≤ i < len, else 0) into workgroup `p`; ends with a barrier. */
export const INTRA_CHUNK_SCORES = `
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let i = e / C;
    let j = e % C;
    var s = 0.0;
    if (j <= i && i < len) {
      let qi = tok(b, t0 + i, h) * DK;
      let kj = tok(b, t0 + j, h) * DK;
      for (var d = 0u; d < DK; d++) { s += q[qi + d] * k[kj + d]; }
      s *= exp(gam[i] - gam[j]);
    }
    p[e] = s;
  }
  workgroupBarrier();`;

/** Triangular solve per chunk (f32): Linv = (I + A)⁻¹, then W and U'. */
export function prepareKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> gcum: array<f32>;
@group(0) @binding(6) var<storage, read_write> linv: array<f32>;
@group(0) @binding(7) var<storage, read_write> w: array<f32>;
@group(0) @binding(8) var<storage, read_write> uprime: array<f32>;
var<workgroup> a: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> li: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> gam: array<f32, ${s.chunk}>;
var<workgroup> bet: array<f32, ${s.chunk}>;
${CHUNK_MAIN}
${LOAD_CHUNK_GATES}
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let i = e / C;
    let j = e % C;
    var val = 0.0;
    if (j < i && i < len) {
      let ki = tok(b, t0 + i, h) * DK;
      let kj = tok(b, t0 + j, h) * DK;
      var dot = 0.0;
      for (var d = 0u; d < DK; d++) { dot += k[ki + d] * k[kj + d]; }
      val = bet[i] * exp(gam[i] - gam[j]) * dot;
    }
    a[e] = val;
  }
  workgroupBarrier();
  // Forward substitution, one column of Linv per invocation: Linv_ij = δ_ij − Σ_{j≤m<i} A_im Linv_mj.
  if (lid < C) {
    let j = lid;
    for (var i = 0u; i < C; i++) {
      var x = 0.0;
      if (i == j) {
        x = 1.0;
      } else if (i > j) {
        for (var m = j; m < i; m++) { x -= a[i * C + m] * li[m * C + j]; }
      }
      li[i * C + j] = x;
    }
  }
  workgroupBarrier();
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) { linv[base * C + e] = li[e]; }
  if (lid < C) { gcum[base + lid] = gam[lid]; }
  for (var e = lid; e < C * DK; e += ${PARALLEL_THREADS}u) {
    let i = e / DK;
    let d = e % DK;
    var acc = 0.0;
    for (var m = 0u; m <= min(i, len - 1u); m++) {
      acc += li[i * C + m] * bet[m] * exp(gam[m]) * k[tok(b, t0 + m, h) * DK + d];
    }
    w[(base + i) * DK + d] = acc;
  }
  for (var e = lid; e < C * DV; e += ${PARALLEL_THREADS}u) {
    let i = e / DV;
    let d = e % DV;
    var acc = 0.0;
    for (var m = 0u; m <= min(i, len - 1u); m++) {
      acc += li[i * C + m] * bet[m] * v[tok(b, t0 + m, h) * DV + d];
    }
    uprime[(base + i) * DV + d] = acc;
  }
}`;
}

/** Header of the sequential kernels: one workgroup per (value tile, batch·head), looping over chunks. */
export const STATE_MAIN = `
@compute @workgroup_size(${STATE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {${DIMS}
  let v0 = wid.x * BV;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;`;

/**
 * Sequential pass over chunks: stores each chunk-start state, the deltas U = U' − W S, and advances
 * S by S ← Γ_C S + Σ_i e_Ci k_i u_iᵀ. The state tile [K, BV] lives in workgroup memory.
 */
export function stateKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> uprime: array<f32>;
@group(0) @binding(4) var<storage, read> gcum: array<f32>;
@group(0) @binding(5) var<storage, read> h0: array<f32>;
@group(0) @binding(6) var<storage, read_write> hs: array<f32>;
@group(0) @binding(7) var<storage, read_write> unew: array<f32>;
@group(0) @binding(8) var<storage, read_write> final_state: array<f32>;
var<workgroup> st: array<f32, ${STATE_TILE}>;
var<workgroup> ut: array<f32, ${s.chunk * MAX_BV}>;
var<workgroup> dec: array<f32, ${s.chunk}>;
${STATE_MAIN}
  for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    var x = 0.0;
    if ((u.flags & 1u) != 0u && vv < DV) { x = h0[(bh * DK + e / BV) * DV + vv]; }
    st[e] = x;
  }
  workgroupBarrier();
  for (var n = 0u; n < u.NT; n++) {
    let t0 = n * C;
    let len = min(C, u.T - t0);
    let base = (bh * u.NT + n) * C;
    let glast = gcum[base + C - 1u];
    for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
      let vv = v0 + e % BV;
      if (vv < DV) { hs[((bh * u.NT + n) * DK + e / BV) * DV + vv] = st[e]; }
    }
    if (lid < C) { dec[lid] = select(0.0, exp(glast - gcum[base + lid]), lid < len); }
    for (var e = lid; e < C * BV; e += ${STATE_THREADS}u) {
      let i = e / BV;
      let c = e % BV;
      let vv = v0 + c;
      var x = 0.0;
      if (vv < DV && i < len) {
        x = uprime[(base + i) * DV + vv];
        for (var d = 0u; d < DK; d++) { x -= w[(base + i) * DK + d] * st[d * BV + c]; }
      }
      // Padded rows are written too (as zeros): the backward kernels read whole chunks.
      if (vv < DV) { unew[(base + i) * DV + vv] = x; }
      ut[e] = x;
    }
    workgroupBarrier();
    let decay = exp(glast);
    for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
      let d = e / BV;
      let c = e % BV;
      var x = decay * st[e];
      for (var i = 0u; i < len; i++) { x += dec[i] * k[tok(b, t0 + i, h) * DK + d] * ut[i * BV + c]; }
      st[e] = x;
    }
    workgroupBarrier();
  }
  for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < DV) { final_state[(bh * DK + e / BV) * DV + vv] = st[e]; }
  }
}`;
}

/** O = scale (diag(Γ) Q S₀ + P U), parallel over chunks. */
export function outputKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> gcum: array<f32>;
@group(0) @binding(4) var<storage, read> hs: array<f32>;
@group(0) @binding(5) var<storage, read> unew: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
var<workgroup> p: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> gam: array<f32, ${s.chunk}>;
${CHUNK_MAIN}
  if (lid < C) { gam[lid] = gcum[base + lid]; }
  workgroupBarrier();
${INTRA_CHUNK_SCORES}
  let hbase = (bh * u.NT + n) * DK;
  for (var e = lid; e < C * DV; e += ${PARALLEL_THREADS}u) {
    let i = e / DV;
    let vv = e % DV;
    if (i < len) {
      let qi = tok(b, t0 + i, h) * DK;
      var inter = 0.0;
      for (var d = 0u; d < DK; d++) { inter += q[qi + d] * hs[(hbase + d) * DV + vv]; }
      var intra = 0.0;
      for (var j = 0u; j <= i; j++) { intra += p[i * C + j] * unew[(base + j) * DV + vv]; }
      o[tok(b, t0 + i, h) * DV + vv] = u.scale * (exp(gam[i]) * inter + intra);
    }
  }
}`;
}
