// float64 CPU tensors: the oracle every GPU kernel is compared against. Deliberately plain — loops a
// reader can check by eye, no cleverness.

export interface CpuTensor {
  shape: number[];
  data: Float64Array;
}

export function cpuTensor(shape: readonly number[], data?: ArrayLike<number>): CpuTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = data ? Float64Array.from(data) : new Float64Array(size);
  if (values.length !== size) throw new RangeError(`cpuTensor: ${values.length} values for [${shape.join(',')}]`);
  return { shape: [...shape], data: values };
}

export function zerosLike(t: CpuTensor): CpuTensor {
  return cpuTensor(t.shape);
}

export function mapCpu(t: CpuTensor, f: (x: number, i: number) => number): CpuTensor {
  return { shape: [...t.shape], data: t.data.map(f) };
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

/** Splits a flat index into coordinates. */
export function unravel(index: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    coords[i] = index % shape[i];
    index = Math.floor(index / shape[i]);
  }
  return coords;
}

/** NumPy broadcasting of two shapes; throws naming both shapes when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[], op = 'broadcast'): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${op}: shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Index into `shape` (right-aligned against `outShape`) for the output coordinates `coords`. */
export function broadcastIndex(coords: readonly number[], shape: readonly number[]): number {
  const offset = coords.length - shape.length;
  let index = 0;
  for (let i = 0; i < shape.length; i++) index = index * shape[i] + (shape[i] === 1 ? 0 : coords[offset + i]);
  return index;
}

/** Sums `t` (of a broadcast output shape) down to `shape` — the adjoint of broadcasting. */
export function sumToShapeCpu(t: CpuTensor, shape: readonly number[]): CpuTensor {
  const out = cpuTensor(shape);
  for (let i = 0; i < t.data.length; i++) out.data[broadcastIndex(unravel(i, t.shape), shape)] += t.data[i];
  return out;
}

// ---------------------------------------------------------------- seeded randomness

/** A small, fast, seedable PRNG (mulberry32). The same seed gives the same stream everywhere. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller from a seeded stream. */
export function randn(shape: readonly number[], seed: number, scale = 1): CpuTensor {
  const next = rng(seed);
  const t = cpuTensor(shape);
  for (let i = 0; i < t.data.length; i++) {
    const u1 = Math.max(next(), 1e-12);
    const u2 = next();
    t.data[i] = scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return t;
}

export function uniform(shape: readonly number[], seed: number, low = -1, high = 1): CpuTensor {
  const next = rng(seed);
  const t = cpuTensor(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = low + (high - low) * next();
  return t;
}

/** Rounds through float32, as a GPU upload would, so CPU and GPU start from identical values. */
export function toFloat32(t: CpuTensor): CpuTensor {
  return { shape: [...t.shape], data: Float64Array.from(Float32Array.from(t.data)) };
}
