// Softmax and log-softmax over the last axis. One workgroup owns one row: it finds the row maximum,
// sums exp(x − max) (so no exp can overflow), and writes the row; wide rows are walked in strides.

import { record } from '../autograd.js';
import { uniformBytes } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { checkDType } from './checks.js';
import { rowGrid, rowMain, rowWorkgroupSize, workgroupReduce, WGSL_SPECIAL_VALUES } from './wgsl.js';

type Variant = 'softmax' | 'logSoftmax';

function forwardKernel(variant: Variant, size: number): string {
  const write = variant === 'softmax' ? 'exp(x[base + k] - m) * inverse' : 'x[base + k] - logSum';
  return `
struct Params { rows: u32, width: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${WGSL_SPECIAL_VALUES}
${workgroupReduce(size)}
${rowMain(size)}
  let base = row * u.width;
  var localMax = F32_LOWEST;
  for (var k = tid; k < u.width; k += ${size}u) { localMax = max(localMax, x[base + k]); }
  let m = workgroupMax(localMax, tid);
  var localSum = 0.0;
  for (var k = tid; k < u.width; k += ${size}u) { localSum += exp(x[base + k] - m); }
  let s = workgroupSum(localSum, tid);
  let inverse = 1.0 / s;
  let logSum = m + log(s);
  for (var k = tid; k < u.width; k += ${size}u) { y[base + k] = ${write}; }
}`;
}

// softmax:     dx = y ⊙ (g − Σ g⊙y)
// logSoftmax:  dx = g − exp(y) · Σ g        (exp(y) is the softmax)
function backwardKernel(variant: Variant, size: number): string {
  const [term, write] =
    variant === 'softmax'
      ? ['g[base + k] * y[base + k]', 'y[base + k] * (g[base + k] - total)']
      : ['g[base + k]', 'g[base + k] - exp(y[base + k]) * total'];
  return `
struct Params { rows: u32, width: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${workgroupReduce(size)}
${rowMain(size)}
  let base = row * u.width;
  var local = 0.0;
  for (var k = tid; k < u.width; k += ${size}u) { local += ${term}; }
  let total = workgroupSum(local, tid);
  for (var k = tid; k < u.width; k += ${size}u) { dx[base + k] = ${write}; }
}`;
}

function rowLayout(op: string, x: Tensor): { rows: number; width: number } {
  checkDType(op, 'x', x, 'f32');
  if (x.shape.length === 0) throw new RangeError(`${op}: x must have at least one axis, got ${x.describe()}`);
  const width = x.shape[x.shape.length - 1];
  if (width === 0) throw new RangeError(`${op}: the last axis of ${x.describe()} is empty`);
  return { rows: x.size / width, width };
}

function rowSoftmax(variant: Variant, x: Tensor): Tensor {
  const { rows, width } = rowLayout(variant, x);
  const engine = x.engine;
  const size = rowWorkgroupSize(width);
  const uniforms = uniformBytes([rows, width]);
  const y = engine.empty(x.shape);
  engine.dispatch(
    { name: `${variant}.forward`, wgsl: forwardKernel(variant, size) },
    { bindings: [x, y], uniforms, workgroups: rowGrid(rows) },
  );
  return record(y, variant, [x], (g) => {
    const dx = engine.empty(x.shape);
    engine.dispatch(
      { name: `${variant}.backward`, wgsl: backwardKernel(variant, size) },
      { bindings: [y, g, dx], uniforms, workgroups: rowGrid(rows) },
    );
    return [dx];
  });
}

/** exp(x) / Σ exp(x) over the last axis. */
export function softmax(x: Tensor): Tensor {
  return rowSoftmax('softmax', x);
}

/** x − log Σ exp(x) over the last axis (more accurate than log(softmax(x)) for small probabilities). */
export function logSoftmax(x: Tensor): Tensor {
  return rowSoftmax('logSoftmax', x);
}
