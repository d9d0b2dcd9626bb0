// A tensor is a shape, a dtype and a reference to pooled GPU storage. Tensors are always contiguous
// row-major; views that only change the shape (reshape) share storage through a reference count.

import type { Engine } from './engine.js';
import type { PooledBuffer } from './pool.js';

export type DType = 'f32' | 'i32';

export class Storage {
  refs = 1;
  constructor(
    readonly pooled: PooledBuffer,
    readonly bytes: number,
  ) {}
}

/** How a tensor was computed: its inputs and the rule that maps the output's gradient to theirs. */
export interface TapeNode {
  op: string;
  inputs: Tensor[];
  backward: (gradOutput: Tensor) => (Tensor | null)[];
}

let nextTensorId = 1;

export class Tensor {
  readonly id = nextTensorId++;
  readonly size: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: TapeNode | null = null;
  /** A parameter's HF-style name, or a debugging label. */
  name = '';
  private released = false;

  constructor(
    readonly engine: Engine,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly storage: Storage,
  ) {
    this.size = shapeSize(shape);
  }

  get buffer(): GPUBuffer {
    if (this.released) throw new Error(`tensor ${this.describe()} was used after release()`);
    return this.storage.pooled.buffer;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get isReleased(): boolean {
    return this.released;
  }

  describe(): string {
    return `${this.name ? this.name + ' ' : ''}${this.dtype}[${this.shape.join(',')}]`;
  }

  /** Returns the storage to the pool once no view uses it; safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.node = null;
    if (--this.storage.refs === 0) this.engine.pool.release(this.storage.pooled);
  }

  /** Reads the values back to the CPU (flushes pending GPU work). */
  read(): Promise<Float32Array | Int32Array> {
    return this.engine.read(this);
  }

  async toArray(): Promise<number[]> {
    return Array.from(await this.read());
  }
}

export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) throw new RangeError(`invalid shape [${shape.join(',')}]`);
    size *= dim;
  }
  return size;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
