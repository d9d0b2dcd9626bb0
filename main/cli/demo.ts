// `npm run demo`: trains the tiny byte-level model on the bundled text, headless, and prints the loss
// curve. It is the quickest way to see that the WebGPU engine works on this machine.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createParams } from '../../gpu/nn/module.js';
import { TINY_DEFAULTS, tinyLoss, tinyParamSpecs, type TinyConfig } from '../../gpu/nn/tiny.js';
import { StepExecutor, type StepMetrics } from '../../gpu/train/step.js';
import { createNodeEngine } from '../host/node-gpu.js';
import { seededWindows } from '../../gpu/train/windows.js';
import { lossChart } from './loss-chart.js';

const TEXT = fileURLToPath(new URL('../../assets/text/lighthouse.txt', import.meta.url));

export interface DemoOptions {
  steps: number;
  batch: number;
  seqLen: number;
  seed: number;
  config: TinyConfig;
  lr: number;
  log?: (line: string) => void;
}

export const DEMO_DEFAULTS: DemoOptions = {
  steps: 150,
  batch: 16,
  seqLen: 64,
  seed: 1,
  config: { ...TINY_DEFAULTS, dModel: 64, layers: 2, mlpHidden: 192, convKernel: 4 },
  lr: 3e-3,
};

export async function runDemo(options: DemoOptions = DEMO_DEFAULTS): Promise<StepMetrics[]> {
  const log = options.log ?? console.log;
  const engine = await createNodeEngine();
  try {
    const { adapter } = engine.ctx;
    log(
      `WebGPU adapter: ${adapter.vendor} ${adapter.device || adapter.description}${adapter.isSoftware ? ' (software — slow)' : ''}`,
    );
    const text = new Uint8Array(readFileSync(TEXT));
    const specs = tinyParamSpecs(options.config);
    const params = createParams(engine, specs, options.seed);
    const trainer = new StepExecutor(engine, params, (p, x, y) => tinyLoss(options.config, p, x, y), {
      optimizer: {
        lr: options.lr,
        weightDecay: 0.01,
        noDecay: new Set(specs.filter((s) => s.noDecay).map((s) => s.name)),
      },
      schedule: { kind: 'cosine', warmupSteps: Math.min(20, options.steps), totalSteps: options.steps, minRatio: 0.1 },
    });
    const windows = seededWindows(text, options, options.seed);
    const pending: Promise<StepMetrics>[] = [];
    const started = performance.now();
    for (let step = 0; step < options.steps; step++) {
      const metrics = trainer.run(windows.next());
      pending.push(metrics);
      if (step % 25 === 0 || step === options.steps - 1) {
        const m = await metrics;
        log(
          `step ${String(m.step).padStart(4)}  loss ${m.loss.toFixed(4)}  grad-norm ${m.gradNorm.toFixed(3)}  lr ${m.lr.toExponential(2)}`,
        );
      }
    }
    const all = await Promise.all(pending);
    const seconds = (performance.now() - started) / 1000;
    const tokens = options.steps * options.batch * options.seqLen;
    log(lossChart(all.map((m) => m.loss)));
    log(
      `${options.steps} steps, ${tokens} tokens in ${seconds.toFixed(1)} s (${Math.round(tokens / seconds)} tokens/s)`,
    );
    trainer.destroy();
    return all;
  } finally {
    engine.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo().catch((error: Error) => {
    console.error(`demo failed: ${error.message}`);
    process.exitCode = 1;
  });
}
