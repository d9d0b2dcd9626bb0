import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createParams, initialValues } from '../../gpu/nn/module.js';
import { TINY_DEFAULTS, tinyLoss, tinyParamSpecs, type TinyConfig } from '../../gpu/nn/tiny.js';
import { StepExecutor } from '../../gpu/train/step.js';
import { seededWindows } from '../../gpu/train/windows.js';
import { useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const text = new Uint8Array(readFileSync(new URL('../../assets/text/lighthouse.txt', import.meta.url)));
const config: TinyConfig = { ...TINY_DEFAULTS, dModel: 32, layers: 2, mlpHidden: 64, convKernel: 4 };

describe('the tiny byte-level model', () => {
  it('learns the bundled text on the GPU: training loss falls from ln(256)≈5.5 to below 3.0 in 150 steps', async () => {
    const e = await engine();
    const specs = tinyParamSpecs(config);
    const params = createParams(e, specs, 1);
    const trainer = new StepExecutor(e, params, (p, x, y) => tinyLoss(config, p, x, y), {
      optimizer: { lr: 1e-2, weightDecay: 0.01, noDecay: new Set(specs.filter((s) => s.noDecay).map((s) => s.name)) },
      schedule: { kind: 'cosine', warmupSteps: 10, totalSteps: 150, minRatio: 0.1 },
    });
    const windows = seededWindows(text, { batch: 8, seqLen: 32 }, 7);
    const runs = [];
    for (let i = 0; i < 150; i++) runs.push(trainer.run(windows.next()));
    const metrics = await Promise.all(runs);
    const first = metrics[0].loss;
    const last = metrics.slice(-10).reduce((s, m) => s + m.loss, 0) / 10;
    expect(first).toBeGreaterThan(5.3);
    expect(first).toBeLessThan(5.8);
    expect(last).toBeLessThan(3.0);
    expect(metrics.every((m) => Number.isFinite(m.gradNorm))).toBe(true);
    trainer.destroy();
  });

  it('steps requested without awaiting are applied in call order (identical to awaiting each step)', async () => {
    const e = await engine();
    const specs = tinyParamSpecs(config);
    const losses = async (awaitEach: boolean) => {
      const params = createParams(e, specs, 5);
      const trainer = new StepExecutor(e, params, (p, x, y) => tinyLoss(config, p, x, y), { optimizer: { lr: 1e-2 } });
      const windows = seededWindows(text, { batch: 2, seqLen: 16 }, 3);
      const results: number[] = [];
      const runs = [];
      for (let i = 0; i < 8; i++) {
        const run = trainer.run(windows.next());
        if (awaitEach) results.push((await run).loss);
        else runs.push(run);
      }
      if (!awaitEach) for (const m of await Promise.all(runs)) results.push(m.loss);
      trainer.destroy();
      for (const p of params.values()) p.release();
      return results;
    };
    expect(await losses(false)).toEqual(await losses(true));
  });

  it('the same seed gives the same initial parameters on the CPU and on the GPU', async () => {
    const e = await engine();
    const specs = tinyParamSpecs(config);
    const params = createParams(e, specs, 42);
    for (const spec of specs) {
      const cpu = Float32Array.from(initialValues(spec, 42).data);
      expect(Array.from(await params.get(spec.name)!.read())).toEqual(Array.from(cpu));
    }
    const other = createParams(e, specs, 43);
    expect(Array.from(await other.get('embed_tokens.weight')!.read())).not.toEqual(
      Array.from(await params.get('embed_tokens.weight')!.read()),
    );
  });

  it('a bad configuration is rejected naming the field', () => {
    expect(() => tinyParamSpecs({ ...config, dModel: 0 })).toThrow(
      /tiny model: dModel must be a positive integer \(got 0\)/,
    );
  });
});
