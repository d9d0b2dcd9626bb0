// The class-B kernels (chunked, fused recurrent, one-token step) against the float64 reference on fresh
// random inputs — forward and every gradient, at lengths that are not multiples of the chunk size —
// against flash-linear-attention's golden fixtures, on a long strongly decaying sequence, and bad input.

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { chunkGla } from '../../gpu/ops/gla/chunk.js';
import type { GlaOptions, GlaOutput } from '../../gpu/ops/gla/common.js';
import { glaGradRef, glaRef, type GlaRefInputs } from '../../gpu/ops/gla/gla.ref.js';
import { fusedRecurrentGla, glaStep } from '../../gpu/ops/gla/recurrent.js';
import { mlstmStabilizer } from '../../gpu/ops/gla/stabilizer.js';
import { mlstmStabilizerGradRef, mlstmStabilizerRef } from '../../gpu/ops/gla/stabilizer.ref.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { checkGradients } from '../helpers/finite-diff.js';
import type { Tensor } from '../../gpu/tensor.js';
import { download, expectGpuClose, upload, useEngine } from '../helpers/gpu.js';
import { freshSeed, jointLoss, randomGlaCase, readFixture, swapAxes12, type DecayKind } from './matrix-helpers.js';

const engine = useEngine();

type Form = (q: Tensor, k: Tensor, v: Tensor, o: GlaOptions) => GlaOutput;

/** Runs `form` on the case, compares both outputs and every gradient with the reference. */
async function expectMatchesReference(form: Form, x: GlaRefInputs, options: GlaOptions, label: string, tol = 1e-4) {
  const e = await engine();
  const ref = glaRef(x);
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const dO = toFloat32(randn([B, T, H, V], freshSeed()));
  const dS = toFloat32(randn([B, H, K, V], freshSeed() + 1));
  const grads = glaGradRef(x, dO, dS);
  const t = {
    q: upload(e, x.q, true),
    k: upload(e, x.k, true),
    v: upload(e, x.v, true),
    g: x.g ? upload(e, x.g, true) : undefined,
    h0: x.h0 ? upload(e, x.h0, true) : undefined,
  };
  const out = form(t.q, t.k, t.v, { ...options, g: t.g, initialState: t.h0, scale: x.scale });
  await expectGpuClose(out.o, ref.o, tol, `${label} o`);
  await expectGpuClose(out.finalState, ref.finalState, tol, `${label} final state`);
  backward(jointLoss(e, out.o, out.finalState, dO, dS));
  await expectGpuClose(t.q.grad!, grads.q, tol, `${label} dq`);
  await expectGpuClose(t.k.grad!, grads.k, tol, `${label} dk`);
  await expectGpuClose(t.v.grad!, grads.v, tol, `${label} dv`);
  if (t.g) await expectGpuClose(t.g.grad!, grads.g!, tol, `${label} dg`);
  if (t.h0) await expectGpuClose(t.h0.grad!, grads.h0!, tol, `${label} dh0`);
}

const cases: [string, { B: number; T: number; H: number; K: number; V: number }, DecayKind, boolean, number][] = [
  ['per-channel decay, initial state, chunk 16, T=37', { B: 2, T: 37, H: 2, K: 8, V: 6 }, 'channel', true, 16],
  ['scalar decay per head, no initial state, chunk 32, T=37', { B: 2, T: 37, H: 2, K: 6, V: 8 }, 'scalar', false, 32],
  [
    'no decay (linear attention), initial state, chunk 16, T=21, K ≠ V',
    { B: 1, T: 21, H: 3, K: 5, V: 12 },
    'none',
    true,
    16,
  ],
];

describe('chunked form (WGSL) equals the float64 recurrence, forward and backward', () => {
  for (const [label, dims, decay, initial, chunkSize] of cases) {
    it(`${label}: outputs, final state and all gradients`, async () => {
      const x = randomGlaCase(dims, freshSeed(), { decay, initial });
      await expectMatchesReference(chunkGla, x, { chunkSize }, label);
    });
  }
});

describe('fused recurrent form equals the float64 recurrence, forward and backward', () => {
  for (const [label, dims, decay, initial] of cases) {
    it(`${label.replace(/, chunk \d+/, '')}: outputs, final state and all gradients`, async () => {
      const x = randomGlaCase(dims, freshSeed(), { decay, initial });
      await expectMatchesReference(fusedRecurrentGla, x, {}, label);
    });
  }
});

/** x[:, t] of a [B, T, ...] tensor as [B, ...]. */
function at(x: CpuTensor, t: number): CpuTensor {
  const [B, T] = x.shape;
  const inner = x.data.length / (B * T);
  const out = cpuTensor([B, ...x.shape.slice(2)]);
  for (let b = 0; b < B; b++) out.data.set(x.data.subarray((b * T + t) * inner, (b * T + t + 1) * inner), b * inner);
  return out;
}

describe('one-token step', () => {
  for (const decay of ['channel', 'scalar'] as const) {
    it(`steps with carried state equal the chunked form over the whole sequence (${decay} decay, T=9)`, async () => {
      const e = await engine();
      const x = randomGlaCase({ B: 2, T: 9, H: 2, K: 4, V: 3 }, freshSeed(), { decay });
      const whole = chunkGla(upload(e, x.q), upload(e, x.k), upload(e, x.v), {
        g: upload(e, x.g!),
        initialState: upload(e, x.h0!),
        chunkSize: 16,
      });
      const wholeO = await download(whole.o);
      let state = upload(e, x.h0!);
      for (let t = 0; t < 9; t++) {
        const step = glaStep(
          { q: upload(e, at(x.q, t)), k: upload(e, at(x.k, t)), v: upload(e, at(x.v, t)), g: upload(e, at(x.g!, t)) },
          state,
        );
        await expectGpuClose(step.o, at(wholeO, t), 1e-5, `step ${t}`);
        state = step.state;
      }
      await expectGpuClose(state, await download(whole.finalState), 1e-5, 'state after the last step');
    });
  }
});

describe('fla golden fixtures (B=2, T=37, H=2, K=16, V=8)', () => {
  for (const form of ['chunk', 'recurrent'] as const) {
    for (const [name, gKey] of [
      ['gla', 'gk'],
      ['simple_gla', 'g'],
      ['linear_attn', ''],
    ] as const) {
      it(`${name} (${form}): outputs, final state and every gradient`, async () => {
        const f = readFixture(name);
        const x: GlaRefInputs = {
          q: f.get('in.q')!,
          k: f.get('in.k')!,
          v: f.get('in.v')!,
          g: gKey ? f.get(`in.${gKey}`) : undefined,
          h0: f.get('in.h0'),
          scale: 1 / Math.sqrt(16),
        };
        await expectFixture(form === 'chunk' ? chunkGla : fusedRecurrentGla, x, f, gKey);
      });
    }
  }
  it('retention (chunk, γ_h = 1 − 2^(−5−h) as a scalar log decay): outputs and gradients', async () => {
    const e = await engine();
    const f = readFixture('retention');
    const q = swapAxes12(f.get('in.q')!);
    const [B, T, H] = q.shape;
    const g = cpuTensor([B, T, H]);
    for (let i = 0; i < g.data.length; i++) g.data[i] = Math.log(1 - 2 ** (-5 - (i % H)));
    const t = { q: upload(e, q, true), k: upload(e, swapAxes12(f.get('in.k')!), true) };
    const v = upload(e, swapAxes12(f.get('in.v')!), true);
    const { o, finalState } = chunkGla(t.q, t.k, v, { g: upload(e, toFloat32(g)) });
    await expectGpuClose(o, swapAxes12(f.get('out.o')!), 1e-4, 'o');
    backward(jointLoss(e, o, finalState, swapAxes12(f.get('grad_out.o')!)));
    await expectGpuClose(t.q.grad!, swapAxes12(f.get('grad.q')!), 1e-4, 'dq');
    await expectGpuClose(t.k.grad!, swapAxes12(f.get('grad.k')!), 1e-4, 'dk');
    await expectGpuClose(v.grad!, swapAxes12(f.get('grad.v')!), 1e-4, 'dv');
  });
});

async function expectFixture(form: Form, x: GlaRefInputs, f: Map<string, CpuTensor>, gKey: string) {
  const e = await engine();
  const t = {
    q: upload(e, x.q, true),
    k: upload(e, x.k, true),
    v: upload(e, x.v, true),
    g: x.g ? upload(e, x.g, true) : undefined,
    h0: x.h0 ? upload(e, x.h0, true) : undefined,
  };
  const out = form(t.q, t.k, t.v, { g: t.g, initialState: t.h0 });
  await expectGpuClose(out.o, f.get('out.o')!, 1e-4, 'fixture o');
  await expectGpuClose(out.finalState, f.get('out.final_state')!, 1e-4, 'fixture final state');
  backward(jointLoss(e, out.o, out.finalState, f.get('grad_out.o')!, f.get('grad_out.final_state')!));
  await expectGpuClose(t.q.grad!, f.get('grad.q')!, 1e-4, 'fixture dq');
  await expectGpuClose(t.k.grad!, f.get('grad.k')!, 1e-4, 'fixture dk');
  await expectGpuClose(t.v.grad!, f.get('grad.v')!, 1e-4, 'fixture dv');
  if (t.g) await expectGpuClose(t.g.grad!, f.get(`grad.${gKey}`)!, 1e-4, 'fixture dg');
  if (t.h0) await expectGpuClose(t.h0.grad!, f.get('grad.h0')!, 1e-4, 'fixture dh0');
}

describe('numerics at T=2048', () => {
  for (const [decay, gMin, label] of [
    ['channel', -12, 'strong per-channel decay (log decay down to −12 per token)'],
    ['scalar', -12, 'strong scalar decay (log decay down to −12 per token)'],
    ['channel', -0.002, 'almost no decay (long memory, large states)'],
  ] as const) {
    it(`${label}: finite, and equal to the reference forward and backward`, async () => {
      const x = randomGlaCase({ B: 1, T: 2048, H: 1, K: 8, V: 4 }, freshSeed(), { decay, gMin });
      await expectMatchesReference(chunkGla, x, {}, label);
    });
  }
});

describe('mLSTM stabilizer m_t = max(log f_t + m_{t−1}, ĩ_t)', () => {
  for (const carried of [false, true]) {
    it(`GPU equals the float64 reference, forward and backward (${carried ? 'carried m₀' : 'from −∞'}, T=37)`, async () => {
      const e = await engine();
      const s = freshSeed();
      const logf = toFloat32(randn([2, 37, 3], s, 0.5));
      for (let i = 0; i < logf.data.length; i++) logf.data[i] = -Math.abs(logf.data[i]);
      const ig = toFloat32(randn([2, 37, 3], s + 1));
      const m0 = carried ? toFloat32(randn([2, 3], s + 2)) : undefined;
      const dm = toFloat32(randn([2, 37, 3], s + 3));
      const t = { logf: upload(e, logf, true), ig: upload(e, ig, true), m0: m0 ? upload(e, m0, true) : undefined };
      const m = mlstmStabilizer(t.logf, t.ig, t.m0);
      await expectGpuClose(m, mlstmStabilizerRef(logf, ig, m0), 1e-6, 'm');
      backward(sumAll(mul(m, upload(e, dm))));
      const grads = mlstmStabilizerGradRef(logf, ig, dm, m0);
      await expectGpuClose(t.logf.grad!, grads.logf, 1e-6, 'd log f');
      await expectGpuClose(t.ig.grad!, grads.ig, 1e-6, 'dĩ');
      if (t.m0) await expectGpuClose(t.m0.grad!, grads.m0, 1e-6, 'dm₀');
    });
  }
  it('the reference adjoint equals finite differences', () => {
    const s = freshSeed();
    const logf = randn([1, 9, 2], s);
    const ig = randn([1, 9, 2], s + 1);
    const m0 = randn([1, 2], s + 2);
    const dm = randn([1, 9, 2], s + 3);
    const grads = mlstmStabilizerGradRef(logf, ig, dm, m0);
    checkGradients((x) => mlstmStabilizerRef(x[0], x[1], x[2]), [logf, ig, m0], dm, [grads.logf, grads.ig, grads.m0]);
  });
});

describe('bad input', () => {
  it('errors name the op, the parameter and the shapes', async () => {
    const e = await engine();
    const q = e.empty([1, 5, 2, 4]);
    const v = e.empty([1, 5, 2, 3]);
    expect(() => chunkGla(q, e.empty([1, 5, 2, 3]), v)).toThrow(
      /chunkGla: k must have shape \[1,5,2,4\], got f32\[1,5,2,3\]/,
    );
    expect(() => chunkGla(q, q, e.empty([1, 4, 2, 3]))).toThrow(/chunkGla: v must have shape \[1,5,2,3\]/);
    expect(() => chunkGla(q, q, v, { g: e.empty([1, 5, 2, 3]) })).toThrow(/chunkGla: g must have shape \[1,5,2,4\]/);
    expect(() => chunkGla(q, q, v, { g: e.empty([5, 2]) })).toThrow(/chunkGla: g must be \[B, T, H, K\]/);
    expect(() => chunkGla(q, q, v, { initialState: e.empty([1, 2, 3, 4]) })).toThrow(
      /chunkGla: initialState must have shape \[1,2,4,3\]/,
    );
    expect(() => chunkGla(q, q, v, { chunkSize: 24 })).toThrow(/chunkGla: chunkSize must be one of 16, 32 \(got 24\)/);
    expect(() => fusedRecurrentGla(e.empty([5, 2, 4]), q, v)).toThrow(/fusedRecurrentGla: q must be \[B, T, H, K\]/);
  });
});
