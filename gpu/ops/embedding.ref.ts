// float64 reference of the embedding lookup and its scatter-add gradient.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';

/** out[..., d] = weight[ids[...], d]; out-of-range ids give NaN rows (as the kernel). */
export function embeddingRef(weight: CpuTensor, ids: ArrayLike<number>, idsShape: readonly number[]): CpuTensor {
  const [vocab, dim] = weight.shape;
  const out = cpuTensor([...idsShape, dim]);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    for (let d = 0; d < dim; d++) out.data[n * dim + d] = id >= 0 && id < vocab ? weight.data[id * dim + d] : NaN;
  }
  return out;
}

/** dWeight[v, d] = Σ over positions n with ids[n] = v of g[n, d]. */
export function embeddingGradRef(weightShape: readonly number[], ids: ArrayLike<number>, g: CpuTensor): CpuTensor {
  const [vocab, dim] = weightShape;
  const dWeight = cpuTensor(weightShape);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (id < 0 || id >= vocab) continue;
    for (let d = 0; d < dim; d++) dWeight.data[id * dim + d] += g.data[n * dim + d];
  }
  return dWeight;
}
