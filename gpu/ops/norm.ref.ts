// float64 references for RMSNorm and LayerNorm over the last axis, forward and backward, written as
// the textbook formulas row by row.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';

interface RowStats {
  mean: number;
  rstd: number;
}

function rowStats(x: CpuTensor, r: number, width: number, centered: boolean, eps: number): RowStats {
  let mean = 0;
  if (centered) {
    for (let k = 0; k < width; k++) mean += x.data[r * width + k];
    mean /= width;
  }
  let variance = 0;
  for (let k = 0; k < width; k++) variance += (x.data[r * width + k] - mean) ** 2;
  variance /= width;
  return { mean, rstd: 1 / Math.sqrt(variance + eps) };
}

function normRef(x: CpuTensor, weight: CpuTensor, bias: CpuTensor | null, eps: number, centered: boolean): CpuTensor {
  const width = x.shape[x.shape.length - 1];
  const y = cpuTensor(x.shape);
  for (let r = 0; r < x.data.length / width; r++) {
    const { mean, rstd } = rowStats(x, r, width, centered, eps);
    for (let k = 0; k < width; k++) {
      y.data[r * width + k] = (x.data[r * width + k] - mean) * rstd * weight.data[k] + (bias ? bias.data[k] : 0);
    }
  }
  return y;
}

/** Gradients [dx, dweight, dbias] of Σ g ⊙ norm(x). */
function normGradRef(x: CpuTensor, weight: CpuTensor, g: CpuTensor, eps: number, centered: boolean): CpuTensor[] {
  const width = x.shape[x.shape.length - 1];
  const dx = cpuTensor(x.shape);
  const dWeight = cpuTensor([width]);
  const dBias = cpuTensor([width]);
  for (let r = 0; r < x.data.length / width; r++) {
    const { mean, rstd } = rowStats(x, r, width, centered, eps);
    const xhat = (k: number) => (x.data[r * width + k] - mean) * rstd;
    const d = (k: number) => g.data[r * width + k] * weight.data[k];
    let meanD = 0;
    let meanDX = 0;
    for (let k = 0; k < width; k++) {
      meanD += d(k) / width;
      meanDX += (d(k) * xhat(k)) / width;
    }
    for (let k = 0; k < width; k++) {
      dx.data[r * width + k] = rstd * (d(k) - (centered ? meanD : 0) - xhat(k) * meanDX);
      dWeight.data[k] += g.data[r * width + k] * xhat(k);
      dBias.data[k] += g.data[r * width + k];
    }
  }
  return [dx, dWeight, dBias];
}

export const rmsNormRef = (x: CpuTensor, weight: CpuTensor, eps = 1e-6) => normRef(x, weight, null, eps, false);
export const layerNormRef = (x: CpuTensor, weight: CpuTensor, bias: CpuTensor, eps = 1e-5) =>
  normRef(x, weight, bias, eps, true);

/** [dx, dweight] of RMSNorm. */
export function rmsNormGradRef(x: CpuTensor, weight: CpuTensor, g: CpuTensor, eps = 1e-6): [CpuTensor, CpuTensor] {
  const [dx, dWeight] = normGradRef(x, weight, g, eps, false);
  return [dx, dWeight];
}

/** [dx, dweight, dbias] of LayerNorm. */
export function layerNormGradRef(
  x: CpuTensor,
  weight: CpuTensor,
  g: CpuTensor,
  eps = 1e-5,
): [CpuTensor, CpuTensor, CpuTensor] {
  const [dx, dWeight, dBias] = normGradRef(x, weight, g, eps, true);
  return [dx, dWeight, dBias];
}
