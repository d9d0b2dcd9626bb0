// Causal attention through the full score matrix: S = Q·Kᵀ and O = P·V are batched products on the tuned
// matmul kernels (skipping the tiles above the causal band), between them one fused kernel applies the
// scale, the causal/window mask and the FoX bias and takes the softmax (its backward is one fused kernel too). It holds B·H·Tq·Tk floats several
// times over, so `attention` takes it only while that fits a budget (DENSE_MAX_SCORE_BYTES); past that
// the flash kernels (memory linear in T) run. On the H100 the products reach ~35 TFLOP/s where the
// flash kernels, which compute dot products out of workgroup memory, reach ~1 (bench/RESULTS.md).
//
// Layout: q [B, Tq, H, D] is regrouped to [B, Hkv, G, Tq, D] (G = H / Hkv query heads per kv head) and
// K, V to [B, Hkv, 1, Tk, D]: the products broadcast each kv head over its query heads (no copies).

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { unary } from '../elementwise.js';
import { causalMatmul } from '../matmul.js';
import { sum, sumToShape } from '../reduce.js';
import { permute, reshape } from '../shape.js';
import { rowGrid, rowMain, workgroupReduce } from '../wgsl.js';

/** The largest score matrix (bytes of one B·H·Tq·Tk f32 tensor) the dense path accepts; backward holds three. */
export const DENSE_MAX_SCORE_BYTES = 512 * 2 ** 20;

export interface DenseDims {
  B: number;
  Tq: number;
  Tk: number;
  H: number;
  HKV: number;
  D: number;
}

const SIZE = 256;

const PARAMS = `
struct Params { rows: u32, width: u32, Tq: u32, G: u32, HKV: u32, H: u32, window: u32, hasBias: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;`;

// Row r of the scores [B, Hkv, G·Tq, Tk] is query i of query head h = hk·G + g; it sees keys lo..pos.
const ROW_SETUP = `
  let i = row % u.Tq;
  let g = (row / u.Tq) % u.G;
  let hk = (row / (u.Tq * u.G)) % u.HKV;
  let b = row / (u.Tq * u.G * u.HKV);
  let h = hk * u.G + g;
  let pos = u.width - u.Tq + i;
  var lo = 0u;
  if (u.window > 0u && pos + 1u > u.window) { lo = pos + 1u - u.window; }
  let base = row * u.width;`;

const FORWARD = `${PARAMS}
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> p: array<f32>;
${workgroupReduce(SIZE)}
${rowMain(SIZE)}
${ROW_SETUP}
  var fPos = 0.0;
  if (u.hasBias != 0u) { fPos = bias[(b * u.width + pos) * u.H + h]; }
  var localMax = -3.4028234e38;
  for (var j = lo + tid; j <= pos; j += ${SIZE}u) {
    var z = s[base + j] * u.scale;
    if (u.hasBias != 0u) { z += fPos - bias[(b * u.width + j) * u.H + h]; }
    localMax = max(localMax, z);
  }
  let m = workgroupMax(localMax, tid);
  var localSum = 0.0;
  for (var j = lo + tid; j <= pos; j += ${SIZE}u) {
    var z = s[base + j] * u.scale;
    if (u.hasBias != 0u) { z += fPos - bias[(b * u.width + j) * u.H + h]; }
    localSum += exp(z - m);
  }
  let inverse = 1.0 / workgroupSum(localSum, tid);
  for (var j = tid; j < u.width; j += ${SIZE}u) {
    var value = 0.0;
    if (j >= lo && j <= pos) {
      var z = s[base + j] * u.scale;
      if (u.hasBias != 0u) { z += fPos - bias[(b * u.width + j) * u.H + h]; }
      value = exp(z - m) * inverse;
    }
    p[base + j] = value;
  }
}`;

// dZ = P ⊙ (dP − Σ_j P·dP) (zero where masked, since P is); dS = scale · dZ.
const BACKWARD = `${PARAMS}
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> gp: array<f32>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;
${workgroupReduce(SIZE)}
${rowMain(SIZE)}
${ROW_SETUP}
  var local = 0.0;
  for (var j = lo + tid; j <= pos; j += ${SIZE}u) { local += p[base + j] * gp[base + j]; }
  let total = workgroupSum(local, tid);
  for (var j = tid; j < u.width; j += ${SIZE}u) {
    var value = 0.0;
    if (j >= lo && j <= pos) { value = u.scale * p[base + j] * (gp[base + j] - total); }
    ds[base + j] = value;
  }
}`;

function paramBytes(d: DenseDims, window: number, hasBias: boolean, scale: number): ArrayBuffer {
  const rows = d.B * d.H * d.Tq;
  return uniformBytes({ u32: [rows, d.Tk, d.Tq, d.H / d.HKV, d.HKV, d.H, window, hasBias ? 1 : 0], f32: [scale] });
}

/**
 * softmax(scale·S + F_pos − F_j) over the visible keys of each row (zero elsewhere), differentiable in S
 * and in the FoX bias F [B, Tk, H].
 */
function maskedSoftmax(scores: Tensor, bias: Tensor | undefined, d: DenseDims, window: number, scale: number): Tensor {
  const engine = scores.engine;
  const rows = d.B * d.H * d.Tq;
  const uniforms = paramBytes(d, window, !!bias, scale);
  const biasBinding = bias ?? engine.empty([1]);
  const p = engine.empty(scores.shape);
  engine.dispatch(
    { name: 'attention:dense-softmax', wgsl: FORWARD },
    { bindings: [scores, biasBinding, p], uniforms, workgroups: rowGrid(rows) },
  );
  if (!bias) biasBinding.release();
  const inputs = bias ? [scores, bias] : [scores];
  return record(p, 'attention.maskedSoftmax', inputs, (gp) => {
    const ds = engine.empty(scores.shape);
    engine.dispatch(
      { name: 'attention:dense-softmax-backward', wgsl: BACKWARD },
      { bindings: [p, gp, ds], uniforms, workgroups: rowGrid(rows) },
    );
    if (!bias) return [ds];
    // F_pos shifts a whole row (the softmax ignores it: its gradient is 0); −F_j gives the column sums.
    const G = d.H / d.HKV;
    const columns = sum(reshape(ds, [d.B, d.HKV, G, d.Tq, d.Tk]), 3); // [B, Hkv, G, Tk]
    const byKey = reshape(permute(columns, [0, 3, 1, 2]), [d.B, d.Tk, d.H]);
    columns.release();
    return [ds, unary('scale', byKey, -1 / scale)];
  });
}

/**
 * S = Q·Kᵀ over q [B, Hkv, G, Tq, D] and k [B, Hkv, 1, Tk, D] (broadcast over the G query heads of a kv
 * head). Tiles above the causal band are skipped (never read); the backward skips the zero parts of dS.
 */
function causalScores(q: Tensor, k: Tensor, offset: number): Tensor {
  const s = causalMatmul(q, k, { mode: 'upper', offset }, { transB: true });
  return record(s, 'attention.scores', [q, k], (gs) => [
    causalMatmul(gs, k, { mode: 'kEnd', offset }),
    sumToShape(causalMatmul(gs, q, { mode: 'kStart', offset }, { transA: true }), k.shape),
  ]);
}

/** O = P·V over p [B, Hkv, G, Tq, Tk] (zero past the band) and v [B, Hkv, 1, Tk, D]. */
function causalMix(p: Tensor, v: Tensor, offset: number): Tensor {
  const o = causalMatmul(p, v, { mode: 'kEnd', offset });
  return record(o, 'attention.mix', [p, v], (go) => [
    causalMatmul(go, v, { mode: 'upper', offset }, { transB: true }),
    sumToShape(causalMatmul(p, go, { mode: 'kStart', offset }, { transA: true }), v.shape),
  ]);
}

/** q [B, Tq, H, D]; k, v [B, Tk, Hkv, D] → [B, Tq, H, D] (inputs checked by `attention`). */
export function denseAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  d: DenseDims,
  window: number,
  scale: number,
  cumLogForget?: Tensor,
): Tensor {
  const G = d.H / d.HKV;
  const offset = d.Tk - d.Tq;
  const q5 = permute(reshape(q, [d.B, d.Tq, d.HKV, G, d.D]), [0, 2, 3, 1, 4]);
  const k5 = reshape(permute(k, [0, 2, 1, 3]), [d.B, d.HKV, 1, d.Tk, d.D]);
  const v5 = reshape(permute(v, [0, 2, 1, 3]), [d.B, d.HKV, 1, d.Tk, d.D]);
  const p = maskedSoftmax(causalScores(q5, k5, offset), cumLogForget, d, window, scale);
  const o5 = causalMix(p, v5, offset); // [B, Hkv, G, Tq, D]
  return reshape(permute(o5, [0, 3, 1, 2, 4]), [d.B, d.Tq, d.H, d.D]);
}

/** Bytes of one score matrix of these dims (what the dense path would hold, several times). */
export function denseScoreBytes(d: DenseDims): number {
  return 4 * d.B * d.H * d.Tq * d.Tk;
}
