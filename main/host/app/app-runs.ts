// Runs the app trains: the Worker trains, the page forwards metrics and checkpoints, and this module
// writes them into the workspace's `runs/` as the same run folders the CLI writes (run.json, graph.json,
// config.json, metrics.jsonl, checkpoints/step-N{,.optim}.safetensors), so `statelab resume|eval|export`
// work on an app run. Only runs created in this session accept metrics and checkpoints.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { upgradeGraph } from '../../../shared/graph/parse.js';
import {
  LabApiError,
  type NewRunRequest,
  type ResumeBundle,
  type RunDetail,
  type RunMetricsRow,
  type RunStatus,
  type RunSummary,
  type RunTrainSettings,
} from '../../../shared/lab-api.js';
import { compileGraph } from '../../../gpu/graph/compile.js';
import type { Checkpoint, TrainerState } from '../../../gpu/train/trainer.js';
import { checkParams } from '../../export/source.js';
import { decodeCheckpoint } from '../runs/checkpoint-file.js';
import { Run, RunStore, type RunInfo } from '../runs/run-store.js';
import { writeFileAtomic } from '../atomic-file.js';
import { hfConfig } from '../train-run.js';
import { detectFormat, type DatasetFormat } from '../datasets/index.js';
import { prepareSource, prepareTokens, resolveDataSpec, tokenData } from './app-data.js';
import type { Workspace } from './workspace.js';
import { confined, isInside } from './confine.js';

export class AppRuns {
  /** Runs this host created and that have not finished: the only ones the page may write to. */
  private readonly active = new Map<string, Run>();

  constructor(
    private readonly textDir: string,
    private readonly versions: Record<string, string>,
  ) {}

  async create(workspace: Workspace, request: NewRunRequest): Promise<RunSummary> {
    const graph = wrap('createRun', () => upgradeGraph(request.graph, 'graph'));
    const model = wrap('createRun', () => compileGraph(graph));
    const spec = request.data;
    // The CLI's data spec, so `statelab resume` reads the same text with the same tokenizer and split.
    const data =
      spec.kind === 'task'
        ? { kind: 'task', task: spec.task, params: spec.params }
        : resolveDataSpec(spec, this.textDir, workspace.root).cliSpec;
    // Like the CLI, a tokenizer built from the data is saved beside the run (resume loads it from there).
    const tokenizer =
      spec.kind === 'file' && spec.tokenizer !== 'byte'
        ? (await prepareTokens(spec, this.textDir, workspace.root)).tokenizer
        : null;
    const run = new RunStore(workspace.runsDir).create(
      {
        name: request.name || graph.name,
        data,
        train: { ...request.train },
        seed: request.seed,
        versions: this.versions,
        device: request.device,
      },
      graph,
      hfConfig(model, graph),
    );
    if (tokenizer) writeFileAtomic(join(run.dir, 'tokenizer.json'), `${JSON.stringify(tokenizer.toJSON())}\n`);
    this.active.set(run.id, run);
    return summarize(run, this.active);
  }

  appendMetrics(runId: string, rows: RunMetricsRow[]): void {
    const run = this.writable('appendMetrics', runId);
    for (const row of rows) run.appendMetrics(row);
  }

  /** Decodes both files, checks them against the run's graph, and writes them as the CLI would. */
  saveCheckpoint(runId: string, modelBytes: Uint8Array, optimizerBytes: Uint8Array): { step: number } {
    const run = this.writable('saveCheckpoint', runId);
    const model = wrap('saveCheckpoint', () => decodeCheckpoint(modelBytes, 'model'));
    const optimizer = wrap('saveCheckpoint', () => decodeCheckpoint(optimizerBytes, 'optimizer'));
    let state: TrainerState;
    try {
      state = JSON.parse(optimizer.metadata.trainer_state ?? '') as TrainerState;
    } catch {
      throw new LabApiError('bad-arguments', 'saveCheckpoint: the optimizer file has no valid trainer_state metadata');
    }
    const step = Number(model.metadata.step);
    if (!Number.isInteger(step) || step !== state.step) {
      throw new LabApiError('bad-arguments', `saveCheckpoint: model step "${model.metadata.step}" ≠ trainer step`);
    }
    wrap('saveCheckpoint', () => checkParams(compileGraph(run.graph()).specs, model.tensors));
    const checkpoint: Checkpoint = { step, params: model.tensors, optimizer: optimizer.tensors, state };
    run.saveCheckpoint(checkpoint);
    return { step };
  }

  finish(runId: string, status: RunStatus, message: string): RunSummary {
    const run = this.writable('finishRun', runId);
    run.updateInfo({ status, ...(message ? { message } : { message: undefined }) });
    this.active.delete(runId);
    return summarize(run, this.active);
  }

  list(runsDir: string): RunSummary[] {
    return new RunStore(runsDir)
      .list()
      .filter((run) => isInside(dirname(runsDir), run.dir))
      .map((run) => {
        try {
          return summarize(run, this.active);
        } catch {
          return null; // a folder with a broken run.json is skipped, not fatal to the list
        }
      })
      .filter((s): s is RunSummary => s !== null)
      .reverse();
  }

  read(runsDir: string, runId: string): RunDetail {
    const run = openRun(runsDir, runId);
    const info = run.info();
    return {
      ...summarize(run, this.active),
      train: info.train,
      seed: info.seed,
      metrics: run.metrics(),
      graph: run.graph(),
    };
  }

  /** Like `statelab resume`: the run goes back to running with more steps, from its latest checkpoint. */
  async resume(workspace: Workspace, runId: string, steps: number): Promise<ResumeBundle> {
    if (this.active.has(runId)) throw new LabApiError('bad-arguments', `resumeRun: run "${runId}" is already training`);
    const run = openRun(workspace.runsDir, runId);
    const info = run.info();
    const checkpointStep = run.checkpointSteps().at(-1);
    if (checkpointStep === undefined) throw new LabApiError('not-found', `resumeRun: run "${runId}" has no checkpoint`);
    if (steps <= checkpointStep) {
      throw new LabApiError(
        'bad-arguments',
        `resumeRun: ${steps} steps are not more than the checkpoint's ${checkpointStep}`,
      );
    }
    const saved = info.train as Partial<Record<keyof RunTrainSettings, number>>;
    const need = (key: keyof RunTrainSettings) => {
      const v = saved[key];
      if (typeof v !== 'number') throw new LabApiError('bad-arguments', `resumeRun: run.json has no train.${key}`);
      return v;
    };
    // The CLI's defaults for what older run.json files leave out (train-run.ts).
    const train: RunTrainSettings = {
      steps,
      batch: need('batch'),
      seqLen: need('seqLen'),
      lr: need('lr'),
      evalEvery: need('evalEvery'),
      evalBatches: saved.evalBatches ?? 4,
      checkpointEvery: need('checkpointEvery'),
      // A shorter total than the warm-up (a run cut down to finish) warms up over all of it.
      warmupSteps: Math.min(saved.warmupSteps ?? Math.min(100, Math.floor(steps / 10)), steps),
      weightDecay: saved.weightDecay ?? 0.1,
      clipNorm: saved.clipNorm ?? 1,
    };
    const data = await resumeData(run, info.data);
    const base = join(run.dir, 'checkpoints', `step-${String(checkpointStep).padStart(7, '0')}`);
    const bundle: ResumeBundle = {
      run: summarize(run, this.active),
      graph: run.graph(),
      train,
      seed: info.seed,
      step: checkpointStep,
      data,
      model: new Uint8Array(readFileSync(`${base}.safetensors`)),
      optimizer: new Uint8Array(readFileSync(`${base}.optim.safetensors`)),
      metrics: run.metrics().filter((m) => m.step < checkpointStep),
    };
    run.rewindTo(checkpointStep); // the Worker reports the later steps again; a torn line must not stay
    run.updateInfo({ status: 'running', message: undefined, train: { ...info.train, steps } });
    this.active.set(run.id, run);
    bundle.run = summarize(run, this.active);
    return bundle;
  }

  private writable(method: string, runId: string): Run {
    const run = this.active.get(runId);
    if (!run) throw new LabApiError('not-found', `${method}: run "${runId}" is not a run in progress in this app`);
    return run;
  }
}

/** The run's data as run.json names it, prepared for the Worker (text tokens with the run's tokenizer). */
async function resumeData(run: Run, data: Record<string, unknown>): Promise<ResumeBundle['data']> {
  if (data.kind === 'task') {
    return {
      kind: 'task',
      task: String(data.task),
      params: (data.params ?? {}) as Record<string, number>,
      description: describeData(data),
    };
  }
  if (data.kind !== 'text' || typeof data.path !== 'string') {
    throw new LabApiError('bad-arguments', `resumeRun: the run's data (${describeData(data)}) cannot be trained on`);
  }
  const tokenizer = String(data.tokenizer ?? 'byte');
  const savedTokenizer = join(run.dir, 'tokenizer.json');
  const prepared = await prepareSource({
    path: data.path,
    format: (data.format as DatasetFormat | undefined) ?? detectFormat(data.path),
    tokenizer: tokenizer !== 'byte' && existsSync(savedTokenizer) ? savedTokenizer : tokenizer,
    field: typeof data.field === 'string' ? data.field : undefined,
    validationFraction: typeof data.validationFraction === 'number' ? data.validationFraction : 0.1,
  });
  return { kind: 'tokens', tokens: tokenData(prepared), description: describeData(data) };
}

export function openRun(runsDir: string, runId: string): Run {
  const dir = join(runsDir, runId);
  if (!existsSync(join(dir, 'run.json')) || !statSync(dir).isDirectory()) {
    throw new LabApiError('not-found', `no run "${runId}" in ${runsDir}`);
  }
  // The run folder and the files the page can read back must not be links out of the workspace.
  const root = dirname(runsDir);
  for (const file of ['', 'run.json', 'graph.json', 'metrics.jsonl', 'checkpoints', 'tokenizer.json']) {
    confined(root, join(dir, file), `run "${runId}"${file ? ` (${file})` : ''}`);
  }
  return new Run(dir);
}

function summarize(run: Run, active: Map<string, Run>): RunSummary {
  const info: RunInfo = run.info();
  const metrics = run.metrics();
  const last = metrics.at(-1);
  const valLosses = metrics.map((m) => m.val_loss).filter((v): v is number => typeof v === 'number');
  const interrupted = info.status === 'running' && !active.has(run.id);
  return {
    id: run.id,
    name: info.name,
    created: info.created,
    status: info.status,
    ...(interrupted
      ? { message: 'not running: the app or CLI that trained it stopped early; resume it from its last checkpoint' }
      : info.message
        ? { message: info.message }
        : {}),
    data: describeData(info.data),
    steps: Number((info.train as { steps?: number }).steps ?? 0),
    lastStep: last ? last.step : null,
    lastLoss: last ? last.loss : null,
    bestValLoss: valLosses.length ? Math.min(...valLosses) : null,
    checkpoints: run.checkpointSteps(),
  };
}

function describeData(data: Record<string, unknown>): string {
  if (data.kind === 'text') return `text ${String(data.path).split(/[\\/]/).pop()} (${String(data.tokenizer)})`;
  if (data.kind === 'task') return `task ${String(data.task)}`;
  return String(data.kind ?? 'unknown');
}

/** Turns errors from checks on page-supplied data into `bad-arguments`, naming the method. */
function wrap<T>(method: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof LabApiError) throw error;
    throw new LabApiError('bad-arguments', `${method}: ${(error as Error).message}`);
  }
}
