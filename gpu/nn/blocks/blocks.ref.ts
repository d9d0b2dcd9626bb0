// float64 references of the shared block pieces, as plain loops.

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';
import { UNARY } from '../../ops/elementwise.defs.js';
import { rmsNormRef } from '../../ops/norm.ref.js';

/** RMSNorm(x) ⊙ weight ⊙ silu(gate) over the last axis. */
export function rmsNormGatedRef(x: CpuTensor, gate: CpuTensor, weight: CpuTensor, eps = 1e-5): CpuTensor {
  const normed = rmsNormRef(x, weight, eps);
  return { shape: [...x.shape], data: normed.data.map((v, i) => v * UNARY.silu.cpu(gate.data[i])) };
}

/** y[:, t] = x[:, t − 1], y[:, 0] = state (or 0); returns the last token as the new state. */
export function tokenShiftRef(x: CpuTensor, state?: CpuTensor): { y: CpuTensor; state: CpuTensor } {
  const [B, T, C] = x.shape;
  const y = cpuTensor(x.shape);
  const last = cpuTensor([B, C]);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < T; t++) {
        const previous = t > 0 ? x.data[(b * T + t - 1) * C + c] : state ? state.data[b * C + c] : 0;
        y.data[(b * T + t) * C + c] = previous;
      }
      last.data[b * C + c] = x.data[(b * T + T - 1) * C + c];
    }
  }
  return { y, state: last };
}

/**
 * Causal depthwise convolution y[b,t,c] = bias[c] + Σ_j weight[c,j] x[b, t−K+1+j, c] where the K−1
 * inputs before t = 0 come from `state` [B, K−1, C] (oldest first), or are 0 without one. Returns the
 * last K−1 inputs as the new state.
 */
export function shortConvRef(
  x: CpuTensor,
  weight: CpuTensor,
  bias: CpuTensor | null,
  state?: CpuTensor,
): { y: CpuTensor; state: CpuTensor } {
  const [B, T, C] = x.shape;
  const K = weight.shape[1];
  const input = (b: number, s: number, c: number) =>
    s >= 0 ? x.data[(b * T + s) * C + c] : state ? state.data[(b * (K - 1) + (K - 1 + s)) * C + c] : 0;
  const y = cpuTensor(x.shape);
  const next = cpuTensor([B, K - 1, C]);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < T; t++) {
        let acc = bias ? bias.data[c] : 0;
        for (let j = 0; j < K; j++) acc += weight.data[c * K + j] * input(b, t - K + 1 + j, c);
        y.data[(b * T + t) * C + c] = acc;
      }
      for (let j = 0; j < K - 1; j++) next.data[(b * (K - 1) + j) * C + c] = input(b, T - K + 1 + j, c);
    }
  }
  return { y, state: next };
}
