// Random next-token windows over a token array from a seed: inputs are tokens [i, i+T), targets
// [i+1, i+T+1). The position is the number of batches drawn, so restoring it replays the same stream.

import { rng } from '../cpu/tensor.js';
import type { Batch } from './step.js';
import type { BatchSource } from './trainer.js';

export function seededWindows(
  tokens: ArrayLike<number>,
  shape: { batch: number; seqLen: number },
  seed: number,
): BatchSource {
  if (tokens.length < shape.seqLen + 2) {
    throw new RangeError(`${tokens.length} tokens are fewer than one window of ${shape.seqLen + 1}`);
  }
  let drawn = 0;
  let next = rng(seed);
  const draw = (): Batch => {
    const { batch, seqLen } = shape;
    const inputs = new Int32Array(batch * seqLen);
    const targets = new Int32Array(batch * seqLen);
    for (let b = 0; b < batch; b++) {
      const start = Math.floor(next() * (tokens.length - seqLen - 1));
      for (let t = 0; t < seqLen; t++) {
        inputs[b * seqLen + t] = tokens[start + t];
        targets[b * seqLen + t] = tokens[start + t + 1];
      }
    }
    drawn++;
    return { inputs, targets, batch, seqLen };
  };
  return {
    next: draw,
    position: () => ({ batches: drawn }),
    restore(position) {
      const target = (position as { batches?: number }).batches;
      if (!Number.isInteger(target) || target! < 0)
        throw new Error(`data: invalid saved position ${JSON.stringify(position)}`);
      next = rng(seed);
      drawn = 0;
      while (drawn < target!) draw();
    },
  };
}
