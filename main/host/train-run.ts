// The "train a graph on data into a run folder" service: the CLI and the app's host both call it.
// Load → compile → data → trainer → run folder, as one story.

import { createRequire } from 'node:module';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { compileGraph, type CompiledModel } from '../../gpu/graph/compile.js';
import type { Engine } from '../../gpu/engine.js';
import { DeviceLostError } from '../../gpu/device.js';
import { createParams } from '../../gpu/nn/module.js';
import { Trainer, type MetricsRow, type TrainOutcome, type TrainerConfig } from '../../gpu/train/trainer.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { openDataSource, type DataSource, type DataSpec } from './data-source.js';
import { createNodeEngine } from './node-gpu.js';
import { RunStore, type Run } from './runs/run-store.js';

export interface TrainRequest {
  graph: GraphDoc;
  data: DataSpec;
  runsDir: string;
  name?: string;
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  seed: number;
  warmupSteps?: number;
  weightDecay?: number;
  clipNorm?: number;
  evalEvery: number;
  evalBatches?: number;
  checkpointEvery: number;
  targetLoss?: number;
  /** A non-finite loss: stop (default) or roll back to the last checkpoint and skip the batches since. */
  onNonFinite?: 'stop' | 'rollback';
  /** In-memory token budget in bytes; larger datasets are read from the token cache (not saved in run.json). */
  dataMemoryBytes?: number;
}

export interface TrainCallbacks {
  onMetrics?: (row: MetricsRow) => void;
  onLog?: (message: string) => void;
  /** Lets the caller stop the run (SIGINT, a Stop button). */
  onTrainer?: (trainer: Trainer) => void;
}

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export function hfConfig(model: CompiledModel, graph: GraphDoc): Record<string, unknown> {
  return {
    architectures: ['StateLabForCausalLM'],
    model_type: 'statelab',
    vocab_size: graph.model.vocab_size,
    hidden_size: graph.model.d_model,
    num_hidden_layers: model.graph.order
      .filter((r) => r.spec.kind === 'repeat')
      .reduce((n, r) => n + (r.params.count as number), 0),
    statelab_graph: 'graph.json',
    torch_dtype: 'float32',
    statelab_version: VERSION,
  };
}

function trainerConfig(request: TrainRequest, model: CompiledModel): TrainerConfig {
  return {
    steps: request.steps,
    lr: request.lr,
    schedule: {
      kind: 'cosine',
      warmupSteps: request.warmupSteps ?? Math.min(100, Math.floor(request.steps / 10)),
      totalSteps: request.steps,
      minRatio: 0.1,
    },
    weightDecay: request.weightDecay ?? 0.1,
    clipNorm: request.clipNorm ?? 1,
    evalEvery: request.evalEvery,
    checkpointEvery: request.checkpointEvery,
    targetLoss: request.targetLoss,
    onNonFinite: request.onNonFinite,
    noDecay: model.specs.filter((s) => s.noDecay || s.shape.length === 1).map((s) => s.name),
  };
}

async function execute(
  engine: Engine,
  run: Run,
  request: TrainRequest,
  callbacks: TrainCallbacks,
  resumeFrom?: number,
  opened?: DataSource,
): Promise<TrainOutcome> {
  const model = compileGraph(request.graph);
  const params = createParams(engine, model.specs, request.seed);
  const data =
    opened ?? (await openDataSource(dataOf(run, request.data), shapeOf(request), dataOptions(request, callbacks)));
  const trainer = new Trainer(
    engine,
    params,
    (p, x, y) => model.loss(p, x, y),
    trainerConfig(request, model),
    data.train,
    data.validation(request.evalBatches ?? 4),
    {
      metrics: (row) => {
        run.appendMetrics(row);
        callbacks.onMetrics?.(row);
      },
      checkpoint: async (checkpoint) => {
        run.saveCheckpoint(checkpoint);
      },
      rewind: (step) => run.rewindTo(step),
      log: callbacks.onLog,
    },
  );
  callbacks.onTrainer?.(trainer);
  try {
    if (resumeFrom !== undefined) {
      trainer.resume(run.loadCheckpoint(resumeFrom));
      run.rewindTo(resumeFrom);
    }
    const outcome = await trainer.run();
    run.updateInfo({
      status: outcome.status,
      ...(outcome.status === 'non-finite' ? { message: outcome.message } : {}),
    });
    return outcome;
  } catch (error) {
    const fault = gpuFault(error, run, trainer.executor.step);
    try {
      run.updateInfo(
        fault ? { status: 'stopped', message: fault.message } : { status: 'failed', message: (error as Error).message },
      );
    } catch {
      // A full or read-only disk: run.json keeps its last state; the error below says what happened.
    }
    throw fault ?? error;
  } finally {
    // After a GPU fault the device may be gone: releasing its buffers must not hide the error.
    try {
      trainer.destroy();
      for (const p of params.values()) p.release();
    } catch {
      // the device is lost; its memory went with it
    }
    data.close();
  }
}

/** The GPU failed under a run (device lost, out of memory): the run is paused, not broken. */
export class GpuFaultError extends Error {
  constructor(
    message: string,
    readonly lastCheckpoint: number | null,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'GpuFaultError';
  }
}

function gpuFault(error: unknown, run: Run, step: number): GpuFaultError | null {
  const message = (error as Error)?.message ?? '';
  const lost = error instanceof DeviceLostError || /device (was )?lost/i.test(message);
  const oom = /out of memory|OutOfMemory/i.test(message);
  if (!lost && !oom) return null;
  const steps = run.checkpointSteps();
  const last = steps.length ? steps[steps.length - 1] : null;
  const what = lost ? message : `the GPU ran out of memory (${message})`;
  const kept =
    last === null
      ? 'no checkpoint was saved yet, so the run must start again'
      : `the last checkpoint (step ${last}) is intact; once the GPU is available again, continue with \`statelab resume ${run.id}\``;
  return new GpuFaultError(`${what}. Training paused at step ${step}: ${kept}`, last, error);
}

export async function trainRun(
  requested: TrainRequest,
  callbacks: TrainCallbacks = {},
): Promise<{ run: Run; outcome: TrainOutcome }> {
  let request = requested;
  // The data decides the vocabulary: a graph smaller than its tokenizer or task grows to fit.
  const data = await openDataSource(
    request.data,
    { ...shapeOf(request), vocabSize: Number.MAX_SAFE_INTEGER },
    dataOptions(request, callbacks),
  );
  if (data.vocabSize > request.graph.model.vocab_size) {
    callbacks.onLog?.(`vocab_size raised from ${request.graph.model.vocab_size} to ${data.vocabSize} to fit the data`);
    request = {
      ...request,
      graph: { ...request.graph, model: { ...request.graph.model, vocab_size: data.vocabSize } },
    };
  }
  const model = compileGraph(request.graph); // validate before touching the disk or the GPU
  const engine = await createNodeEngine();
  try {
    const {
      steps,
      batch,
      seqLen,
      lr,
      evalEvery,
      checkpointEvery,
      targetLoss,
      warmupSteps,
      weightDecay,
      clipNorm,
      onNonFinite,
    } = request;
    const run = new RunStore(request.runsDir).create(
      {
        name: request.name ?? request.graph.name,
        data: request.data as unknown as Record<string, unknown>,
        train: {
          steps,
          batch,
          seqLen,
          lr,
          evalEvery,
          checkpointEvery,
          targetLoss,
          warmupSteps,
          weightDecay,
          clipNorm,
          onNonFinite,
          evalBatches: request.evalBatches,
        },
        seed: request.seed,
        versions: { statelab: VERSION, node: process.version },
        device: { ...engine.ctx.adapter, features: undefined },
      },
      request.graph,
      hfConfig(model, request.graph),
    );
    if (data.tokenizer)
      writeFileAtomic(join(run.dir, 'tokenizer.json'), `${JSON.stringify(data.tokenizer.toJSON())}\n`);
    return { run, outcome: await execute(engine, run, request, callbacks, undefined, data) };
  } finally {
    engine.destroy();
  }
}

function shapeOf(request: Pick<TrainRequest, 'graph' | 'batch' | 'seqLen' | 'seed'>) {
  return {
    vocabSize: request.graph.model.vocab_size,
    batch: request.batch,
    seqLen: request.seqLen,
    seed: request.seed,
  };
}

/** Token caches live beside the runs (`<runs>/.cache/tokens`), shared by every run on the same data. */
function dataOptions(request: Pick<TrainRequest, 'runsDir' | 'dataMemoryBytes'>, callbacks: TrainCallbacks = {}) {
  return {
    cacheDir: join(request.runsDir, '.cache', 'tokens'),
    memoryBudgetBytes: request.dataMemoryBytes,
    onLog: callbacks.onLog,
  };
}

/** A run's data spec, with a trained tokenizer replaced by the tokenizer.json saved beside the run. */
function dataOf(run: Run, spec: DataSpec): DataSpec {
  const saved = join(run.dir, 'tokenizer.json');
  return spec.kind === 'text' && spec.tokenizer !== 'byte' && existsSync(saved) ? { ...spec, tokenizer: saved } : spec;
}

/** Continues a run from its latest (or a given) checkpoint, up to `steps` total steps. */
export async function resumeRun(
  runPath: string,
  runsDir: string,
  options: { steps?: number; fromStep?: number },
  callbacks: TrainCallbacks = {},
) {
  const run = new RunStore(runsDir).open(runPath);
  const info = run.info();
  // A distill run's checkpoints belong to its stages (main/host/distill): plain training would corrupt it.
  if ((info as { kind?: string }).kind === 'distill')
    throw new Error(`run ${run.id} is a distill run: continue it with \`statelab distill --resume ${runPath}\``);
  const train = info.train as Omit<TrainRequest, 'graph' | 'data' | 'runsDir' | 'seed'>;
  const request: TrainRequest = {
    ...train,
    steps: options.steps ?? train.steps,
    graph: run.graph(),
    data: info.data as unknown as DataSpec,
    runsDir,
    seed: info.seed,
  };
  const steps = run.checkpointSteps();
  const from = options.fromStep ?? steps[steps.length - 1];
  if (from === undefined) throw new Error(`run ${run.id} has no checkpoint to resume from`);
  const engine = await createNodeEngine();
  try {
    run.updateInfo({ status: 'running', train: { ...info.train, steps: request.steps } });
    return { run, outcome: await execute(engine, run, request, callbacks, from) };
  } finally {
    engine.destroy();
  }
}

/** Validation loss of a run's checkpoint on its own data (or another data spec). */
export async function evalRun(
  runPath: string,
  runsDir: string,
  options: { step?: number; data?: DataSpec; batches?: number },
) {
  const run = new RunStore(runsDir).open(runPath);
  const info = run.info();
  const graph = run.graph();
  const model = compileGraph(graph);
  const checkpoint = run.loadCheckpoint(options.step);
  const train = info.train as { batch: number; seqLen: number; evalBatches?: number };
  const engine = await createNodeEngine();
  try {
    const params = createParams(engine, model.specs, info.seed);
    for (const [name, tensor] of params) {
      const saved = checkpoint.params.get(name);
      if (!saved || saved.shape.join() !== tensor.shape.join()) {
        throw new Error(
          `checkpoint step ${checkpoint.step} does not match the graph: parameter "${name}" ${saved ? `has shape [${saved.shape}], expected [${tensor.shape}]` : 'is missing'}`,
        );
      }
      engine.write(tensor, saved.data);
    }
    const data = await openDataSource(
      dataOf(run, options.data ?? (info.data as unknown as DataSpec)),
      {
        vocabSize: graph.model.vocab_size,
        batch: train.batch,
        seqLen: train.seqLen,
        seed: info.seed,
      },
      dataOptions({ runsDir }),
    );
    const trainer = new Trainer(
      engine,
      params,
      (p, x, y) => model.loss(p, x, y),
      trainerConfig({ ...(info.train as unknown as TrainRequest), graph, data: options.data!, runsDir }, model),
      data.train,
      data.validation(options.batches ?? train.evalBatches ?? 4),
      { metrics: () => {}, checkpoint: async () => {} },
    );
    const loss = await trainer.evaluate();
    trainer.destroy();
    data.close();
    return { run, step: checkpoint.step, loss };
  } finally {
    engine.destroy();
  }
}
