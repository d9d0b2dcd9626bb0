// float64 reference of the causal depthwise convolution and its gradients, as literal sums.

import { cpuTensor, type CpuTensor } from '../cpu/tensor.js';

/** y[b,t,c] = bias[c] + Σ_j weight[c,j] · x[b, t−K+1+j, c], with x = 0 before t = 0. */
export function causalConv1dRef(x: CpuTensor, weight: CpuTensor, bias: CpuTensor | null = null): CpuTensor {
  const [batch, time, channels] = x.shape;
  const taps = weight.shape[1];
  const y = cpuTensor(x.shape);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      for (let c = 0; c < channels; c++) {
        let acc = bias ? bias.data[c] : 0;
        for (let j = 0; j < taps; j++) {
          const s = t - taps + 1 + j;
          if (s >= 0) acc += weight.data[c * taps + j] * x.data[(b * time + s) * channels + c];
        }
        y.data[(b * time + t) * channels + c] = acc;
      }
    }
  }
  return y;
}

/** [dx, dweight, dbias] of Σ g ⊙ y, by routing each product's gradient back to its two factors. */
export function causalConv1dGradRef(x: CpuTensor, weight: CpuTensor, g: CpuTensor): [CpuTensor, CpuTensor, CpuTensor] {
  const [batch, time, channels] = x.shape;
  const taps = weight.shape[1];
  const dx = cpuTensor(x.shape);
  const dWeight = cpuTensor(weight.shape);
  const dBias = cpuTensor([channels]);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      for (let c = 0; c < channels; c++) {
        const gy = g.data[(b * time + t) * channels + c];
        dBias.data[c] += gy;
        for (let j = 0; j < taps; j++) {
          const s = t - taps + 1 + j;
          if (s < 0) continue;
          dx.data[(b * time + s) * channels + c] += gy * weight.data[c * taps + j];
          dWeight.data[c * taps + j] += gy * x.data[(b * time + s) * channels + c];
        }
      }
    }
  }
  return [dx, dWeight, dBias];
}
