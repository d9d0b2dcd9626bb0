// float64 references for the elementwise ops: forward and the gradients of each input.

import { broadcastIndex, broadcastShapes, cpuTensor, sumToShapeCpu, unravel, type CpuTensor } from '../cpu/tensor.js';
import { BINARY, UNARY, type BinaryName, type UnaryName } from './elementwise.defs.js';

export function unaryRef(op: UnaryName, x: CpuTensor, p0 = 0, p1 = 0): CpuTensor {
  const f = UNARY[op].cpu as (x: number, p0: number, p1: number) => number;
  return { shape: [...x.shape], data: x.data.map((v) => f(v, p0, p1)) };
}

export function unaryGradRef(op: UnaryName, x: CpuTensor, g: CpuTensor, p0 = 0, p1 = 0): CpuTensor {
  const f = UNARY[op].cpuGrad as (x: number, p0: number, p1: number) => number;
  return { shape: [...x.shape], data: x.data.map((v, i) => g.data[i] * f(v, p0, p1)) };
}

function zipBroadcast(a: CpuTensor, b: CpuTensor, f: (x: number, y: number, i: number) => number): CpuTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const out = cpuTensor(shape);
  for (let i = 0; i < out.data.length; i++) {
    const coords = unravel(i, shape);
    out.data[i] = f(a.data[broadcastIndex(coords, a.shape)], b.data[broadcastIndex(coords, b.shape)], i);
  }
  return out;
}

export function binaryRef(op: BinaryName, a: CpuTensor, b: CpuTensor): CpuTensor {
  return zipBroadcast(a, b, BINARY[op].cpu);
}

export function binaryGradRef(op: BinaryName, a: CpuTensor, b: CpuTensor, g: CpuTensor): [CpuTensor, CpuTensor] {
  const def = BINARY[op];
  const ga = zipBroadcast(a, b, (x, y, i) => g.data[i] * def.cpuGradA(x, y));
  const gb = zipBroadcast(a, b, (x, y, i) => g.data[i] * def.cpuGradB(x, y));
  return [sumToShapeCpu(ga, a.shape), sumToShapeCpu(gb, b.shape)];
}

export function whereRef(cond: CpuTensor, a: CpuTensor, b: CpuTensor): CpuTensor {
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
  const out = cpuTensor(shape);
  for (let i = 0; i < out.data.length; i++) {
    const c = unravel(i, shape);
    out.data[i] =
      cond.data[broadcastIndex(c, cond.shape)] !== 0
        ? a.data[broadcastIndex(c, a.shape)]
        : b.data[broadcastIndex(c, b.shape)];
  }
  return out;
}
