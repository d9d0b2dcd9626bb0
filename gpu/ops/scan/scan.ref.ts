// float64 references of the diagonal scans: plain loops over time, one channel at a time. Backward
// functions return the gradients of L = Σ dh · h (dh = upstream gradient of every state; a gradient of
// the final state is the same thing added at t = T−1).

import { cpuTensor, type CpuTensor } from '../../cpu/tensor.js';

interface Dims {
  B: number;
  T: number;
  D: number;
}

function dimsOf(t: CpuTensor): Dims {
  return { B: t.shape[0], T: t.shape[1], D: t.shape[2] };
}

const index = ({ T, D }: Dims, b: number, t: number, d: number) => (b * T + t) * D + d;

// ---------------------------------------------------------------- real: h_t = a_t h_{t-1} + b_t

export function linearScanRef(a: CpuTensor, b: CpuTensor, h0?: CpuTensor): { h: CpuTensor; last: CpuTensor } {
  const dims = dimsOf(a);
  const { B, T, D } = dims;
  const h = cpuTensor(a.shape);
  const last = cpuTensor([B, D]);
  for (let n = 0; n < B; n++) {
    for (let d = 0; d < D; d++) {
      let state = h0 ? h0.data[n * D + d] : 0;
      for (let t = 0; t < T; t++) {
        const i = index(dims, n, t, d);
        state = a.data[i] * state + b.data[i];
        h.data[i] = state;
      }
      last.data[n * D + d] = state;
    }
  }
  return { h, last };
}

export function linearScanBackwardRef(
  a: CpuTensor,
  h: CpuTensor,
  dh: CpuTensor,
  h0?: CpuTensor,
): { da: CpuTensor; db: CpuTensor; dh0: CpuTensor } {
  const dims = dimsOf(a);
  const { B, T, D } = dims;
  const da = cpuTensor(a.shape);
  const db = cpuTensor(a.shape);
  const dh0 = cpuTensor([B, D]);
  for (let n = 0; n < B; n++) {
    for (let d = 0; d < D; d++) {
      let g = 0; // dL/dh_t in total, carried backwards through h_{t+1} = a_{t+1} h_t + …
      for (let t = T - 1; t >= 0; t--) {
        const i = index(dims, n, t, d);
        g = dh.data[i] + (t + 1 < T ? a.data[index(dims, n, t + 1, d)] * g : 0);
        const previous = t > 0 ? h.data[index(dims, n, t - 1, d)] : h0 ? h0.data[n * D + d] : 0;
        db.data[i] = g;
        da.data[i] = g * previous;
      }
      dh0.data[n * D + d] = a.data[index(dims, n, 0, d)] * g;
    }
  }
  return { da, db, dh0 };
}

// ---------------------------------------------------------------- complex: [B, T, D, 2] as (re, im)

export function complexLinearScanRef(a: CpuTensor, b: CpuTensor, h0?: CpuTensor): { h: CpuTensor; last: CpuTensor } {
  const dims = dimsOf(a);
  const { B, T, D } = dims;
  const h = cpuTensor(a.shape);
  const last = cpuTensor([B, D, 2]);
  for (let n = 0; n < B; n++) {
    for (let d = 0; d < D; d++) {
      let re = h0 ? h0.data[2 * (n * D + d)] : 0;
      let im = h0 ? h0.data[2 * (n * D + d) + 1] : 0;
      for (let t = 0; t < T; t++) {
        const i = 2 * index(dims, n, t, d);
        const [ar, ai] = [a.data[i], a.data[i + 1]];
        [re, im] = [ar * re - ai * im + b.data[i], ar * im + ai * re + b.data[i + 1]];
        h.data[i] = re;
        h.data[i + 1] = im;
      }
      last.data[2 * (n * D + d)] = re;
      last.data[2 * (n * D + d) + 1] = im;
    }
  }
  return { h, last };
}

/** Real gradients of the real and imaginary parts: multiplying by a is [[ar, −ai], [ai, ar]], its adjoint conj(a). */
export function complexLinearScanBackwardRef(
  a: CpuTensor,
  h: CpuTensor,
  dh: CpuTensor,
  h0?: CpuTensor,
): { da: CpuTensor; db: CpuTensor; dh0: CpuTensor } {
  const dims = dimsOf(a);
  const { B, T, D } = dims;
  const da = cpuTensor(a.shape);
  const db = cpuTensor(a.shape);
  const dh0 = cpuTensor([B, D, 2]);
  for (let n = 0; n < B; n++) {
    for (let d = 0; d < D; d++) {
      let [gr, gi] = [0, 0];
      for (let t = T - 1; t >= 0; t--) {
        const i = 2 * index(dims, n, t, d);
        let [nr, ni] = [dh.data[i], dh.data[i + 1]];
        if (t + 1 < T) {
          const j = 2 * index(dims, n, t + 1, d);
          const [ar, ai] = [a.data[j], a.data[j + 1]];
          nr += ar * gr + ai * gi;
          ni += ar * gi - ai * gr;
        }
        [gr, gi] = [nr, ni];
        let [pr, pi] = [0, 0];
        if (t > 0) [pr, pi] = [h.data[i - 2 * D], h.data[i - 2 * D + 1]];
        else if (h0) [pr, pi] = [h0.data[2 * (n * D + d)], h0.data[2 * (n * D + d) + 1]];
        db.data[i] = gr;
        db.data[i + 1] = gi;
        // ∂h/∂ar = (pr, pi), ∂h/∂ai = (−pi, pr).
        da.data[i] = gr * pr + gi * pi;
        da.data[i + 1] = -gr * pi + gi * pr;
      }
      const j = 2 * index(dims, n, 0, d);
      const [ar, ai] = [a.data[j], a.data[j + 1]];
      dh0.data[2 * (n * D + d)] = ar * gr + ai * gi;
      dh0.data[2 * (n * D + d) + 1] = ar * gi - ai * gr;
    }
  }
  return { da, db, dh0 };
}

// ---------------------------------------------------------------- log space: L_t = logaddexp(la_t + L_{t-1}, lb_t)

function logaddexp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const m = Math.max(x, y);
  return m + Math.log1p(Math.exp(-Math.abs(x - y)));
}

export function logLinearScanRef(
  logA: CpuTensor,
  logB: CpuTensor,
  logH0?: CpuTensor,
): { h: CpuTensor; last: CpuTensor } {
  const dims = dimsOf(logA);
  const { B, T, D } = dims;
  const h = cpuTensor(logA.shape);
  const last = cpuTensor([B, D]);
  for (let n = 0; n < B; n++) {
    for (let d = 0; d < D; d++) {
      let state = logH0 ? logH0.data[n * D + d] : -Infinity;
      for (let t = 0; t < T; t++) {
        const i = index(dims, n, t, d);
        state = logaddexp(logA.data[i] + state, logB.data[i]);
        h.data[i] = state;
      }
      last.data[n * D + d] = state;
    }
  }
  return { h, last };
}

export function logLinearScanBackwardRef(
  logA: CpuTensor,
  logB: CpuTensor,
  logH: CpuTensor,
  dLogH: CpuTensor,
  logH0?: CpuTensor,
): { dLogA: CpuTensor; dLogB: CpuTensor; dLogH0: CpuTensor } {
  const dims = dimsOf(logA);
  const { B, T, D } = dims;
  const dLogA = cpuTensor(logA.shape);
  const dLogB = cpuTensor(logA.shape);
  const dLogH0 = cpuTensor([B, D]);
  // w_t = ∂L_t/∂L_{t-1} = exp(la_t + L_{t-1} − L_t).
  const weight = (n: number, t: number, d: number) => {
    const previous = t > 0 ? logH.data[index(dims, n, t - 1, d)] : logH0 ? logH0.data[n * D + d] : -Infinity;
    const i = index(dims, n, t, d);
    return Math.exp(logA.data[i] + previous - logH.data[i]);
  };
  for (let n = 0; n < B; n++) {
    for (let d = 0; d < D; d++) {
      let g = 0;
      for (let t = T - 1; t >= 0; t--) {
        const i = index(dims, n, t, d);
        g = dLogH.data[i] + (t + 1 < T ? weight(n, t + 1, d) * g : 0);
        dLogA.data[i] = g * weight(n, t, d);
        dLogB.data[i] = g * Math.exp(logB.data[i] - logH.data[i]);
      }
      dLogH0.data[n * D + d] = g * weight(n, 0, d);
    }
  }
  return { dLogA, dLogB, dLogH0 };
}
