// RMSNorm and LayerNorm over the last axis. One workgroup owns one row. RMSNorm is LayerNorm without
// centering and without bias, so both share one kernel template (`centered` switches the mean terms).
// The backward recomputes each row's statistics instead of saving them (cheap, and nothing but the
// op's inputs has to outlive the forward). Weight and bias gradients are column sums over rows, done
// by the deterministic two-pass `sum` of reduce.ts on the per-row products g ⊙ x̂.

import { record } from '../autograd.js';
import { uniformBytes } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { checkDType, checkSameEngine } from './checks.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';
import { rowGrid, rowMain, rowWorkgroupSize, workgroupReduce } from './wgsl.js';

type Kind = 'rmsNorm' | 'layerNorm';

const PARAMS = 'struct Params { rows: u32, width: u32, eps: f32 }';

/** Row statistics: mean (0 for RMSNorm) and 1/sqrt(E[(x−mean)²] + eps), centered in two passes. */
function rowStatistics(centered: boolean, size: number): string {
  return `
fn rowStatistics(base: u32, tid: u32) -> vec2<f32> {
  var mu = 0.0;
  if (${centered}) {
    var local = 0.0;
    for (var k = tid; k < u.width; k += ${size}u) { local += x[base + k]; }
    mu = workgroupSum(local, tid) / f32(u.width);
  }
  var localSq = 0.0;
  for (var k = tid; k < u.width; k += ${size}u) { let c = x[base + k] - mu; localSq += c * c; }
  let variance = workgroupSum(localSq, tid) / f32(u.width);
  return vec2<f32>(mu, inverseSqrt(variance + u.eps));
}`;
}

function forwardKernel(kind: Kind, size: number): string {
  const centered = kind === 'layerNorm';
  return `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
${centered ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${centered ? 4 : 3}) var<storage, read_write> y: array<f32>;
${workgroupReduce(size)}
${rowStatistics(centered, size)}
${rowMain(size)}
  let base = row * u.width;
  let stats = rowStatistics(base, tid);
  for (var k = tid; k < u.width; k += ${size}u) {
    y[base + k] = (x[base + k] - stats.x) * stats.y * weight[k]${centered ? ' + bias[k]' : ''};
  }
}`;
}

// With x̂ = (x − mean)·rstd and d = g ⊙ weight:
//   dx = rstd · (d − mean(d) − x̂ · mean(d ⊙ x̂))      (RMSNorm drops the mean(d) term)
// and gx̂ = g ⊙ x̂ is written for the weight gradient.
function backwardKernel(kind: Kind, size: number): string {
  const centered = kind === 'layerNorm';
  return `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> gxhat: array<f32>;
${workgroupReduce(size)}
${rowStatistics(centered, size)}
${rowMain(size)}
  let base = row * u.width;
  let stats = rowStatistics(base, tid);
  var localD = 0.0;
  var localDX = 0.0;
  for (var k = tid; k < u.width; k += ${size}u) {
    let d = g[base + k] * weight[k];
    localD += d;
    localDX += d * (x[base + k] - stats.x) * stats.y;
  }
  var meanD = 0.0;
  if (${centered}) { meanD = workgroupSum(localD, tid) / f32(u.width); }
  let meanDX = workgroupSum(localDX, tid) / f32(u.width);
  for (var k = tid; k < u.width; k += ${size}u) {
    let xhat = (x[base + k] - stats.x) * stats.y;
    dx[base + k] = stats.y * (g[base + k] * weight[k] - meanD - xhat * meanDX);
    gxhat[base + k] = g[base + k] * xhat;
  }
}`;
}

function checkNormArgs(op: Kind, x: Tensor, params: [string, Tensor][], eps: number): void {
  checkDType(op, 'x', x, 'f32');
  if (x.shape.length === 0) throw new RangeError(`${op}: x must have at least one axis, got ${x.describe()}`);
  const width = x.shape[x.shape.length - 1];
  if (width === 0) throw new RangeError(`${op}: the last axis of ${x.describe()} is empty`);
  for (const [name, p] of params) {
    checkDType(op, name, p, 'f32');
    if (p.shape.length !== 1 || p.shape[0] !== width) {
      throw new RangeError(`${op}: ${name} ${p.describe()} must have shape [${width}] to match x ${x.describe()}`);
    }
  }
  if (!(eps > 0)) throw new RangeError(`${op}: eps must be positive, got ${eps}`);
  checkSameEngine(op, [x, ...params.map(([, p]) => p)]);
}

function norm(kind: Kind, x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): Tensor {
  checkNormArgs(
    kind,
    x,
    bias
      ? [
          ['weight', weight],
          ['bias', bias],
        ]
      : [['weight', weight]],
    eps,
  );
  const engine = x.engine;
  const width = x.shape[x.shape.length - 1];
  const rows = x.size / width;
  const size = rowWorkgroupSize(width);
  const uniforms = uniformBytes({ u32: [rows, width], f32: [eps] });
  const y = engine.empty(x.shape);
  engine.dispatch(
    { name: `${kind}.forward`, wgsl: forwardKernel(kind, size) },
    { bindings: bias ? [x, weight, bias, y] : [x, weight, y], uniforms, workgroups: rowGrid(rows) },
  );
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, kind, inputs, (g) => {
    const dx = engine.empty(x.shape);
    const gxhat = engine.empty(x.shape);
    engine.dispatch(
      { name: `${kind}.backward`, wgsl: backwardKernel(kind, size) },
      { bindings: [x, weight, g, dx, gxhat], uniforms, workgroups: rowGrid(rows) },
    );
    const columnSum = (t: Tensor) => sum(reshape(t, [rows, width]), 0);
    const dWeight = weight.requiresGrad ? columnSum(gxhat) : null;
    const dBias = bias?.requiresGrad ? columnSum(g) : null;
    gxhat.release();
    if (x.requiresGrad) return [dx, dWeight, dBias];
    dx.release();
    return [null, dWeight, dBias];
  });
}

/** x / sqrt(mean(x²) + eps) ⊙ weight over the last axis; weight has shape [x.shape[-1]]. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  return norm('rmsNorm', x, weight, null, eps);
}

/** (x − mean) / sqrt(var + eps) ⊙ weight + bias over the last axis (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  return norm('layerNorm', x, weight, bias, eps);
}
