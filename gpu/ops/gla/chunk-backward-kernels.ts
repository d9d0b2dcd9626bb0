// WGSL of the chunked class-B recurrence, backward pass. With dO the output gradient, S₀ the state
// entering chunk n (saved by the forward) and dS₁ the gradient of the state leaving it:
//   dS₀    = Diag(exp γ_last) dS₁ + scale Σ_i q̂_i dO_iᵀ                        (sequential, reverse),
//   dA_ij  = scale dO_i·v_j                                                   (j ≤ i),
//   dq_i   = scale exp(γ_i) ⊙ (S₀ dO_i) + Σ_{j≤i} dA_ij k_j ⊙ exp(γ_i − γ_j),
//   dk_j   = Σ_{i≥j} dA_ij q_i ⊙ exp(γ_i − γ_j) + exp(γ_last − γ_j) ⊙ (dS₁ v_j),
//   dv_j   = scale Σ_{i≥j} A_ij dO_i + dS₁ᵀ k̂_j,
// with q̂ = q ⊙ exp γ and k̂ = k ⊙ exp(γ_last − γ) saved by the forward (chunk-kernels.ts).
// The decay's gradient follows from the identity dG_t = q_t ⊙ dq_t − k_t ⊙ dk_t for the cumulative
// decay G_t of the whole sequence (every q_t enters with exp(+G_t), every k_t with exp(−G_t)), plus
// Σ_c S_T ⊙ dS_T at the last token; dg is its reverse cumulative sum (decay-grad.ts). dq, dk and dv
// are three small kernels so that none binds more than 8 storage buffers (WebGPU's default limit).

import { linearMain } from '../../grid.js';
import { CHUNK_MAIN, header, scoreFn, type ChunkVariant } from './chunk-kernels.js';
import { PARALLEL_THREADS } from './common.js';

/** The reverse pass over chunks: dhs[n] = dS₁ of chunk n; dh0 = dS₀ of the first chunk. Per state element. */
export function stateBackwardKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> qd: array<f32>;
@group(0) @binding(2) var<storage, read> gcum: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> dfinal: array<f32>;
@group(0) @binding(5) var<storage, read_write> dhs: array<f32>;
@group(0) @binding(6) var<storage, read_write> dh0: array<f32>;
${linearMain()}
  if (i >= u.B * u.H * u.K * u.V) { return; }
  let c = i % u.V;
  let d = (i / u.V) % u.K;
  let bh = i / (u.K * u.V);
  let b = bh / u.H;
  let h = bh % u.H;
  var ds = 0.0;
  if ((u.flags & 2u) != 0u) { ds = dfinal[i]; }
  for (var m = 0u; m < u.NT; m++) {
    let n = u.NT - 1u - m;
    dhs[((bh * u.NT + n) * u.K + d) * u.V + c] = ds;
    let t0 = n * C;
    let len = min(C, u.T - t0);
    var acc = exp(gcum[gidx(tok(b, t0 + len - 1u, h), d)]) * ds;
    for (var j = 0u; j < len; j++) {
      let r = tok(b, t0 + j, h);
      acc += u.scale * qd[r * u.K + d] * dout[r * u.V + c];
    }
    ds = acc;
  }
  dh0[i] = ds;
}`;
}

/** dA_ij = scale dO_i·v_j into workgroup \`da\` (j ≤ i < len, else 0); ends with a barrier. */
const DA_MATRIX = `
  for (var e = lid; e < C * C; e += ${PARALLEL_THREADS}u) {
    let i = e / C;
    let j = e % C;
    var x = 0.0;
    if (j <= i && i < len) {
      let ri = tok(b, t0 + i, h) * DV;
      let rj = tok(b, t0 + j, h) * DV;
      for (var c = 0u; c < DV; c++) { x += dout[ri + c] * v[rj + c]; }
      x *= u.scale;
    }
    da[e] = x;
  }
  workgroupBarrier();`;

export function dqKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> gcum: array<f32>;
@group(0) @binding(4) var<storage, read> hs: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;
var<workgroup> da: array<f32, ${s.chunk * s.chunk}>;
${CHUNK_MAIN}
${DA_MATRIX}
  for (var e = lid; e < C * DK; e += ${PARALLEL_THREADS}u) {
    let i = e / DK;
    let d = e % DK;
    if (i < len) {
      let r = tok(b, t0 + i, h);
      let gi = gcum[gidx(r, d)];
      var inter = 0.0;
      for (var c = 0u; c < DV; c++) { inter += hs[(hb + d) * DV + c] * dout[r * DV + c]; }
      var intra = 0.0;
      for (var j = 0u; j <= i; j++) {
        let rj = tok(b, t0 + j, h);
        intra += da[i * C + j] * k[rj * DK + d] * exp(gi - gcum[gidx(rj, d)]);
      }
      dq[r * DK + d] = u.scale * exp(gi) * inter + intra;
    }
  }
}`;
}

export function dkKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> gcum: array<f32>;
@group(0) @binding(4) var<storage, read> dhs: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
var<workgroup> da: array<f32, ${s.chunk * s.chunk}>;
${CHUNK_MAIN}
${DA_MATRIX}
  for (var e = lid; e < C * DK; e += ${PARALLEL_THREADS}u) {
    let j = e / DK;
    let d = e % DK;
    if (j < len) {
      let r = tok(b, t0 + j, h);
      let gj = gcum[gidx(r, d)];
      var intra = 0.0;
      for (var i = j; i < len; i++) {
        let ri = tok(b, t0 + i, h);
        intra += da[i * C + j] * q[ri * DK + d] * exp(gcum[gidx(ri, d)] - gj);
      }
      var carried = 0.0;
      for (var c = 0u; c < DV; c++) { carried += v[r * DV + c] * dhs[(hb + d) * DV + c]; }
      dk[r * DK + d] = intra + exp(gcum[gidx(rlast, d)] - gj) * carried;
    }
  }
}`;
}

export function dvKernel(s: ChunkVariant): string {
  return `${header(s)}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> gcum: array<f32>;
@group(0) @binding(4) var<storage, read> dhs: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> kd: array<f32>;
@group(0) @binding(7) var<storage, read_write> dv: array<f32>;
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
    let j = e / DV;
    let c = e % DV;
    if (j < len) {
      let r = tok(b, t0 + j, h);
      var intra = 0.0;
      for (var i = j; i < len; i++) { intra += a[i * C + j] * dout[tok(b, t0 + i, h) * DV + c]; }
      var carried = 0.0;
      for (var d = 0u; d < DK; d++) { carried += kd[r * DK + d] * dhs[(hb + d) * DV + c]; }
      dv[r * DV + c] = u.scale * intra + carried;
    }
  }
}`;
}
