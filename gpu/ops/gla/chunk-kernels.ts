// WGSL of the chunked class-B recurrence, forward pass (fla's chunk_gla / chunk_simple_gla, written for
// WebGPU: no grid-wide sync, no float atomics). Notation per chunk of C tokens, positions i, j local
// to the chunk, S₀ the state entering the chunk, d a key channel, c a value channel:
//   γ_i[d] = Σ_{m≤i} g_m[d]   (cumulative log decay inside the chunk only, so that it stays small),
//   A_ij   = Σ_d q_i[d] k_j[d] exp(γ_i[d] − γ_j[d])   for j ≤ i   (exponent ≤ 0: no overflow),
//   o_i    = scale · (Σ_d q_i[d] exp(γ_i[d]) S₀[d,:] + Σ_{j≤i} A_ij v_j),
//   S₁     = Diag(exp γ_last) S₀ + Σ_j (k_j ⊙ exp(γ_last − γ_j)) v_jᵀ.
// Every exponential is of a difference of cumulative decays that is ≤ 0 (a "stable segment sum");
// exp(+cumsum) is never formed. Four dispatches: `cumsum` (γ), `decayed` (q̂_i = q_i ⊙ exp γ_i and
// k̂_j = k_j ⊙ exp(γ_last − γ_j) once per token, so that the inner loops below take no exponential),
// `state` (sequential over chunks, one invocation per state element: the elements evolve
// independently), `output` (parallel over chunks).
// A scalar decay per head is the same computation with γ_i[d] independent of d, which lets the score
// take one exponential per pair instead of one per channel.

import { linearMain } from '../../grid.js';
import { GLA_PARAMS, PARALLEL_THREADS } from './common.js';

export interface ChunkVariant {
  /** Chunk length C (baked into workgroup array sizes). */
  chunk: number;
  /** The decay has one value per key channel (GK = K) rather than one per head. */
  perChannel: boolean;
}

export function header(s: ChunkVariant): string {
  return `const C = ${s.chunk}u;
${GLA_PARAMS}`;
}

/** Entry of the chunk-parallel kernels: one workgroup per (chunk n, batch·head). */
export const CHUNK_MAIN = `
@compute @workgroup_size(${PARALLEL_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;
  let t0 = n * C;
  let len = min(C, u.T - t0);
  let DK = u.K;
  let DV = u.V;
  // Base of this chunk's state in the [B·H, NT, K, V] chunk-state buffers.
  let hb = (bh * u.NT + n) * DK;
  // γ of the chunk's last real token, per key channel: gcum[gidx(rlast, d)].
  let rlast = tok(b, t0 + len - 1u, h);`;

/**
 * \`score(ri, rj)\` = Σ_d q[ri,d] k[rj,d] exp(γ[ri,d] − γ[rj,d]) over buffers q, k, gcum, with one
 * exponential per channel, or one per pair for a scalar decay.
 */
export function scoreFn(s: ChunkVariant): string {
  const body = s.perChannel
    ? `for (var d = 0u; d < u.K; d++) {
    acc += q[ri * u.K + d] * k[rj * u.K + d] * exp(gcum[ri * u.K + d] - gcum[rj * u.K + d]);
  }
  return acc;`
    : `for (var d = 0u; d < u.K; d++) { acc += q[ri * u.K + d] * k[rj * u.K + d]; }
  return acc * exp(gcum[ri] - gcum[rj]);`;
  return `
fn score(ri: u32, rj: u32) -> f32 {
  var acc = 0.0;
  ${body}
}`;
}

/** The chunk-local inclusive cumulative sum γ of the log decay, one invocation per (b·h, chunk, channel). */
export function cumsumKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> gcum: array<f32>;
${linearMain()}
  if (i >= u.B * u.H * u.NT * u.GK) { return; }
  let ch = i % u.GK;
  let n = (i / u.GK) % u.NT;
  let bh = i / (u.GK * u.NT);
  let b = bh / u.H;
  let h = bh % u.H;
  let t0 = n * C;
  var acc = 0.0;
  for (var j = 0u; j < min(C, u.T - t0); j++) {
    let r = tok(b, t0 + j, h) * u.GK + ch;
    acc += g[r];
    gcum[r] = acc;
  }
}`;
}

/** q̂ = q ⊙ exp γ and k̂ = k ⊙ exp(γ_last − γ) (γ_last of the token's chunk), one invocation per element. */
export function decayedKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> gcum: array<f32>;
@group(0) @binding(4) var<storage, read_write> qd: array<f32>;
@group(0) @binding(5) var<storage, read_write> kd: array<f32>;
${linearMain()}
  if (i >= u.B * u.T * u.H * u.K) { return; }
  let d = i % u.K;
  let r = i / u.K;
  let h = r % u.H;
  let t = (r / u.H) % u.T;
  let b = r / (u.H * u.T);
  let last = min(u.T, (t / C + 1u) * C) - 1u;
  let g = gcum[gidx(r, d)];
  qd[i] = q[i] * exp(g);
  kd[i] = k[i] * exp(gcum[gidx(tok(b, last, h), d)] - g);
}`;
}

/**
 * Sequential pass over chunks: stores each chunk's entering state S₀ in \`hs\` and advances
 * S ← Diag(exp γ_last) S + Σ_j k̂_j v_jᵀ. One invocation per state element (b·h, d, c).
 */
export function stateKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> kd: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> gcum: array<f32>;
@group(0) @binding(4) var<storage, read> h0: array<f32>;
@group(0) @binding(5) var<storage, read_write> hs: array<f32>;
@group(0) @binding(6) var<storage, read_write> final_state: array<f32>;
${linearMain()}
  if (i >= u.B * u.H * u.K * u.V) { return; }
  let c = i % u.V;
  let d = (i / u.V) % u.K;
  let bh = i / (u.K * u.V);
  let b = bh / u.H;
  let h = bh % u.H;
  var st = 0.0;
  if ((u.flags & 1u) != 0u) { st = h0[i]; }
  for (var n = 0u; n < u.NT; n++) {
    hs[((bh * u.NT + n) * u.K + d) * u.V + c] = st;
    let t0 = n * C;
    let len = min(C, u.T - t0);
    let glast = gcum[gidx(tok(b, t0 + len - 1u, h), d)];
    var acc = exp(glast) * st;
    for (var j = 0u; j < len; j++) {
      let r = tok(b, t0 + j, h);
      acc += kd[r * u.K + d] * v[r * u.V + c];
    }
    st = acc;
  }
  final_state[i] = st;
}`;
}

/** o_i = scale · (q̂_iᵀ S₀ + Σ_{j≤i} A_ij v_j), parallel over chunks. */
export function outputKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> gcum: array<f32>;
@group(0) @binding(5) var<storage, read> hs: array<f32>;
@group(0) @binding(6) var<storage, read> qd: array<f32>;
@group(0) @binding(7) var<storage, read_write> o: array<f32>;
var<workgroup> a: array<f32, ${s.chunk * s.chunk}>;
${scoreFn(s)}
${CHUNK_MAIN}
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let i = e / C;
    let j = e % C;
    var x = 0.0;
    if (j <= i && i < len) { x = score(tok(b, t0 + i, h), tok(b, t0 + j, h)); }
    a[e] = x;
  }
  workgroupBarrier();
  for (var e = lid; e < C * DV; e += ${PARALLEL_THREADS}u) {
    let i = e / DV;
    let c = e % DV;
    if (i < len) {
      let r = tok(b, t0 + i, h);
      var inter = 0.0;
      for (var d = 0u; d < DK; d++) { inter += qd[r * DK + d] * hs[(hb + d) * DV + c]; }
      var intra = 0.0;
      for (var j = 0u; j <= i; j++) { intra += a[i * C + j] * v[tok(b, t0 + j, h) * DV + c]; }
      o[r * DV + c] = u.scale * (inter + intra);
    }
  }
}`;
}
