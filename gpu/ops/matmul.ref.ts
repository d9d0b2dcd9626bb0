// float64 references for matmul and linear: triple loops a reader can check by eye. Batch dims
// broadcast like NumPy; gradients of broadcast operands are summed back to their shapes.

import { broadcastIndex, broadcastShapes, cpuTensor, sumToShapeCpu, unravel, type CpuTensor } from '../cpu/tensor.js';

export interface TransposeFlags {
  transA?: boolean;
  transB?: boolean;
}

/** op(a)[i, j] for a matrix stored row-major with `cols` columns (as stored) starting at `base`. */
function at(t: CpuTensor, base: number, cols: number, i: number, j: number, trans: boolean): number {
  return trans ? t.data[base + j * cols + i] : t.data[base + i * cols + j];
}

/** op(a) · op(b) over broadcast batch dims; op transposes the last two dims when its flag is set. */
export function matmulRef(
  a: CpuTensor,
  b: CpuTensor,
  { transA = false, transB = false }: TransposeFlags = {},
): CpuTensor {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) throw new RangeError(`matmulRef: inner dims differ for [${a.shape}] and [${b.shape}]`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmulRef');
  const out = cpuTensor([...batch, m, n]);
  const batchSize = batch.reduce((p, d) => p * d, 1);
  for (let z = 0; z < batchSize; z++) {
    const coords = unravel(z, batch);
    const aBase = broadcastIndex(coords, a.shape.slice(0, -2)) * ar * ac;
    const bBase = broadcastIndex(coords, b.shape.slice(0, -2)) * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += at(a, aBase, ac, i, p, transA) * at(b, bBase, bc, p, j, transB);
        out.data[(z * m + i) * n + j] = acc;
      }
    }
  }
  return out;
}

/** The transpose of the last two dims (reference only; the GPU op never materializes transposes). */
export function transposeRef(t: CpuTensor): CpuTensor {
  const [r, c] = t.shape.slice(-2);
  const lead = t.shape.slice(0, -2);
  const out = cpuTensor([...lead, c, r]);
  const batch = t.data.length / Math.max(1, r * c);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < r; i++)
      for (let j = 0; j < c; j++) out.data[z * r * c + j * r + i] = t.data[z * r * c + i * c + j];
  }
  return out;
}

/**
 * Gradients of op(a)·op(b) for upstream g, written the textbook way with explicit transposes:
 * d op(a) = g · op(b)ᵀ and d op(b) = op(a)ᵀ · g, transposed back where the flag is set, then summed
 * over the batch dims the operand was broadcast along.
 */
export function matmulGradRef(
  a: CpuTensor,
  b: CpuTensor,
  g: CpuTensor,
  flags: TransposeFlags = {},
): [CpuTensor, CpuTensor] {
  const opA = flags.transA ? transposeRef(a) : a;
  const opB = flags.transB ? transposeRef(b) : b;
  const dOpA = matmulRef(g, transposeRef(opB));
  const dOpB = matmulRef(transposeRef(opA), g);
  const ga = flags.transA ? transposeRef(dOpA) : dOpA;
  const gb = flags.transB ? transposeRef(dOpB) : dOpB;
  return [sumToShapeCpu(ga, a.shape), sumToShapeCpu(gb, b.shape)];
}

/** y = x · Wᵀ + bias (torch.nn.functional.linear). */
export function linearRef(x: CpuTensor, weight: CpuTensor, bias?: CpuTensor): CpuTensor {
  const [out, inF] = weight.shape;
  const rows = x.data.length / inF;
  const y = cpuTensor([...x.shape.slice(0, -1), out]);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let acc = bias ? bias.data[o] : 0;
      for (let i = 0; i < inF; i++) acc += x.data[r * inF + i] * weight.data[o * inF + i];
      y.data[r * out + o] = acc;
    }
  }
  return y;
}

/** Gradients of linear: dx = g·W, dW = gᵀ·x (summed over all rows), dbias = Σ_rows g. */
export function linearGradRef(x: CpuTensor, weight: CpuTensor, g: CpuTensor): [CpuTensor, CpuTensor, CpuTensor] {
  const [out, inF] = weight.shape;
  const rows = x.data.length / inF;
  const dx = cpuTensor(x.shape);
  const dw = cpuTensor(weight.shape);
  const db = cpuTensor([out]);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      const go = g.data[r * out + o];
      db.data[o] += go;
      for (let i = 0; i < inF; i++) {
        dx.data[r * inF + i] += go * weight.data[o * inF + i];
        dw.data[o * inF + i] += go * x.data[r * inF + i];
      }
    }
  }
  return [dx, dw, db];
}
