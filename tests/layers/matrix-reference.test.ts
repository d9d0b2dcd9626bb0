// The float64 reference of the class-B recurrence is itself checked: its backward against central
// differences (per-channel, scalar and no decay), and its outputs and gradients against the golden
// fixtures of flash-linear-attention's naive recurrences.

import { describe, expect, it } from 'vitest';
import { randn, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { glaGradRef, glaRef, type GlaRefInputs } from '../../gpu/ops/gla/gla.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { relativeError } from '../helpers/gpu.js';
import { freshSeed, joined, randomGlaCase, readFixture, swapAxes12, type DecayKind } from './matrix-helpers.js';

function fdCheck(decay: DecayKind) {
  const dims = { B: 1, T: 7, H: 2, K: 3, V: 2 };
  const x = randomGlaCase(dims, freshSeed(), { decay });
  const dO = randn([1, 7, 2, 2], 11);
  const dS = randn([1, 2, 3, 2], 12);
  const grads = glaGradRef(x, dO, dS);
  const names = ['q', 'k', 'v', 'g', 'h0'] as const;
  const present = names.filter((n) => x[n] !== undefined);
  const f = (inputs: CpuTensor[]) => {
    const y: GlaRefInputs = { ...x };
    present.forEach((n, i) => (y[n] = inputs[i]));
    const out = glaRef(y);
    return joined(out.o, out.finalState);
  };
  checkGradients(
    f,
    present.map((n) => x[n]!),
    joined(dO, dS),
    present.map((n) => grads[n]),
    { samples: 14 },
  );
}

describe('class-B float64 reference', () => {
  it('gradients of q, k, v, per-channel log decay and initial state equal finite differences', () => {
    fdCheck('channel');
  });
  it('gradients with a scalar decay per head equal finite differences', () => {
    fdCheck('scalar');
  });
  it('gradients without decay (linear attention) equal finite differences', () => {
    fdCheck('none');
  });
});

function expectClose(actual: CpuTensor | null, expected: CpuTensor | undefined, label: string, tolerance = 2e-5) {
  expect(actual, label).not.toBeNull();
  expect(relativeError(actual!.data, expected!.data), label).toBeLessThan(tolerance);
}

describe('reference equals the fla golden fixtures (float32 references, T=37)', () => {
  for (const [name, gKey] of [
    ['gla', 'gk'],
    ['simple_gla', 'g'],
    ['linear_attn', ''],
  ] as const) {
    it(`${name}: outputs, final state and every gradient`, () => {
      const f = readFixture(name);
      const x: GlaRefInputs = {
        q: f.get('in.q')!,
        k: f.get('in.k')!,
        v: f.get('in.v')!,
        g: gKey ? f.get(`in.${gKey}`) : undefined,
        h0: f.get('in.h0'),
        scale: 1 / Math.sqrt(f.get('in.q')!.shape[3]),
      };
      const out = glaRef(x);
      expectClose(out.o, f.get('out.o'), 'o');
      expectClose(out.finalState, f.get('out.final_state'), 'final state');
      const grads = glaGradRef(x, f.get('grad_out.o')!, f.get('grad_out.final_state'));
      expectClose(grads.q, f.get('grad.q'), 'dq');
      expectClose(grads.k, f.get('grad.k'), 'dk');
      expectClose(grads.v, f.get('grad.v'), 'dv');
      if (gKey) expectClose(grads.g, f.get(`grad.${gKey}`), 'dg');
      if (x.h0) expectClose(grads.h0, f.get('grad.h0'), 'dh0');
    });
  }
  it('retention (parallel form, γ_h = 1 − 2^(−5−h)): outputs and gradients', () => {
    const f = readFixture('retention');
    const q = swapAxes12(f.get('in.q')!);
    const [B, T, H] = q.shape;
    const g = randn([B, T, H], 0);
    for (let i = 0; i < g.data.length; i++) g.data[i] = Math.log(1 - 2 ** (-5 - (i % H)));
    const x: GlaRefInputs = {
      q,
      k: swapAxes12(f.get('in.k')!),
      v: swapAxes12(f.get('in.v')!),
      g,
      scale: 1 / Math.sqrt(q.shape[3]),
    };
    expectClose(glaRef(x).o, swapAxes12(f.get('out.o')!), 'o');
    const grads = glaGradRef(x, swapAxes12(f.get('grad_out.o')!));
    expectClose(grads.q, swapAxes12(f.get('grad.q')!), 'dq');
    expectClose(grads.k, swapAxes12(f.get('grad.k')!), 'dk');
    expectClose(grads.v, swapAxes12(f.get('grad.v')!), 'dv');
  });
});
