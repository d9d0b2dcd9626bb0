// Complex numbers as (re, im) pairs of reals, the storage of the complex scan: `pairUp` interleaves a
// real and an imaginary tensor along a new axis of size 2 (its gradient takes them apart). With axis = last
// it builds [..., 2] elements; with an earlier axis it interleaves rows (e.g. a weight [2N, H] whose
// rows alternate re/im, so that one matmul produces complex channels directly).

import { record } from '../../autograd.js';
import { uniformBytes, type Engine } from '../../engine.js';
import { linearGrid, linearMain } from '../../grid.js';
import { formatShape, type Tensor } from '../../tensor.js';

const PAIR_UP = `
struct Params { n: u32, inner: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> re: array<f32>;
@group(0) @binding(2) var<storage, read> im: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let o = i / (2u * u.inner);
  let k = (i / u.inner) % 2u;
  let j = o * u.inner + i % u.inner;
  out[i] = select(re[j], im[j], k == 1u);
}`;

const TAKE_PART = `
struct Params { n: u32, inner: u32, part: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  out[i] = x[((i / u.inner) * 2u + u.part) * u.inner + i % u.inner];
}`;

function innerSize(shape: readonly number[], axis: number): number {
  return shape.slice(axis + 1).reduce((a, b) => a * b, 1);
}

function takePart(engine: Engine, x: Tensor, shape: readonly number[], inner: number, part: 0 | 1): Tensor {
  const out = engine.empty(shape);
  engine.dispatch(
    { name: 'pairs:take_part', wgsl: TAKE_PART },
    { bindings: [x, out], uniforms: uniformBytes([out.size, inner, part]), workgroups: linearGrid(out.size) },
  );
  return out;
}

/** [d0, …, d_axis, …] pairs → [d0, …, d_axis, 2, …] with out[…, 0, …] = re and out[…, 1, …] = im. */
export function pairUp(re: Tensor, im: Tensor, axis = re.shape.length - 1): Tensor {
  if (re.shape.join() !== im.shape.join()) {
    throw new RangeError(`pairUp: re ${formatShape(re.shape)} and im ${formatShape(im.shape)} must have one shape`);
  }
  if (!Number.isInteger(axis) || axis < 0 || axis >= re.shape.length) {
    throw new RangeError(`pairUp: axis ${axis} is out of range for ${formatShape(re.shape)}`);
  }
  const engine = re.engine;
  const inner = innerSize(re.shape, axis);
  const shape = [...re.shape.slice(0, axis + 1), 2, ...re.shape.slice(axis + 1)];
  const out = engine.empty(shape);
  engine.dispatch(
    { name: 'pairs:pair_up', wgsl: PAIR_UP },
    { bindings: [re, im, out], uniforms: uniformBytes([out.size, inner]), workgroups: linearGrid(out.size) },
  );
  return record(out, 'pairUp', [re, im], (g) => [
    re.requiresGrad ? takePart(engine, g, re.shape, inner, 0) : null,
    im.requiresGrad ? takePart(engine, g, im.shape, inner, 1) : null,
  ]);
}
