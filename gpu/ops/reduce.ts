// Reductions over one axis (sum, mean, max) and `sumToShape`, the adjoint of broadcasting. Every
// reduction views its input as [outer, R, inner] and reduces R. Long reductions with few outputs are
// split into two deterministic passes so the GPU stays busy (no float atomics, same result each run).

import { record } from '../autograd.js';
import { uniformBytes, type Engine } from '../engine.js';
import { linearGrid, linearMain } from '../grid.js';
import { formatShape, sameShape, type Tensor } from '../tensor.js';
import { reshape } from './shape.js';

function normalizeAxis(op: string, x: Tensor, axis: number): number {
  const rank = x.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`${op}: axis ${axis} is out of range for ${x.describe()}`);
  }
  return a;
}

function splitShape(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], inner];
}

function reducedShape(shape: readonly number[], axis: number, keepDim: boolean): number[] {
  return keepDim ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

const SUM_KERNEL = `
struct Params { outer: u32, r: u32, inner: u32, chunk: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${linearMain()}
  // out has shape [outer, ceil(r / chunk), inner]; each invocation sums one chunk of the axis.
  let chunks = (u.r + u.chunk - 1u) / u.chunk;
  if (i >= u.outer * chunks * u.inner) { return; }
  let o = i / (chunks * u.inner);
  let c = (i / u.inner) % chunks;
  let n = i % u.inner;
  let start = c * u.chunk;
  let stop = min(start + u.chunk, u.r);
  var acc = 0.0;
  for (var k = start; k < stop; k++) { acc += x[(o * u.r + k) * u.inner + n]; }
  out[i] = acc * u.scale;
}`;

/** Raw sum over the middle axis of [outer, r, inner] (no autograd), scaled by `factor`. */
function sumAxisRaw(engine: Engine, x: Tensor, outer: number, r: number, inner: number, factor: number): Tensor {
  let source = x;
  let length = r;
  // Few outputs and a long axis: first reduce chunks of 256 in parallel, then reduce the partials.
  while (outer * inner < 16384 && length > 512) {
    const chunk = 256;
    const chunks = Math.ceil(length / chunk);
    const partial = engine.empty([outer, chunks, inner]);
    dispatchSum(engine, source, partial, outer, length, inner, chunk, 1);
    if (source !== x) source.release();
    source = partial;
    length = chunks;
  }
  const out = engine.empty([outer, inner]);
  dispatchSum(engine, source, out, outer, length, inner, Math.max(1, length), factor);
  if (source !== x) source.release();
  return out;
}

function dispatchSum(
  engine: Engine,
  x: Tensor,
  out: Tensor,
  outer: number,
  r: number,
  inner: number,
  chunk: number,
  factor: number,
) {
  engine.dispatch(
    { name: 'reduce:sum', wgsl: SUM_KERNEL },
    {
      bindings: [x, out],
      uniforms: uniformBytes({ u32: [outer, r, inner, chunk], f32: [factor] }),
      workgroups: linearGrid(out.size),
    },
  );
}

export function sum(x: Tensor, axis: number, keepDim = false): Tensor {
  return reduceMean('sum', x, axis, keepDim, 1);
}

export function mean(x: Tensor, axis: number, keepDim = false): Tensor {
  const a = normalizeAxis('mean', x, axis);
  if (x.shape[a] === 0) throw new RangeError(`mean: axis ${axis} of ${x.describe()} is empty`);
  return reduceMean('mean', x, axis, keepDim, 1 / x.shape[a]);
}

function reduceMean(op: string, x: Tensor, axis: number, keepDim: boolean, factor: number): Tensor {
  if (x.dtype !== 'f32') throw new TypeError(`${op}: expected f32 input, got ${x.describe()}`);
  const a = normalizeAxis(op, x, axis);
  const [outer, r, inner] = splitShape(x.shape, a);
  const engine = x.engine;
  const raw = sumAxisRaw(engine, x, outer, r, inner, factor);
  const y = engine.view(raw, reducedShape(x.shape, a, keepDim));
  raw.release();
  return record(y, op, [x], (g) => [broadcastAlong(g, x.shape, a, factor)]);
}

/** Sum over all elements, returning shape [1]. */
export function sumAll(x: Tensor): Tensor {
  return sum(reshape(x, [x.size]), 0, true);
}

const BROADCAST_KERNEL = `
struct Params { n: u32, r: u32, inner: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let o = i / (u.r * u.inner);
  let n = i % u.inner;
  out[i] = g[o * u.inner + n] * u.scale;
}`;

/** Repeats `g` (reduced over `axis`) back along that axis, times `factor`: the backward of sum/mean. */
function broadcastAlong(g: Tensor, shape: readonly number[], axis: number, factor: number): Tensor {
  const [, r, inner] = splitShape(shape, axis);
  const out = g.engine.empty(shape);
  g.engine.dispatch(
    { name: 'reduce:broadcast', wgsl: BROADCAST_KERNEL },
    {
      bindings: [g, out],
      uniforms: uniformBytes({ u32: [out.size, r, inner], f32: [factor] }),
      workgroups: linearGrid(out.size),
    },
  );
  return out;
}

const MAX_KERNEL = `
struct Params { outer: u32, r: u32, inner: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg: array<i32>;
${linearMain()}
  if (i >= u.outer * u.inner) { return; }
  let o = i / u.inner;
  let n = i % u.inner;
  var best = x[o * u.r * u.inner + n];
  var bestIndex = 0u;
  for (var k = 1u; k < u.r; k++) {
    let v = x[(o * u.r + k) * u.inner + n];
    // NaN propagates like torch.max; ties keep the first index.
    if (v > best || (v != v && best == best)) { best = v; bestIndex = k; }
  }
  out[i] = best;
  arg[i] = i32(bestIndex);
}`;

const SCATTER_MAX_GRAD = `
struct Params { n: u32, r: u32, inner: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> arg: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let o = i / (u.r * u.inner);
  let k = (i / u.inner) % u.r;
  let n = i % u.inner;
  let j = o * u.inner + n;
  out[i] = select(0.0, g[j], u32(arg[j]) == k);
}`;

/** Maximum over an axis; the gradient flows to the first maximal element (as torch.max(dim)). */
export function max(x: Tensor, axis: number, keepDim = false): { values: Tensor; indices: Tensor } {
  if (x.dtype !== 'f32') throw new TypeError(`max: expected f32 input, got ${x.describe()}`);
  const a = normalizeAxis('max', x, axis);
  const [outer, r, inner] = splitShape(x.shape, a);
  if (r === 0) throw new RangeError(`max: axis ${axis} of ${x.describe()} is empty`);
  const engine = x.engine;
  const shape = reducedShape(x.shape, a, keepDim);
  const values = engine.empty(shape);
  const indices = engine.empty(shape, 'i32');
  engine.dispatch(
    { name: 'reduce:max', wgsl: MAX_KERNEL },
    {
      bindings: [x, values, indices],
      uniforms: uniformBytes([outer, r, inner]),
      workgroups: linearGrid(outer * inner),
    },
  );
  record(values, 'max', [x], (g) => {
    const grad = engine.empty(x.shape);
    engine.dispatch(
      { name: 'reduce:max.backward', wgsl: SCATTER_MAX_GRAD },
      {
        bindings: [g, indices, grad],
        uniforms: uniformBytes([grad.size, r, inner]),
        workgroups: linearGrid(grad.size),
      },
    );
    return [grad];
  });
  return { values, indices };
}

/**
 * Sums `x` down to `shape` (NumPy broadcasting in reverse). Used by every broadcasting op's backward.
 */
export function sumToShape(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const rank = x.shape.length;
  const offset = rank - shape.length;
  if (offset < 0) throw new RangeError(`sumToShape: cannot reduce ${x.describe()} to ${formatShape(shape)}`);
  let current = x;
  // Leading dimensions that `shape` lacks are summed as one axis.
  if (offset > 0) {
    const lead = x.shape.slice(0, offset).reduce((p, d) => p * d, 1);
    current = sum(reshape(current, [lead, ...x.shape.slice(offset)]), 0);
  }
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === current.shape[d]) continue;
    if (shape[d] !== 1) throw new RangeError(`sumToShape: cannot reduce ${x.describe()} to ${formatShape(shape)}`);
    current = sum(current, d, true);
  }
  return current;
}
