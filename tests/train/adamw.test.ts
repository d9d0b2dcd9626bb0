import { describe, expect, it } from 'vitest';
import { randn } from '../../gpu/cpu/tensor.js';
import { createParams } from '../../gpu/nn/module.js';
import { AdamW } from '../../gpu/train/adamw.js';
import { adamwStepRef } from '../../gpu/train/adamw.ref.js';
import { learningRate, validateSchedule } from '../../gpu/train/schedule.js';
import { relativeError, useEngine } from '../helpers/gpu.js';

const engine = useEngine();

describe('AdamW with global norm clipping', () => {
  for (const clipNorm of [0.5, 0]) {
    it(`three GPU steps equal the float64 reference (clip ${clipNorm || 'off'}, decay on one tensor only)`, async () => {
      const e = await engine();
      const seed = Math.floor(Math.random() * 1e9);
      const specs = [
        { name: 'w', shape: [5, 7], init: { kind: 'normal' as const, std: 1 } },
        { name: 'b', shape: [3000], init: { kind: 'normal' as const, std: 1 } },
      ];
      const params = createParams(e, specs, seed);
      const cpuParams = await Promise.all([...params.values()].map(async (p) => Float64Array.from(await p.read())));
      const opt = new AdamW(e, params, { lr: 0.01, weightDecay: 0.1, clipNorm, noDecay: new Set(['b']) });
      const state = {
        m: cpuParams.map((p) => new Float64Array(p.length)),
        v: cpuParams.map((p) => new Float64Array(p.length)),
        step: 0,
      };
      for (let step = 0; step < 3; step++) {
        const grads = specs.map((s, k) =>
          Float64Array.from(Float32Array.from(randn(s.shape, seed + 10 * step + k, 0.3).data)),
        );
        [...params.values()].forEach((p, k) => (p.grad = e.fromArray(grads[k], p.shape)));
        opt.update();
        const { norm } = adamwStepRef(cpuParams, grads, state, {
          lr: 0.01,
          beta1: 0.9,
          beta2: 0.95,
          eps: 1e-8,
          weightDecay: [0.1, 0],
          clipNorm,
        });
        const info = await opt.normInfo.read();
        expect(Math.abs(info[0] - norm) / norm).toBeLessThan(1e-5);
        for (const [k, p] of [...params.values()].entries()) {
          expect(relativeError(await p.read(), cpuParams[k])).toBeLessThan(1e-5);
          p.grad!.release();
          p.grad = null;
        }
      }
    });
  }
  it('a non-finite gradient freezes the step instead of poisoning the parameters', async () => {
    const e = await engine();
    const params = createParams(e, [{ name: 'w', shape: [4], init: { kind: 'constant', value: 1 } }], 1);
    const opt = new AdamW(e, params, { lr: 0.1 });
    const w = params.get('w')!;
    w.grad = e.fromArray([1, Number.NaN, 0, 0], [4]);
    opt.update();
    expect(Array.from(await w.read())).toEqual([1, 1, 1, 1]);
    const info = await opt.normInfo.read();
    expect(Number.isFinite(info[0])).toBe(false);
    expect(info[1]).toBe(0);
  });
});

describe('learning-rate schedules', () => {
  it('cosine: linear warm-up to the peak, then decays to minRatio·peak', () => {
    const s = { kind: 'cosine' as const, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
    expect(learningRate(s, 1, 0)).toBeCloseTo(0.1);
    expect(learningRate(s, 1, 9)).toBeCloseTo(1);
    expect(learningRate(s, 1, 60)).toBeCloseTo(0.55);
    expect(learningRate(s, 1, 110)).toBeCloseTo(0.1);
    expect(learningRate({ kind: 'constant' }, 3e-4, 1234)).toBe(3e-4);
  });
  it('rejects a warm-up longer than the run', () => {
    expect(() => validateSchedule({ kind: 'cosine', warmupSteps: 20, totalSteps: 10 })).toThrow(/warmupSteps \(20\)/);
  });
});
