// Helpers of the class-B (matrix state) tests: the fla fixtures, fresh random inputs in the domains the
// kernels expect, and the joined loss of both outputs.

import { readFileSync } from 'node:fs';
import { cpuTensor, randn, rng, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import type { GlaRefInputs } from '../../gpu/ops/gla/gla.ref.js';
import { add, mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import type { Tensor } from '../../gpu/tensor.js';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { upload } from '../helpers/gpu.js';

/** Every f32 tensor of tests/fixtures/fla/<name>.safetensors as float64 CPU tensors. */
export function readFixture(name: string): Map<string, CpuTensor> {
  const path = `tests/fixtures/fla/${name}.safetensors`;
  const file = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  return new Map(file.tensors.map((t) => [t.name, cpuTensor(t.shape, t.data as Float32Array)]));
}

/** Swaps axes 1 and 2 of a rank-4 tensor ([B,H,T,·] ↔ [B,T,H,·]). */
export function swapAxes12(x: CpuTensor): CpuTensor {
  const [A, P, Q, inner] = x.shape;
  const out = cpuTensor([A, Q, P, inner]);
  for (let a = 0; a < A; a++)
    for (let p = 0; p < P; p++)
      for (let q = 0; q < Q; q++)
        for (let i = 0; i < inner; i++)
          out.data[((a * Q + q) * P + p) * inner + i] = x.data[((a * P + p) * Q + q) * inner + i];
  return out;
}

/** A seed that changes every run (fresh inputs every time). */
export function freshSeed(): number {
  return Math.floor(rng(Date.now() >>> 0)() * 1e9);
}

export type DecayKind = 'channel' | 'scalar' | 'none';

export interface GlaDims {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
}

/**
 * Random inputs rounded through f32: q, k, v ~ N(0, 1), log decay uniform in (gMin, −0.01) (per key
 * channel, per head, or none), initial state ~ N(0, 0.5²) when `initial`.
 */
export function randomGlaCase(
  d: GlaDims,
  seed: number,
  { decay = 'channel' as DecayKind, initial = true, gMin = -0.7 } = {},
): GlaRefInputs {
  const { B, T, H, K, V } = d;
  const g =
    decay === 'none'
      ? undefined
      : toFloat32(uniform(decay === 'channel' ? [B, T, H, K] : [B, T, H], seed + 3, gMin, -0.01));
  return {
    q: toFloat32(randn([B, T, H, K], seed)),
    k: toFloat32(randn([B, T, H, K], seed + 1)),
    v: toFloat32(randn([B, T, H, V], seed + 2)),
    g,
    h0: initial ? toFloat32(randn([B, H, K, V], seed + 4, 0.5)) : undefined,
    scale: 1 / Math.sqrt(K),
  };
}

/** L = Σ o·dO + Σ S_T·dS on the GPU (both outputs feed the loss, as in the fla fixtures). */
export function jointLoss(e: Engine, o: Tensor, finalState: Tensor, dO: CpuTensor, dS?: CpuTensor): Tensor {
  const lo = sumAll(mul(o, upload(e, dO)));
  return dS ? add(lo, sumAll(mul(finalState, upload(e, dS)))) : lo;
}

/** Joins several tensors' values into one vector (for finite differences of several outputs at once). */
export function joined(...xs: CpuTensor[]): CpuTensor {
  return cpuTensor(
    [xs.reduce((n, x) => n + x.data.length, 0)],
    xs.flatMap((x) => Array.from(x.data)),
  );
}
