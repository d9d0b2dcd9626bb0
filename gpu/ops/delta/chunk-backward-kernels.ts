// WGSL of the chunkwise delta rule, backward pass. Notation as in chunk-kernels.ts; with dO the
// upstream gradient of O and dS₁ that of the chunk-end state, the adjoint of one chunk is
//   dU   = scale Pᵀ dO + diag(e_C·) K dS₁                (P and the state update both read U),
//   dS₀  = Γ_C dS₁ + scale Qᵀ diag(Γ) dO − Wᵀ dU          (carried to the previous chunk),
//   dW   = −dU S₀ᵀ,  dLinv = dW (βΓK)ᵀ + dU (βV)ᵀ,  dA = −(Linvᵀ dLinv Linvᵀ) strictly lower,
// and the gradients of q, k, v, β and γ follow from P, A, W = Linv diag(βΓ)K and U' = Linv diag(β)V
// term by term (see `gradKernel`); dg is the reverse cumulative sum of dγ inside each chunk.
// Six dispatches: `localGrad` (scale Pᵀ dO, parallel), `stateBackward` (sequential, reverse),
// `contractions` (state products, parallel), `matrices` (the UT-transform adjoint, parallel), `grad`
// (parallel) and `decayGrad` (only with a decay). Scratch per chunk lives in one buffer `xs` with the
// regions below, which keeps every kernel within 10 storage bindings (WebGPU's default is 8; common
// adapters give 10 or more).

import {
  CHUNK_MAIN,
  DELTA_PARAMS,
  INTRA_CHUNK_SCORES,
  MAX_BV,
  PARALLEL_THREADS,
  STATE_MAIN,
  STATE_THREADS,
  STATE_TILE,
  constants,
  type ChunkShape,
} from './chunk-kernels.js';

/** Floats per chunk of the backward scratch buffer `xs` (its regions: SCRATCH_OFFSETS). */
export function scratchFloats(chunk: number, dk: number, dv: number): number {
  return 4 * chunk * dk + chunk * dv + dk + 2 * chunk * chunk + chunk;
}

/** Offsets of the per-chunk regions of `xs` (lets inside main); `x` is this chunk's block. */
const SCRATCH_OFFSETS = `
  let X1 = 0u; // S₀ dO_i  [C, K]
  let X2 = X1 + C * DK; // dS₁ u_i  [C, K]
  let XDW = X2 + C * DK; // −dU S₀ᵀ  [C, K]
  let XDKB = XDW + C * DK; // Linvᵀ dW  [C, K]
  let XDVB = XDKB + C * DK; // Linvᵀ dU  [C, V]
  let XHDH = XDVB + C * DV; // rows of ⟨S₀, dS₁⟩  [K]
  let XDPS = XHDH + DK; // dO_i·u_j  [C, C]
  let XDA = XDPS + C * C; // dA  [C, C]
  let XDG = XDA + C * C; // dγ  [C]
  let XS = XDG + C;
  let x = (bh * u.NT + n) * XS;`;
/** dUloc_j = scale Σ_{i≥j} P_ij dO_i: the part of dU that does not depend on later chunks. */
export function localGradKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> gcum: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;
var<workgroup> p: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> gam: array<f32, ${s.chunk}>;
${CHUNK_MAIN}
  if (lid < C) { gam[lid] = gcum[base + lid]; }
  workgroupBarrier();
${INTRA_CHUNK_SCORES}
  for (var e = lid; e < C * DV; e += ${PARALLEL_THREADS}u) {
    let j = e / DV;
    let vv = e % DV;
    var acc = 0.0;
    for (var i = j; i < len; i++) { acc += p[i * C + j] * dout[tok(b, t0 + i, h) * DV + vv]; }
    du[(base + j) * DV + vv] = u.scale * acc;
  }
}`;
}

/**
 * Reverse pass over chunks: completes dU (in place over dUloc) and carries dS. `dends[n]` receives
 * the gradient of the state at the end of chunk n (dS₁), `dh0` that of the initial state.
 */
export function stateBackwardKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> gcum: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> dfinal: array<f32>;
@group(0) @binding(7) var<storage, read_write> du: array<f32>;
@group(0) @binding(8) var<storage, read_write> dends: array<f32>;
@group(0) @binding(9) var<storage, read_write> dh0: array<f32>;
var<workgroup> dst: array<f32, ${STATE_TILE}>;
var<workgroup> dut: array<f32, ${s.chunk * MAX_BV}>;
var<workgroup> dec: array<f32, ${s.chunk}>;
var<workgroup> gx: array<f32, ${s.chunk}>;
${STATE_MAIN}
  for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    var x = 0.0;
    if ((u.flags & 2u) != 0u && vv < DV) { x = dfinal[(bh * DK + e / BV) * DV + vv]; }
    dst[e] = x;
  }
  workgroupBarrier();
  for (var step = 0u; step < u.NT; step++) {
    let n = u.NT - 1u - step;
    let t0 = n * C;
    let len = min(C, u.T - t0);
    let base = (bh * u.NT + n) * C;
    let glast = gcum[base + C - 1u];
    for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
      let vv = v0 + e % BV;
      if (vv < DV) { dends[((bh * u.NT + n) * DK + e / BV) * DV + vv] = dst[e]; }
    }
    if (lid < C) {
      dec[lid] = select(0.0, exp(glast - gcum[base + lid]), lid < len);
      gx[lid] = select(0.0, exp(gcum[base + lid]), lid < len);
    }
    workgroupBarrier();
    for (var e = lid; e < C * BV; e += ${STATE_THREADS}u) {
      let i = e / BV;
      let c = e % BV;
      let vv = v0 + c;
      var x = 0.0;
      if (vv < DV && i < len) {
        let ki = tok(b, t0 + i, h) * DK;
        var acc = 0.0;
        for (var d = 0u; d < DK; d++) { acc += k[ki + d] * dst[d * BV + c]; }
        x = du[(base + i) * DV + vv] + dec[i] * acc;
        du[(base + i) * DV + vv] = x;
      }
      dut[e] = x;
    }
    workgroupBarrier();
    let decay = exp(glast);
    for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
      let d = e / BV;
      let c = e % BV;
      let vv = v0 + c;
      var x = decay * dst[e];
      if (vv < DV) {
        for (var i = 0u; i < len; i++) {
          let r = tok(b, t0 + i, h);
          x += u.scale * gx[i] * q[r * DK + d] * dout[r * DV + vv] - w[(base + i) * DK + d] * dut[i * BV + c];
        }
      }
      dst[e] = x;
    }
    workgroupBarrier();
  }
  for (var e = lid; e < DK * BV; e += ${STATE_THREADS}u) {
    let vv = v0 + e % BV;
    if (vv < DV) { dh0[(bh * DK + e / BV) * DV + vv] = dst[e]; }
  }
}`;
}

/** Products with the chunk's states: S₀dO_i, dS₁u_i, −dU_iS₀ᵀ, rows of ⟨S₀, dS₁⟩, and dO_i·u_j. */
export function contractionsKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> hs: array<f32>;
@group(0) @binding(2) var<storage, read> dends: array<f32>;
@group(0) @binding(3) var<storage, read> unew: array<f32>;
@group(0) @binding(4) var<storage, read> du: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> xs: array<f32>;
${CHUNK_MAIN}${SCRATCH_OFFSETS}
  let h0 = (bh * u.NT + n) * DK * DV; // S₀ and dS₁ of this chunk share the layout
  for (var e = lid; e < C * DK; e += ${PARALLEL_THREADS}u) {
    let i = e / DK;
    let d = e % DK;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    if (i < len) {
      let r = tok(b, t0 + i, h) * DV;
      for (var vv = 0u; vv < DV; vv++) {
        let s0 = hs[h0 + d * DV + vv];
        a1 += s0 * dout[r + vv];
        a2 += dends[h0 + d * DV + vv] * unew[(base + i) * DV + vv];
        a3 -= du[(base + i) * DV + vv] * s0;
      }
    }
    xs[x + X1 + e] = a1;
    xs[x + X2 + e] = a2;
    xs[x + XDW + e] = a3;
  }
  for (var d = lid; d < DK; d += ${PARALLEL_THREADS}u) {
    var acc = 0.0;
    for (var vv = 0u; vv < DV; vv++) { acc += hs[h0 + d * DV + vv] * dends[h0 + d * DV + vv]; }
    xs[x + XHDH + d] = acc;
  }
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let i = e / C;
    let j = e % C;
    var acc = 0.0;
    if (j <= i && i < len) {
      let r = tok(b, t0 + i, h) * DV;
      for (var vv = 0u; vv < DV; vv++) { acc += dout[r + vv] * unew[(base + j) * DV + vv]; }
    }
    xs[x + XDPS + e] = acc;
  }
}`;
}

/** The UT transform's adjoint: dLinv, then dA = −(Linvᵀ dLinv Linvᵀ) (strictly lower), dKb, dVb. */
export function matricesKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> gcum: array<f32>;
@group(0) @binding(5) var<storage, read> linv: array<f32>;
@group(0) @binding(6) var<storage, read> du: array<f32>;
@group(0) @binding(7) var<storage, read_write> xs: array<f32>;
var<workgroup> li: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> dl: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> m1: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> gam: array<f32, ${s.chunk}>;
${CHUNK_MAIN}${SCRATCH_OFFSETS}
  if (lid < C) { gam[lid] = gcum[base + lid]; }
  workgroupBarrier();
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) { li[e] = linv[base * C + e]; }
  // dLinv_im = dW_i·(β_m Γ_m k_m) + dU_i·(β_m v_m) for m ≤ i < len (Linv is lower triangular).
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let i = e / C;
    let m = e % C;
    var acc = 0.0;
    if (m <= i && i < len) {
      let km = tok(b, t0 + m, h);
      var a1 = 0.0;
      for (var d = 0u; d < DK; d++) { a1 += xs[x + XDW + i * DK + d] * k[km * DK + d]; }
      var a2 = 0.0;
      for (var vv = 0u; vv < DV; vv++) { a2 += du[(base + i) * DV + vv] * v[km * DV + vv]; }
      acc = beta[km] * (exp(gam[m]) * a1 + a2);
    }
    dl[e] = acc;
  }
  workgroupBarrier();
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let a = e / C;
    let c = e % C;
    var acc = 0.0;
    for (var i = max(a, c); i < C; i++) { acc += li[i * C + a] * dl[i * C + c]; }
    m1[e] = acc;
  }
  workgroupBarrier();
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let a = e / C;
    let c = e % C;
    var acc = 0.0;
    if (c < a) { for (var m = 0u; m <= c; m++) { acc -= m1[a * C + m] * li[c * C + m]; } }
    xs[x + XDA + e] = acc;
  }
  for (var e = lid; e < C * DK; e += ${PARALLEL_THREADS}u) {
    let j = e / DK;
    let d = e % DK;
    var acc = 0.0;
    for (var i = j; i < len; i++) { acc += li[i * C + j] * xs[x + XDW + i * DK + d]; }
    xs[x + XDKB + e] = acc;
  }
  for (var e = lid; e < C * DV; e += ${PARALLEL_THREADS}u) {
    let j = e / DV;
    let vv = e % DV;
    var acc = 0.0;
    for (var i = j; i < len; i++) { acc += li[i * C + j] * du[(base + i) * DV + vv]; }
    xs[x + XDVB + e] = acc;
  }
}`;
}

/**
 * Gradients of q, k, v, β and g of one chunk from the scratch regions. Per-row scalars (dβ, dγ) are
 * one invocation per row; dg is the reverse cumulative sum of dγ because γ_i = Σ_{m≤i} g_m.
 */
export function gradKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> gcum: array<f32>;
@group(0) @binding(6) var<storage, read_write> xs: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;
@group(0) @binding(10) var<storage, read_write> dbeta: array<f32>;
var<workgroup> dps: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> da: array<f32, ${s.chunk * s.chunk}>;
var<workgroup> gam: array<f32, ${s.chunk}>;
var<workgroup> bet: array<f32, ${s.chunk}>;
fn dotK(a: u32, bIndex: u32, useQ: bool) -> f32 {
  // q_a·k_b (useQ) or k_a·k_b, rows given as token rows.
  var acc = 0.0;
  for (var d = 0u; d < u.DK; d++) {
    let left = select(k[a * u.DK + d], q[a * u.DK + d], useQ);
    acc += left * k[bIndex * u.DK + d];
  }
  return acc;
}
${CHUNK_MAIN}${SCRATCH_OFFSETS}
  if (lid < C) {
    gam[lid] = gcum[base + lid];
    bet[lid] = select(0.0, beta[tok(b, t0 + min(lid, len - 1u), h)], lid < len);
  }
  workgroupBarrier();
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let i = e / C;
    let j = e % C;
    dps[e] = select(0.0, u.scale * exp(gam[i] - gam[j]) * xs[x + XDPS + e], j <= i && i < len);
    da[e] = xs[x + XDA + e];
  }
  workgroupBarrier();
  let glast = gam[C - 1u];
  for (var e = lid; e < C * DK; e += ${PARALLEL_THREADS}u) {
    let j = e / DK;
    let d = e % DK;
    if (j < len) {
      let rj = tok(b, t0 + j, h);
      var gq = u.scale * exp(gam[j]) * xs[x + X1 + e];
      for (var m = 0u; m <= j; m++) { gq += dps[j * C + m] * k[tok(b, t0 + m, h) * DK + d]; }
      var gk = exp(glast - gam[j]) * xs[x + X2 + e] + bet[j] * exp(gam[j]) * xs[x + XDKB + e];
      for (var i = j; i < len; i++) { gk += dps[i * C + j] * q[tok(b, t0 + i, h) * DK + d]; }
      for (var m = 0u; m < j; m++) {
        gk += da[j * C + m] * bet[j] * exp(gam[j] - gam[m]) * k[tok(b, t0 + m, h) * DK + d];
      }
      for (var i = j + 1u; i < len; i++) {
        gk += da[i * C + j] * bet[i] * exp(gam[i] - gam[j]) * k[tok(b, t0 + i, h) * DK + d];
      }
      dq[rj * DK + d] = gq;
      dk[rj * DK + d] = gk;
    }
  }
  for (var e = lid; e < C * DV; e += ${PARALLEL_THREADS}u) {
    let j = e / DV;
    if (j < len) { dv[tok(b, t0 + j, h) * DV + e % DV] = bet[j] * xs[x + XDVB + e]; }
  }
  if (lid < C) {
    let j = lid;
    var gb = 0.0;
    var gg = 0.0;
    if (j < len) {
      let rj = tok(b, t0 + j, h);
      let gj = exp(gam[j]);
      var vdvb = 0.0;
      for (var vv = 0u; vv < DV; vv++) { vdvb += v[rj * DV + vv] * xs[x + XDVB + j * DV + vv]; }
      var kdkb = 0.0;
      var qx1 = 0.0;
      var kx2 = 0.0;
      for (var d = 0u; d < DK; d++) {
        kdkb += k[rj * DK + d] * xs[x + XDKB + j * DK + d];
        qx1 += q[rj * DK + d] * xs[x + X1 + j * DK + d];
        kx2 += k[rj * DK + d] * xs[x + X2 + j * DK + d];
      }
      gb = vdvb + gj * kdkb;
      gg = u.scale * gj * qx1 - exp(glast - gam[j]) * kx2 + bet[j] * gj * kdkb;
      // Row j as the later index of P_jm and A_jm (their decay e_jm grows with γ_j) …
      for (var m = 0u; m < j; m++) {
        let rm = tok(b, t0 + m, h);
        let kk = dotK(rj, rm, false);
        let ejm = exp(gam[j] - gam[m]);
        gb += da[j * C + m] * ejm * kk;
        gg += dps[j * C + m] * dotK(rj, rm, true) + da[j * C + m] * bet[j] * ejm * kk;
      }
      // … and as the earlier index of P_ij and A_ij (their decay shrinks with γ_j).
      for (var i = j + 1u; i < len; i++) {
        let ri = tok(b, t0 + i, h);
        gg -= dps[i * C + j] * dotK(ri, rj, true) + da[i * C + j] * bet[i] * exp(gam[i] - gam[j]) * dotK(ri, rj, false);
      }
      if (j == len - 1u) {
        // γ_C scales the carried state and every e_Cm of the state update.
        var hdh = 0.0;
        for (var d = 0u; d < DK; d++) { hdh += xs[x + XHDH + d]; }
        gg += exp(glast) * hdh;
        for (var m = 0u; m < len; m++) {
          var kx = 0.0;
          for (var d = 0u; d < DK; d++) { kx += k[tok(b, t0 + m, h) * DK + d] * xs[x + X2 + m * DK + d]; }
          gg += exp(glast - gam[m]) * kx;
        }
      }
      dbeta[rj] = gb;
    }
    xs[x + XDG + j] = gg;
  }
}`;
}

/** dg = reverse cumulative sum of dγ inside each chunk (γ_i = Σ_{m≤i} g_m). */
export function decayGradKernel(s: ChunkShape): string {
  return `${constants(s)}
${DELTA_PARAMS}
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read_write> dg: array<f32>;
${CHUNK_MAIN}${SCRATCH_OFFSETS}
  if (lid == 0u) {
    var acc = 0.0;
    for (var j = len; j > 0u; j--) {
      acc += xs[x + XDG + j - 1u];
      dg[tok(b, t0 + j - 1u, h)] = acc;
    }
  }
}`;
}
