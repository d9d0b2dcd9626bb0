// The training Worker: owns the GPU device (navigator.gpu inside the Worker, so the UI thread never waits
// on the GPU) and trains the edited graph with the engine's compileGraph + Trainer — the CLI's code. Metric
// rows go back at most ten times a second; checkpoints go back as safetensors bytes (model, and optimizer
// moments with the trainer state) in the same layout the CLI's run folder uses. Pausing holds the loop at
// its next metrics report (the Trainer awaits the sink), so a paused run keeps its GPU state.

import { acquireDevice, DeviceLostError, type GpuContext } from '../../../gpu/device';
import { Engine } from '../../../gpu/engine';
import { compileGraph, GraphCompileError } from '../../../gpu/graph/compile';
import { countParams, createParams } from '../../../gpu/nn/module';
import { Trainer, type MetricsRow } from '../../../gpu/train/trainer';
import { decodeCheckpointFiles, encodeCheckpointFiles } from './checkpoint-bytes';
import { openWorkerData } from './data';
import type { FailureKind, FromWorker, StartRequest, ToWorker } from './protocol';
import { trainerConfigFor } from './run-config';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const REPORT_EVERY_MS = 100;

let trainer: Trainer | null = null;
let running = false;
let stopRequested = false;
let paused = false;
let wake: (() => void) | null = null;
let lostMessage: string | null = null;
let context: GpuContext | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function release(): void {
  const resume = wake;
  wake = null;
  resume?.();
}

// Once the device is gone, reads the engine had in flight reject with nobody left to await them (the
// failure itself is reported through the trainer); anything else unhandled stays visible.
scope.addEventListener('unhandledrejection', (event) => {
  if (lostMessage) event.preventDefault();
});

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'start':
      if (running) return;
      running = true;
      stopRequested = paused = false;
      lostMessage = null;
      train(message)
        .catch((error: Error) => post({ type: 'failed', kind: classify(error), message: describe(error) }))
        .finally(() => (running = false));
      break;
    case 'pause':
      paused = true;
      break;
    case 'resume':
      paused = false;
      release();
      post({ type: 'resumed' });
      break;
    case 'stop':
      stopRequested = true;
      trainer?.stop();
      paused = false;
      release();
      break;
    case 'simulate-device-loss':
      // What a driver reset looks like to the engine: the device is gone and every later call fails.
      lostMessage = 'The GPU device was lost (simulated for testing)';
      context?.device.destroy();
      paused = false;
      release();
      break;
  }
};

async function train(request: StartRequest): Promise<void> {
  const model = compileGraph(request.graph);
  const { train: settings } = request;
  const data = openWorkerData(
    request.data,
    { batch: settings.batch, seqLen: settings.seqLen, seed: request.seed },
    request.graph.model.vocab_size,
  );
  context = await acquireDevice(navigator.gpu, { onLost: (error) => (lostMessage = error.message) });
  const engine = new Engine(context);
  const params = createParams(engine, model.specs, request.seed);
  let unsent: MetricsRow[] = [];
  let lastReport = performance.now();
  let lastStep = 0;
  const flush = () => {
    if (unsent.length) post({ type: 'metrics', rows: unsent });
    unsent = [];
    lastReport = performance.now();
  };
  trainer = new Trainer(
    engine,
    params,
    (p, x, y) => model.loss(p, x, y),
    trainerConfigFor(settings, model.specs),
    data.train,
    data.validation(settings.evalBatches),
    {
      metrics: async (row) => {
        if (lostMessage) throw new DeviceLostError('lost', lostMessage);
        unsent.push(row);
        lastStep = row.step + 1;
        if (performance.now() - lastReport >= REPORT_EVERY_MS) flush();
        if (paused && !stopRequested) {
          flush();
          post({ type: 'paused', step: lastStep });
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
      checkpoint: async (checkpoint) => {
        flush();
        const files = encodeCheckpointFiles(checkpoint);
        post({ type: 'checkpoint', step: checkpoint.step, ...files }, [files.model.buffer, files.optimizer.buffer]);
      },
    },
  );
  try {
    if (request.resume) trainer.resume(decodeCheckpointFiles(request.resume.model, request.resume.optimizer));
    post({ type: 'started', adapter: context.adapter, parameters: countParams(model.specs) });
    const outcome = await trainer.run();
    flush();
    if (lostMessage) throw new DeviceLostError('lost', lostMessage);
    post({
      type: 'finished',
      status: outcome.status,
      step: outcome.step,
      message: outcome.status === 'non-finite' ? outcome.message : '',
    });
  } finally {
    flush();
    trainer.destroy();
    trainer = null;
    for (const p of params.values()) p.release();
    engine.destroy();
    context = null;
  }
}

function classify(error: Error): FailureKind {
  if (lostMessage || error instanceof DeviceLostError) return 'device-lost';
  if (error instanceof GraphCompileError) return 'invalid-graph';
  if (/out of memory|OutOfMemory|allocation/i.test(error.message)) return 'out-of-memory';
  if (/^data:|tokens are fewer|task /.test(error.message)) return 'data';
  return 'error';
}

function describe(error: Error): string {
  if (lostMessage && !(error instanceof DeviceLostError)) return `${lostMessage} (${error.message})`;
  return error.message;
}
