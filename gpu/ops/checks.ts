// Argument checks shared by the neural-network ops. Every message starts with the op's name and shows
// the offending tensor's dtype and shape, so a bad call is diagnosed from the message alone.

import type { Engine } from '../engine.js';
import type { DType, Tensor } from '../tensor.js';

export function checkDType(op: string, param: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) throw new TypeError(`${op}: ${param} must be ${dtype}, got ${t.describe()}`);
}

export function checkRank(op: string, param: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) throw new RangeError(`${op}: ${param} must have rank ${rank}, got ${t.describe()}`);
}

export function checkSameEngine(op: string, tensors: Tensor[]): Engine {
  const engine = tensors[0].engine;
  if (tensors.some((t) => t.engine !== engine)) throw new Error(`${op}: inputs live on different GPU devices`);
  return engine;
}

/** Resolves a possibly negative axis against `rank`; throws naming the op and the tensor. */
export function normalizeAxis(op: string, x: Tensor, axis: number, rank = x.shape.length): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`${op}: axis ${axis} is out of range for ${x.describe()}`);
  }
  return a;
}

/** Views `shape` as [outer, shape[axis], inner], the layout every axis kernel works on. */
export function splitAtAxis(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], inner];
}
