// Random next-token windows over the bytes of a text, from a seed: inputs are bytes [i, i+T),
// targets [i+1, i+T+1). (main/host/windows.ts does the same for the CLI; the renderer cannot import
// main/, so the Worker keeps this small copy.)

import { rng } from '../../../gpu/cpu/tensor';
import type { Batch } from '../../../gpu/train/step';

export function textWindows(bytes: Uint8Array, batch: number, seqLen: number, seed: number): () => Batch {
  if (bytes.length < seqLen + 2) {
    throw new RangeError(`the text has ${bytes.length} bytes, fewer than one window of ${seqLen + 1}`);
  }
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
