import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { dplrRef, type DplrRefInputs } from '../../gpu/ops/delta/dplr.ref.js';
import {
  chunkStateScanRef,
  dplrBackwardRef,
  dplrChunkRef,
  unitLowerInverseRef,
} from '../../gpu/ops/delta/dplr-chunk.ref.js';
import { chunkStateScan } from '../../gpu/ops/delta/dplr-chunk-scan.js';
import { unitLowerInverse } from '../../gpu/ops/delta/dplr-chunk-solve.js';
import { chunkDplrDeltaRule } from '../../gpu/ops/delta/dplr-chunk.js';
import { add, mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { checkGradients } from '../helpers/finite-diff.js';
import type { Tensor } from '../../gpu/tensor.js';
import { relativeError, upload, useEngine } from '../helpers/gpu.js';
import { freshSeed, l2NormalizeRows } from '../layers/delta-helpers.js';
import { centralDifferences } from '../layers/diagonal-helpers.js';

/** −e^{−½}: RWKV-7's fastest per-token log decay. */
const FLOOR = -Math.exp(-0.5);

/**
 * RWKV-7's domain, rounded through f32: a = −κ̂ (unit rows), b = κ̂ ⊙ α with α ∈ (0, 1), k of a smaller
 * scale. log w ∈ [FLOOR, 0) drawn as FLOOR·u⁴ (u uniform): most channels decay slowly, as trained RWKV-7
 * layers do, so that states carried across many chunks matter; about one in six decays faster than e^{−0.3}
 * per token. `fastest` instead puts every log w within 1% of the floor. `seed` is fresh per run.
 */
function rwkvInputs(
  dims: { B: number; T: number; H: number; K: number; V: number },
  seed: number,
  fastest = false,
): Required<DplrRefInputs> {
  const { B, T, H, K, V } = dims;
  const kappa = l2NormalizeRows(randn([B, T, H, K], seed));
  const alpha = uniform([B, T, H, K], seed + 1, 0, 1);
  const u = uniform([B, T, H, K], seed + 5, fastest ? 0.99 : 0, 1);
  return {
    q: toFloat32(randn([B, T, H, K], seed + 2)),
    k: toFloat32(randn([B, T, H, K], seed + 3, 0.5)),
    v: toFloat32(randn([B, T, H, V], seed + 4)),
    logw: toFloat32(
      cpuTensor(
        u.shape,
        u.data.map((z) => FLOOR * (fastest ? z : z ** 4)),
      ),
    ),
    a: toFloat32(
      cpuTensor(
        kappa.shape,
        kappa.data.map((x) => -x),
      ),
    ),
    b: toFloat32(
      cpuTensor(
        kappa.shape,
        kappa.data.map((x, i) => x * alpha.data[i]),
      ),
    ),
    h0: toFloat32(randn([B, H, K, V], seed + 6, 0.5)),
  };
}

const NAMES = ['q', 'k', 'v', 'logw', 'a', 'b', 'h0'] as const;

function expectClose(actual: CpuTensor, expected: CpuTensor, tolerance: number, label: string) {
  const error = relativeError(actual.data, expected.data);
  if (!(error <= tolerance)) throw new Error(`${label}: relative error ${error.toExponential(3)} exceeds ${tolerance}`);
}

describe('float64 references of the chunked generalized delta rule', () => {
  it('the step recurrence’s adjoint equals finite differences (o and final state, every input)', () => {
    const seed = freshSeed();
    const x = rwkvInputs({ B: 2, T: 9, H: 2, K: 3, V: 4 }, seed);
    const dO = randn([2, 9, 2, 4], seed + 10);
    const dS = randn([2, 2, 3, 4], seed + 11);
    const g = dplrBackwardRef(x, dO, dS);
    const joined = cpuTensor([dO.data.length + dS.data.length], [...dO.data, ...dS.data]);
    checkGradients(
      (values) => {
        const r = dplrRef(Object.fromEntries(NAMES.map((n, i) => [n, values[i]])) as unknown as DplrRefInputs);
        return cpuTensor([joined.data.length], [...r.o.data, ...r.finalState.data]);
      },
      NAMES.map((n) => x[n]),
      joined,
      NAMES.map((n) => g[n]),
      { samples: 40, seed },
    );
  });

  for (const [T, chunk] of [
    [1, 16],
    [37, 16],
    [64, 32],
    [45, 64],
  ]) {
    it(`the chunked algorithm equals the step recurrence (T=${T}, chunk ${chunk})`, () => {
      const x = rwkvInputs({ B: 2, T, H: 2, K: 5, V: 3 }, freshSeed());
      const step = dplrRef(x);
      const chunked = dplrChunkRef(x, chunk);
      expectClose(chunked.o, step.o, 1e-10, 'o');
      expectClose(chunked.finalState, step.finalState, 1e-10, 'final state');
    });
  }

  it('the adjoint without a final-state gradient or initial state treats them as zero', () => {
    const x = rwkvInputs({ B: 1, T: 5, H: 1, K: 2, V: 2 }, freshSeed());
    const { h0: _, ...noState } = x;
    const dO = randn([1, 5, 1, 2], 3);
    const g = dplrBackwardRef(noState, dO);
    const zeroState = { ...x, h0: cpuTensor(x.h0.shape) };
    const expected = dplrBackwardRef(zeroState, dO, cpuTensor(x.h0.shape));
    for (const n of NAMES) expect([...g[n].data]).toEqual([...expected[n].data]);
  });
});

const engine = useEngine();

interface Case {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  chunk: number;
  initial?: boolean;
  fastest?: boolean;
}

/**
 * Runs the chunked op on fresh inputs and compares o, the final state and the gradients of every input
 * (L = Σ o ⊙ dO + Σ S_T ⊙ dS) with the float64 step recurrence and its adjoint. Returns the errors.
 */
async function compareWithStepReference(c: Case, tolerance: number): Promise<Record<string, number>> {
  const e = await engine();
  const seed = freshSeed();
  const x = rwkvInputs(c, seed, c.fastest);
  const initial = c.initial ?? true;
  const refInputs: DplrRefInputs = initial ? x : { ...x, h0: undefined };
  const ref = dplrRef(refInputs);
  const dO = toFloat32(randn([c.B, c.T, c.H, c.V], seed + 7));
  const dS = toFloat32(randn([c.B, c.H, c.K, c.V], seed + 8));
  const grads = dplrBackwardRef(refInputs, dO, dS);
  const t = Object.fromEntries(NAMES.map((n) => [n, upload(e, x[n], true)]));
  const out = chunkDplrDeltaRule(
    { q: t.q, k: t.k, v: t.v, logw: t.logw, a: t.a, b: t.b },
    { initialState: initial ? t.h0 : undefined, chunkSize: c.chunk },
  );
  backward(add(sumAll(mul(out.o, upload(e, dO))), sumAll(mul(out.finalState, upload(e, dS)))));
  const errors: Record<string, number> = {
    o: relativeError(await out.o.read(), ref.o.data),
    finalState: relativeError(await out.finalState.read(), ref.finalState.data),
  };
  for (const n of NAMES) {
    if (n === 'h0' && !initial) continue;
    errors[`d${n}`] = relativeError(await t[n].grad!.read(), grads[n].data);
  }
  const worst = Object.entries(errors).filter(([, err]) => !(err <= tolerance));
  if (worst.length) {
    throw new Error(
      `seed ${seed}, ${JSON.stringify(c)}: ${worst.map(([n, err]) => `${n} ${err.toExponential(2)}`).join(', ')}`,
    );
  }
  return errors;
}

describe('chunked generalized delta rule on the GPU equals the float64 step recurrence', () => {
  for (const c of [
    { B: 1, T: 1, H: 1, K: 4, V: 3, chunk: 16 },
    { B: 2, T: 37, H: 2, K: 8, V: 6, chunk: 16 },
    { B: 1, T: 64, H: 3, K: 8, V: 4, chunk: 32 },
    { B: 2, T: 45, H: 1, K: 16, V: 20, chunk: 32, initial: false },
    { B: 1, T: 100, H: 2, K: 6, V: 8, chunk: 64 },
    { B: 1, T: 40, H: 1, K: 64, V: 64, chunk: 32 }, // RWKV-7's head size
  ]) {
    it(`forward and every gradient at T=${c.T} (B=${c.B}, H=${c.H}, K=${c.K}, V=${c.V}, chunk ${c.chunk}${c.initial === false ? ', no initial state' : ''})`, async () => {
      await compareWithStepReference(c, 1e-4);
    });
  }

  it('the fastest decays RWKV-7 allows (log w at its floor) over a chunk of 64', async () => {
    await compareWithStepReference({ B: 1, T: 70, H: 1, K: 8, V: 8, chunk: 64, fastest: true }, 1e-4);
  });

  it('T=2048 stays within tolerance (64 chunks of state passing)', async () => {
    await compareWithStepReference({ B: 1, T: 2048, H: 2, K: 8, V: 8, chunk: 32 }, 2e-4);
  });
});

describe('building blocks of the chunked form against float64 references', () => {
  it('unitLowerInverse: (I − A)⁻¹ reads only the strictly lower triangle; its gradient equals central differences', async () => {
    const e = await engine();
    const seed = freshSeed();
    for (const C of [16, 64]) {
      const a = toFloat32(randn([3, 2, C, C], seed + C, 0.3));
      const upstream = toFloat32(randn(a.shape, seed + C + 1));
      const at = upload(e, a, true);
      const x = unitLowerInverse(at);
      expectClose(cpuTensor(a.shape, await x.read()), unitLowerInverseRef(a), 1e-5, `inverse C=${C} (seed ${seed})`);
      backward(sumAll(mul(x, upload(e, upstream))));
      if (C === 16) {
        const [numeric] = centralDifferences((v) => unitLowerInverseRef(v[0]), [a], upstream);
        expectClose(cpuTensor(a.shape, await at.grad!.read()), numeric, 1e-4, `dA (seed ${seed})`);
      }
    }
  });

  it('chunkStateScan: entering states and last state; gradients of every input and the initial state equal central differences', async () => {
    const e = await engine();
    const seed = freshSeed();
    const [BH, NT, C, K, V] = [3, 5, 4, 6, 20]; // V spans two value tiles
    const x = {
      decay: toFloat32(uniform([BH, NT, K], seed, 0.2, 1)),
      bHat: toFloat32(randn([BH, NT, C, K], seed + 1, 0.4)),
      w: toFloat32(randn([BH, NT, C, K], seed + 2, 0.4)),
      r: toFloat32(randn([BH, NT, K, V], seed + 3)),
    };
    const h0 = toFloat32(randn([BH, K, V], seed + 4));
    const ref = chunkStateScanRef(x, h0);
    const names = ['decay', 'bHat', 'w', 'r'] as const;
    const t = Object.fromEntries(names.map((n) => [n, upload(e, x[n], true)])) as Record<
      (typeof names)[number],
      Tensor
    >;
    const ht = upload(e, h0, true);
    const out = chunkStateScan(t, ht);
    expectClose(cpuTensor(ref.states.shape, await out.states.read()), ref.states, 1e-5, `states (seed ${seed})`);
    expectClose(cpuTensor(ref.last.shape, await out.last.read()), ref.last, 1e-5, 'last');
    const dStates = toFloat32(randn(ref.states.shape, seed + 5));
    const dLast = toFloat32(randn(ref.last.shape, seed + 6));
    backward(add(sumAll(mul(out.states, upload(e, dStates))), sumAll(mul(out.last, upload(e, dLast)))));
    const joined = cpuTensor([dStates.data.length + dLast.data.length], [...dStates.data, ...dLast.data]);
    const numeric = centralDifferences(
      ([decay, bHat, w, r, initial]) => {
        const s = chunkStateScanRef({ decay, bHat, w, r }, initial);
        return cpuTensor(joined.shape, [...s.states.data, ...s.last.data]);
      },
      [...names.map((n) => x[n]), h0],
      joined,
    );
    for (const [k, tensor] of [...names.map((n) => t[n]), ht].entries()) {
      const label = `grad ${[...names, 'initial'][k]} (seed ${seed})`;
      expectClose(cpuTensor(tensor.shape, await tensor.grad!.read()), numeric[k], 1e-4, label);
    }
  });
});
