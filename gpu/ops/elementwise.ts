// Broadcasting elementwise ops: one generated kernel per (expression, input layout) pair. Unary ops
// carry their derivative as a WGSL expression in x (input), y (output) and g (upstream gradient);
// binary ops reduce their gradients back to each input's shape (the adjoint of broadcasting).

import { record } from '../autograd.js';
import { broadcastShapes } from '../cpu/tensor.js';
import { uniformBytes, type Engine } from '../engine.js';
import { linearGrid, linearMain } from '../grid.js';
import { sameShape, type Tensor } from '../tensor.js';
import { UNARY, BINARY, type UnaryName, type BinaryName } from './elementwise.defs.js';
import { sumToShape } from './reduce.js';

const MAX_RANK = 8;

export function checkFloat(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) {
    if (t.dtype !== 'f32') throw new TypeError(`${op}: expected f32 input, got ${t.describe()}`);
  }
}

function checkSameEngine(op: string, tensors: Tensor[]): Engine {
  const engine = tensors[0].engine;
  if (tensors.some((t) => t.engine !== engine)) throw new Error(`${op}: inputs live on different GPU devices`);
  return engine;
}

type Layout = 'same' | 'scalar' | 'strided';

/**
 * Evaluates `expr` (WGSL, inputs named a, b, c, params p0, p1) elementwise with NumPy broadcasting.
 * This is the single kernel generator behind every elementwise op, forward and backward.
 */
export function mapElementwise(
  name: string,
  expr: string,
  inputs: Tensor[],
  params: number[] = [],
  outShape?: readonly number[],
): Tensor {
  const engine = checkSameEngine(name, inputs);
  const shape = outShape ?? inputs.map((t) => t.shape).reduce((s, t) => broadcastShapes(s, t, name), [] as number[]);
  if (shape.length > MAX_RANK) throw new RangeError(`${name}: rank ${shape.length} exceeds ${MAX_RANK}`);
  const out = engine.empty(shape, 'f32');
  if (out.size === 0) return out;
  const layouts: Layout[] = inputs.map((t) =>
    sameShape(t.shape, shape) ? 'same' : t.size === 1 ? 'scalar' : 'strided',
  );
  const names = ['a', 'b', 'c'];
  const loads = inputs
    .map((_, k) => {
      const index = layouts[k] === 'same' ? 'i' : layouts[k] === 'scalar' ? '0u' : `stridedIndex(i, ${k}u)`;
      return `  let ${names[k]} = in${k}[${index}];`;
    })
    .join('\n');
  const bindings = inputs
    .map((_, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<f32>;`)
    .join('\n');
  const wgsl = `
struct Params { n: u32, rank: u32, p0: f32, p1: f32, dims: array<vec4<u32>, 2>, strides: array<vec4<u32>, 6> }
@group(0) @binding(0) var<uniform> u: Params;
${bindings}
@group(0) @binding(${inputs.length + 1}) var<storage, read_write> out: array<f32>;
${ELEMENTWISE_HELPERS}
fn stridedIndex(flat: u32, input: u32) -> u32 {
  var rest = flat;
  var index = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let dim = u.dims[d / 4][d % 4];
    let s = u32(d) + input * 8u;
    index += (rest % dim) * u.strides[s / 4u][s % 4u];
    rest /= dim;
  }
  return index;
}
${linearMain()}
  if (i >= u.n) { return; }
  let p0 = u.p0; let p1 = u.p1;
${loads}
  out[i] = ${expr};
}`;
  const header = [out.size, shape.length];
  const dims = new Array<number>(MAX_RANK).fill(1);
  shape.forEach((d, k) => (dims[k] = d));
  const strides = new Array<number>(MAX_RANK * 3).fill(0);
  inputs.forEach((t, k) => {
    const offset = shape.length - t.shape.length;
    let stride = 1;
    for (let d = t.shape.length - 1; d >= 0; d--) {
      strides[k * MAX_RANK + offset + d] = t.shape[d] === 1 ? 0 : stride;
      stride *= t.shape[d];
    }
  });
  const bytes = new ArrayBuffer(16 + 4 * MAX_RANK + 4 * MAX_RANK * 3);
  const view = new DataView(bytes);
  view.setUint32(0, header[0], true);
  view.setUint32(4, header[1], true);
  view.setFloat32(8, params[0] ?? 0, true);
  view.setFloat32(12, params[1] ?? 0, true);
  dims.forEach((d, k) => view.setUint32(16 + 4 * k, d, true));
  strides.forEach((s, k) => view.setUint32(16 + 4 * MAX_RANK + 4 * k, s, true));
  engine.dispatch(
    { name: `elementwise:${name}`, wgsl },
    { bindings: [...inputs, out], uniforms: bytes, workgroups: linearGrid(out.size) },
  );
  return out;
}

/** Numerically careful helpers shared by the elementwise expressions. */
const ELEMENTWISE_HELPERS = `
fn sigmoid_(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
// log1p by Kahan's trick: accurate where 1 + u rounds.
fn log1p_(u: f32) -> f32 {
  let w = 1.0 + u;
  if (w == 1.0) { return u; }
  return log(w) * u / (w - 1.0);
}
fn softplus_(x: f32) -> f32 {
  if (x > 20.0) { return x; }
  return max(x, 0.0) + log1p_(exp(-abs(x)));
}
fn tanh_(x: f32) -> f32 {
  // Some backends evaluate tanh through exp and overflow to NaN for large |x|.
  let c = clamp(x, -15.0, 15.0);
  let e = exp(2.0 * c);
  return (e - 1.0) / (e + 1.0);
}
// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf_(x: f32) -> f32 {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp(-a * a));
}
fn powi_(x: f32, p: f32) -> f32 {
  // pow() is undefined for x < 0 in WGSL; integer exponents keep their sign as in PyTorch.
  if (x >= 0.0) { if (x == 0.0 && p == 0.0) { return 1.0; } return pow(x, p); }
  let r = pow(-x, p);
  if (p == floor(p)) { if (abs(p % 2.0) == 1.0) { return -r; } return r; }
  return pow(x, p); // undefined (NaN) for a negative base and a fractional exponent, as in PyTorch
}
`;

// ---------------------------------------------------------------- unary ops

/** Renames whole-word variables of a WGSL expression (the defs use x, y, g; kernels bind a, b, c). */
function rename(expr: string, names: Record<string, string>): string {
  return expr.replace(/\b[a-z]\b/g, (v) => names[v] ?? v);
}

export function unary(op: UnaryName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  checkFloat(op, x);
  const def = UNARY[op];
  const y = mapElementwise(op, rename(def.forward, { x: 'a' }), [x], [p0, p1]);
  return record(y, op, [x], (g) => [
    mapElementwise(`${op}.backward`, rename(def.backward, { x: 'a', y: 'b', g: 'c' }), [x, y, g], [p0, p1]),
  ]);
}

export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const silu = (x: Tensor) => unary('silu', x);
export const gelu = (x: Tensor) => unary('gelu', x);
export const softplus = (x: Tensor) => unary('softplus', x);
export const logsigmoid = (x: Tensor) => unary('logsigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const neg = (x: Tensor) => unary('neg', x);
export const powScalar = (x: Tensor, exponent: number) => unary('pow_scalar', x, exponent);
export const scale = (x: Tensor, factor: number) => unary('scale', x, factor);
export const addScalar = (x: Tensor, value: number) => unary('add_scalar', x, value);
export function clamp(x: Tensor, min: number, max: number): Tensor {
  if (!(min <= max)) throw new RangeError(`clamp: min ${min} is greater than max ${max}`);
  return unary('clamp', x, min, max);
}

// ---------------------------------------------------------------- binary ops

export function binary(op: BinaryName, a: Tensor, b: Tensor): Tensor {
  checkFloat(op, a, b);
  const def = BINARY[op];
  const y = mapElementwise(op, def.forward, [a, b]);
  return record(y, op, [a, b], (g) => [
    a.requiresGrad
      ? sumToShape(mapElementwise(`${op}.grad_a`, rename(def.gradA, { g: 'c' }), [a, b, g]), a.shape)
      : null,
    b.requiresGrad
      ? sumToShape(mapElementwise(`${op}.grad_b`, rename(def.gradB, { g: 'c' }), [a, b, g]), b.shape)
      : null,
  ]);
}

export const add = (a: Tensor, b: Tensor) => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor) => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor) => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor) => binary('div', a, b);
export const pow = (a: Tensor, b: Tensor) => binary('pow', a, b);

/** `cond ? a : b` elementwise, where cond is an f32 mask (non-zero = true); broadcasts all three. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  checkFloat('where', cond, a, b);
  const y = mapElementwise('where', 'select(c, b, a != 0.0)', [cond, a, b]);
  return record(y, 'where', [cond, a, b], (g) => [
    null,
    a.requiresGrad ? sumToShape(mapElementwise('where.grad_a', 'select(0.0, b, a != 0.0)', [cond, g]), a.shape) : null,
    b.requiresGrad ? sumToShape(mapElementwise('where.grad_b', 'select(b, 0.0, a != 0.0)', [cond, g]), b.shape) : null,
  ]);
}

/** A tensor of `shape` filled with `value` (no gradient). */
export function full(engine: Engine, shape: readonly number[], value: number): Tensor {
  const out = engine.empty(shape, 'f32');
  if (out.size === 0) return out;
  engine.dispatch(
    {
      name: 'fill',
      wgsl: `struct Params { n: u32, value: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i < u.n) { out[i] = u.value; }
}`,
    },
    { bindings: [out], uniforms: uniformBytes({ u32: [out.size], f32: [value] }), workgroups: linearGrid(out.size) },
  );
  return out;
}

export const zeros = (engine: Engine, shape: readonly number[]) => full(engine, shape, 0);
