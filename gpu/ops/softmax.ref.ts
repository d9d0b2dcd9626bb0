// float64 references for softmax and log-softmax over the last axis, forward and backward.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';

function rows(x: CpuTensor): { count: number; width: number } {
  const width = x.shape[x.shape.length - 1];
  return { count: x.data.length / width, width };
}

export function logSoftmaxRef(x: CpuTensor): CpuTensor {
  const { count, width } = rows(x);
  const y = cpuTensor(x.shape);
  for (let r = 0; r < count; r++) {
    const row = x.data.subarray(r * width, (r + 1) * width);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    for (let k = 0; k < width; k++) y.data[r * width + k] = row[k] - m - Math.log(s);
  }
  return y;
}

export function softmaxRef(x: CpuTensor): CpuTensor {
  const y = logSoftmaxRef(x);
  return { shape: y.shape, data: y.data.map(Math.exp) };
}

/** dL/dx of softmax: y_k (g_k − Σ_j g_j y_j). */
export function softmaxGradRef(x: CpuTensor, g: CpuTensor): CpuTensor {
  const y = softmaxRef(x);
  const { count, width } = rows(x);
  const dx = cpuTensor(x.shape);
  for (let r = 0; r < count; r++) {
    let dot = 0;
    for (let k = 0; k < width; k++) dot += g.data[r * width + k] * y.data[r * width + k];
    for (let k = 0; k < width; k++) dx.data[r * width + k] = y.data[r * width + k] * (g.data[r * width + k] - dot);
  }
  return dx;
}

/** dL/dx of log-softmax: g_k − softmax_k Σ_j g_j. */
export function logSoftmaxGradRef(x: CpuTensor, g: CpuTensor): CpuTensor {
  const p = softmaxRef(x);
  const { count, width } = rows(x);
  const dx = cpuTensor(x.shape);
  for (let r = 0; r < count; r++) {
    let total = 0;
    for (let k = 0; k < width; k++) total += g.data[r * width + k];
    for (let k = 0; k < width; k++) dx.data[r * width + k] = g.data[r * width + k] - p.data[r * width + k] * total;
  }
  return dx;
}
