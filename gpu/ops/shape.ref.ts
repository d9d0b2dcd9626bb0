// float64 references of the data-moving shape ops and their gradients, by coordinate arithmetic.

import { cpuTensor, stridesOf, unravel, type CpuTensor } from '../cpu/tensor.js';

/** y[c] = x[c permuted back]: output axis d is input axis dims[d]. */
export function permuteRef(x: CpuTensor, dims: readonly number[]): CpuTensor {
  const y = cpuTensor(dims.map((a) => x.shape[a]));
  const strides = stridesOf(x.shape);
  for (let i = 0; i < y.data.length; i++) {
    const coords = unravel(i, y.shape);
    let source = 0;
    coords.forEach((c, d) => (source += c * strides[dims[d]]));
    y.data[i] = x.data[source];
  }
  return y;
}

/** The gradient of permute is the inverse permutation of the upstream gradient. */
export function permuteGradRef(g: CpuTensor, dims: readonly number[]): CpuTensor {
  const inverse = new Array<number>(dims.length);
  dims.forEach((a, d) => (inverse[a] = d));
  return permuteRef(g, inverse);
}

export function sliceRef(x: CpuTensor, axis: number, start: number, end: number): CpuTensor {
  const y = cpuTensor(x.shape.map((d, k) => (k === axis ? end - start : d)));
  const strides = stridesOf(x.shape);
  for (let i = 0; i < y.data.length; i++) {
    const coords = unravel(i, y.shape);
    coords[axis] += start;
    y.data[i] = x.data[coords.reduce((s, c, d) => s + c * strides[d], 0)];
  }
  return y;
}

/** Zeros of x's shape with g placed at [start, start + g.shape[axis]) along `axis`. */
export function sliceGradRef(xShape: readonly number[], axis: number, start: number, g: CpuTensor): CpuTensor {
  const dx = cpuTensor(xShape);
  const strides = stridesOf(xShape);
  for (let i = 0; i < g.data.length; i++) {
    const coords = unravel(i, g.shape);
    coords[axis] += start;
    dx.data[coords.reduce((s, c, d) => s + c * strides[d], 0)] += g.data[i];
  }
  return dx;
}

export function concatRef(xs: readonly CpuTensor[], axis: number): CpuTensor {
  const total = xs.reduce((s, t) => s + t.shape[axis], 0);
  const y = cpuTensor(xs[0].shape.map((d, k) => (k === axis ? total : d)));
  const strides = stridesOf(y.shape);
  let offset = 0;
  for (const t of xs) {
    for (let i = 0; i < t.data.length; i++) {
      const coords = unravel(i, t.shape);
      coords[axis] += offset;
      y.data[coords.reduce((s, c, d) => s + c * strides[d], 0)] = t.data[i];
    }
    offset += t.shape[axis];
  }
  return y;
}

/** Each input's gradient is its own slice of g. */
export function concatGradRef(shapes: readonly (readonly number[])[], axis: number, g: CpuTensor): CpuTensor[] {
  let offset = 0;
  return shapes.map((shape) => {
    const grad = sliceRef(g, axis, offset, offset + shape[axis]);
    offset += shape[axis];
    return grad;
  });
}
