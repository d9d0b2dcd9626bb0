// Shared test helpers: one engine per test file on the real WebGPU adapter (Mesa lavapipe in CI), and
// comparisons against the float64 references. No adapter means a failing test, never a skipped one.

import { afterAll } from 'vitest';
import { createNodeEngine } from '../../main/host/node-gpu.js';
import type { Engine } from '../../gpu/engine.js';
import type { Tensor } from '../../gpu/tensor.js';
import { cpuTensor, type CpuTensor } from '../../gpu/cpu/tensor.js';

let enginePromise: Promise<Engine> | null = null;

export function useEngine(): () => Promise<Engine> {
  afterAll(async () => {
    if (enginePromise) (await enginePromise).destroy();
    enginePromise = null;
  });
  return () => (enginePromise ??= createNodeEngine());
}

export function upload(engine: Engine, t: CpuTensor, requiresGrad = false): Tensor {
  const tensor = engine.fromArray(t.data, t.shape);
  tensor.requiresGrad = requiresGrad;
  return tensor;
}

export async function download(t: Tensor): Promise<CpuTensor> {
  return cpuTensor(t.shape, await t.read());
}

/** max|actual − expected| / max|expected|: an error relative to the tensor's scale. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (Number.isNaN(d)) return Infinity;
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

export async function expectGpuClose(actual: Tensor, expected: CpuTensor, tolerance = 1e-4, label = ''): Promise<void> {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${label}: shape [${actual.shape}] differs from reference [${expected.shape}]`);
  }
  const data = await actual.read();
  const error = relativeError(data, expected.data);
  if (!(error <= tolerance)) {
    throw new Error(`${label}: relative error ${error.toExponential(3)} exceeds ${tolerance}`);
  }
}
