// Shape ops. `reshape` shares storage (no copy); the others move data with small gather kernels.

import { record } from '../autograd.js';
import { formatShape, shapeSize, type Tensor } from '../tensor.js';

/** Same data, new shape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = resolveShape(x, shape);
  const y = x.engine.view(x, resolved);
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

function resolveShape(x: Tensor, shape: readonly number[]): number[] {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new RangeError(`reshape: only one -1 allowed in ${formatShape(shape)}`);
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (!resolved.every((d) => Number.isInteger(d) && d >= 0) || shapeSize(resolved) !== x.size) {
    throw new RangeError(`reshape: cannot view ${x.describe()} as ${formatShape(shape)}`);
  }
  return resolved;
}
