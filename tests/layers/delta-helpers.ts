// Helpers of the delta-rule, attention and block tests: the fla fixtures as CPU tensors,
// seeded random inputs in the domains the kernels expect, a layout transpose, and noisy parameters.

import { readFileSync } from 'node:fs';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { cpuTensor, randn, rng, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { initialValues, type ParamMap, type ParamSpec } from '../../gpu/nn/module.js';
import { upload } from '../helpers/gpu.js';

/** Reads every f32 tensor of a .safetensors file (through the project's reader). */
export function readSafetensors(path: string): Map<string, CpuTensor> {
  const file = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const tensors = new Map<string, CpuTensor>();
  for (const entry of file.tensors) {
    if (entry.dtype !== 'F32') throw new Error(`${path}: ${entry.name} is ${entry.dtype}, expected F32`);
    tensors.set(entry.name, cpuTensor(entry.shape, entry.data as Float32Array));
  }
  return tensors;
}

/** Swaps axes 1 and 2 of a rank-3 or rank-4 tensor ([B,H,T,·] ↔ [B,T,H,·]). */
export function swapAxes12(x: CpuTensor): CpuTensor {
  const [A, P, Q] = x.shape;
  const inner = x.shape.length === 4 ? x.shape[3] : 1;
  const out = cpuTensor([A, Q, P, ...x.shape.slice(3)]);
  for (let a = 0; a < A; a++)
    for (let p = 0; p < P; p++)
      for (let q = 0; q < Q; q++)
        for (let i = 0; i < inner; i++)
          out.data[((a * Q + q) * P + p) * inner + i] = x.data[((a * P + p) * Q + q) * inner + i];
  return out;
}

/** Normalizes the last axis to unit L2 norm (delta-rule keys). */
export function l2NormalizeRows(x: CpuTensor): CpuTensor {
  const width = x.shape[x.shape.length - 1];
  const out = cpuTensor(x.shape, x.data);
  for (let r = 0; r < x.data.length / width; r++) {
    let norm = 0;
    for (let i = 0; i < width; i++) norm += x.data[r * width + i] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < width; i++) out.data[r * width + i] /= norm;
  }
  return out;
}

export interface DeltaCase {
  q: CpuTensor;
  k: CpuTensor;
  v: CpuTensor;
  beta: CpuTensor;
  g?: CpuTensor;
  h0?: CpuTensor;
}

/**
 * Fresh random delta-rule inputs, rounded through f32: unit keys, β in (0, betaMax), log decay in
 * (−0.5, 0) when gated. `seed` differs per run so every run tests new inputs.
 */
export function randomDeltaCase(
  dims: { B: number; T: number; H: number; K: number; V: number },
  seed: number,
  { gated = true, initial = true, betaMax = 1 } = {},
): DeltaCase {
  const { B, T, H, K, V } = dims;
  return {
    q: toFloat32(randn([B, T, H, K], seed)),
    k: toFloat32(l2NormalizeRows(randn([B, T, H, K], seed + 1))),
    v: toFloat32(randn([B, T, H, V], seed + 2)),
    beta: toFloat32(uniform([B, T, H], seed + 3, 0.05, betaMax)),
    g: gated ? toFloat32(uniform([B, T, H], seed + 4, -0.5, -0.01)) : undefined,
    h0: initial ? toFloat32(randn([B, H, K, V], seed + 5, 0.5)) : undefined,
  };
}

/** A seed that changes every run (fresh inputs), printed by the caller on failure. */
export function freshSeed(): number {
  return Math.floor(rng(Date.now() >>> 0)() * 1e9);
}

/** A module's own initialization plus normal noise (so zero/one inits are exercised), rounded through f32. */
export function noisyParams(specs: ParamSpec[], seed: number, noise: number): Map<string, CpuTensor> {
  const params = new Map<string, CpuTensor>();
  for (const spec of specs) {
    const values = initialValues(spec, seed);
    const jitter = randn(spec.shape, seed + spec.name.length, noise);
    params.set(
      spec.name,
      toFloat32(
        cpuTensor(
          spec.shape,
          values.data.map((v, i) => v + jitter.data[i]),
        ),
      ),
    );
  }
  return params;
}

/** Uploads a parameter map as trainable tensors. */
export function uploadParams(e: Engine, params: Map<string, CpuTensor>): ParamMap {
  return new Map([...params].map(([name, t]) => [name, upload(e, t, true)]));
}
