// Random next-token windows over a byte string, from a seed: inputs are bytes [i, i+T), targets
// [i+1, i+T+1). Enough for the demo; datasets with tokenizers and resumable positions live in
// main/host/datasets.

import { rng } from '../../gpu/cpu/tensor.js';
import type { Batch } from '../../gpu/train/step.js';

export function byteWindows(bytes: Uint8Array, batch: number, seqLen: number, seed: number): () => Batch {
  if (bytes.length < seqLen + 2) throw new RangeError(`text of ${bytes.length} bytes is shorter than one window of ${seqLen + 1}`);
  const next = rng(seed);
  return () => {
    const inputs = new Int32Array(batch * seqLen);
    const targets = new Int32Array(batch * seqLen);
    for (let b = 0; b < batch; b++) {
      const start = Math.floor(next() * (bytes.length - seqLen - 1));
      for (let t = 0; t < seqLen; t++) {
        inputs[b * seqLen + t] = bytes[start + t];
        targets[b * seqLen + t] = bytes[start + t + 1];
      }
    }
    return { inputs, targets, batch, seqLen };
  };
}
