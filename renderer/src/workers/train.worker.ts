// The training Worker: owns the GPU device (navigator.gpu inside the Worker, so the UI thread never
// waits on the GPU), trains the tiny byte-level model on the text it is given and streams the loss
// curve back at most ten times a second.

import { acquireDevice, type GpuContext } from '../../../gpu/device';
import { Engine } from '../../../gpu/engine';
import { countParams, createParams } from '../../../gpu/nn/module';
import { TINY_DEFAULTS, tinyLoss, tinyParamSpecs, type TinyConfig } from '../../../gpu/nn/tiny';
import { StepExecutor, type StepMetrics } from '../../../gpu/train/step';
import { settingsProblems, type FromWorker, type LossPoint, type ToWorker, type TrainSettings } from './protocol';
import { seededWindows } from '../../../gpu/train/windows';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const REPORT_EVERY_MS = 100;
let stopRequested = false;
let running = false;

function post(message: FromWorker): void {
  scope.postMessage(message);
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    stopRequested = true;
  } else if (message.type === 'start' && !running) {
    running = true;
    stopRequested = false;
    train(message.settings, message.text)
      .catch((error: Error) => post({ type: 'failed', message: error.message }))
      .finally(() => (running = false));
  }
};

async function train(settings: TrainSettings, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  const problems = settingsProblems(settings, bytes.length);
  if (problems.length > 0) throw new Error(`cannot train: ${problems.join('; ')}`);

  let lostMessage: string | null = null;
  const ctx: GpuContext = await acquireDevice(navigator.gpu, { onLost: (error) => (lostMessage = error.message) });
  const engine = new Engine(ctx);
  let executor: StepExecutor | null = null;
  try {
    const config: TinyConfig = {
      ...TINY_DEFAULTS,
      dModel: settings.dModel,
      layers: settings.layers,
      mlpHidden: settings.mlpHidden,
      convKernel: settings.convKernel,
    };
    const specs = tinyParamSpecs(config);
    const params = createParams(engine, specs, settings.seed);
    executor = new StepExecutor(engine, params, (p, x, y) => tinyLoss(config, p, x, y), {
      optimizer: {
        lr: settings.lr,
        weightDecay: 0.01,
        noDecay: new Set(specs.filter((s) => s.noDecay).map((s) => s.name)),
      },
      schedule: {
        kind: 'cosine',
        warmupSteps: Math.min(20, Math.floor(settings.steps / 10)),
        totalSteps: settings.steps,
        minRatio: 0.1,
      },
    });
    post({ type: 'started', adapter: ctx.adapter, parameters: countParams(specs), textBytes: bytes.length });

    const windows = seededWindows(bytes, settings, settings.seed);
    const tokensPerStep = settings.batch * settings.seqLen;
    const started = performance.now();
    let unsent: LossPoint[] = [];
    let completed = 0;
    let lastReport = started;
    const report = (): void => {
      const elapsedMs = performance.now() - started;
      const tokensPerSecond = (completed * tokensPerStep) / Math.max(elapsedMs / 1000, 1e-9);
      post({ type: 'progress', points: unsent, tokensPerSecond, elapsedMs });
      unsent = [];
      lastReport = performance.now();
    };
    const record = (m: StepMetrics): void => {
      if (lostMessage) throw new Error(lostMessage);
      if (!Number.isFinite(m.loss)) {
        throw new Error(`the loss became ${m.loss} at step ${m.step}: lower the learning rate and start again`);
      }
      completed++;
      unsent.push({ step: m.step, loss: m.loss, gradNorm: m.gradNorm, lr: m.lr });
      if (performance.now() - lastReport >= REPORT_EVERY_MS) report();
    };

    // Keep two steps queued so the GPU never idles while the CPU encodes the next one.
    const queued: Promise<StepMetrics>[] = [];
    for (let step = 0; step < settings.steps && !stopRequested; step++) {
      queued.push(executor.run(windows.next()));
      if (queued.length >= 2) record(await queued.shift()!);
    }
    for (const metrics of queued) record(await metrics);
    report();
    post({ type: 'finished', reason: stopRequested ? 'stopped' : 'completed' });
  } finally {
    executor?.destroy();
    engine.destroy();
  }
}
