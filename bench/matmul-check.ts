// Shared by the matmul benchmark suites: random inputs and the once-per-size correctness check
// (sampled output entries against float64 dot products) that must pass before a kernel is timed.

import type { Engine } from '../gpu/engine.js';
import { rng } from '../gpu/cpu/tensor.js';
import { matmul, type MatmulOptions } from '../gpu/ops/matmul.js';
import type { Tensor } from '../gpu/tensor.js';

/** Uniform(-1, 1) values from a seeded stream: never zeros, fresh per size. */
export function randomArray(size: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = 2 * next() - 1;
  return out;
}

export interface MatmulProblem {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
}

export interface MatmulInputs {
  a: Tensor;
  b: Tensor;
  hostA: Float32Array;
  hostB: Float32Array;
}

export function matmulInputs(engine: Engine, p: MatmulProblem, seed: number): MatmulInputs {
  const lead = p.batch > 1 ? [p.batch] : [];
  const hostA = randomArray(p.batch * p.M * p.K, seed);
  const hostB = randomArray(p.batch * p.K * p.N, seed + 1);
  const a = engine.fromArray(hostA, [...lead, ...(p.transA ? [p.K, p.M] : [p.M, p.K])]);
  const b = engine.fromArray(hostB, [...lead, ...(p.transB ? [p.N, p.K] : [p.K, p.N])]);
  return { a: engine.keep(a), b: engine.keep(b), hostA, hostB };
}

/**
 * Runs the product once and compares `samples` entries (corners included) with float64 dot products.
 * Returns max|diff| / max|reference| over the samples; throws above `tolerance` (a fast wrong kernel
 * is not a result).
 */
export async function checkMatmulSamples(
  engine: Engine,
  p: MatmulProblem,
  inputs: MatmulInputs,
  options: MatmulOptions,
  label: string,
  samples = 64,
  tolerance = 1e-4,
): Promise<number> {
  const out = engine.tidy(() => matmul(inputs.a, inputs.b, { ...options, transA: p.transA, transB: p.transB }));
  const data = await out.read();
  out.release();
  const next = rng(12345);
  const picks: [number, number, number][] = [
    [0, 0, 0],
    [p.batch - 1, p.M - 1, p.N - 1],
    [0, p.M - 1, 0],
    [p.batch - 1, 0, p.N - 1],
  ];
  while (picks.length < samples) {
    picks.push([Math.floor(next() * p.batch), Math.floor(next() * p.M), Math.floor(next() * p.N)]);
  }
  let diff = 0;
  let scale = 0;
  for (const [z, m, n] of picks) {
    let ref = 0;
    for (let k = 0; k < p.K; k++) {
      const av = inputs.hostA[z * p.M * p.K + (p.transA ? k * p.M + m : m * p.K + k)];
      const bv = inputs.hostB[z * p.K * p.N + (p.transB ? n * p.K + k : k * p.N + n)];
      ref += av * bv;
    }
    const got = data[(z * p.M + m) * p.N + n];
    diff = Math.max(diff, Math.abs(got - ref));
    if (Number.isNaN(got)) diff = Infinity;
    scale = Math.max(scale, Math.abs(ref));
  }
  const error = diff / Math.max(scale, 1e-30);
  if (!(error <= tolerance)) {
    throw new Error(
      `${label}: sampled relative error ${error.toExponential(2)} exceeds ${tolerance}; not timing a wrong kernel`,
    );
  }
  return error;
}

export function releaseInputs(inputs: MatmulInputs): void {
  inputs.a.release();
  inputs.b.release();
}
