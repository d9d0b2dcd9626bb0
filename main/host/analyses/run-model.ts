// A run opened for analysis: its graph compiled, a checkpoint's parameters on the GPU, the training
// length it was trained at, and where its analyses go (runs/<id>/analyses/<name>.json). A run without a
// checkpoint is refused with a message that says so — analyses need trained parameters.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileGraph, type CompiledModel } from '../../../gpu/graph/compile.js';
import type { Engine } from '../../../gpu/engine.js';
import { uploadParams } from '../../../gpu/generate/load-params.js';
import type { ParamMap } from '../../../gpu/nn/module.js';
import { ProbeForward } from '../../../gpu/analysis/probe-forward.js';
import { resolveTask } from '../../../shared/tasks/index.js';
import { writeFileAtomic } from '../atomic-file.js';
import { RunStore, type Run, type RunInfo } from '../runs/run-store.js';

export class AnalysisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalysisError';
  }
}

export interface AnalysisRun {
  run: Run;
  info: RunInfo;
  model: CompiledModel;
  probe: ProbeForward;
  params: ParamMap;
  /** The checkpoint's training step. */
  step: number;
  /** Tokens per training sequence (run.json's train.seqLen, or the task's length). */
  trainLength: number;
  release(): void;
}

/** Opens a run by id or folder; throws an AnalysisError when it has no (or not the asked) checkpoint. */
export function openRun(runsDir: string, ref: string): Run {
  return new RunStore(runsDir).open(ref);
}

export function loadRun(engine: Engine, run: Run, step?: number): AnalysisRun {
  const info = run.info();
  const steps = run.checkpointSteps();
  if (steps.length === 0)
    throw new AnalysisError(
      `run ${run.id} has no checkpoints (status: ${info.status}); analyses need trained parameters — ` +
        `let it reach its first checkpoint, or train with --checkpoint-every`,
    );
  if (step !== undefined && !steps.includes(step))
    throw new AnalysisError(`run ${run.id} has no checkpoint at step ${step} (have: ${steps.join(', ')})`);
  const checkpoint = run.loadCheckpoint(step);
  const model = compileGraph(run.graph());
  const params = uploadParams(engine, model.specs, checkpoint.params, `run ${run.id} checkpoint ${checkpoint.step}`);
  return {
    run,
    info,
    model,
    probe: new ProbeForward(model),
    params,
    step: checkpoint.step,
    trainLength: trainLength(info),
    release: () => {
      for (const p of params.values()) p.release();
    },
  };
}

function trainLength(info: RunInfo): number {
  // A task fixes its own sequence length (the trainer takes it from the task, whatever --seq said).
  const data = info.data as { kind?: unknown; task?: unknown; params?: Record<string, number> };
  if (data.kind === 'task' && typeof data.task === 'string') return resolveTask(data.task, data.params ?? {}).seqLen;
  const seqLen = Number((info.train as { seqLen?: unknown }).seqLen);
  if (Number.isInteger(seqLen) && seqLen > 0) return seqLen;
  throw new AnalysisError(
    `run ${info.id}: run.json has no train.seqLen (the training length the analyses compare against)`,
  );
}

export interface AnalysisDocument {
  analysis: string;
  run: string;
  step: number;
  created: string;
  trainLength: number;
  config: Record<string, unknown>;
  results: unknown;
}

/** Writes runs/<id>/analyses/<name>.json atomically; returns the path. */
export function saveAnalysis(run: Run, name: string, doc: AnalysisDocument): string {
  const dir = join(run.dir, 'analyses');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileAtomic(path, `${JSON.stringify(doc, finiteOrNull, 1)}\n`);
  return path;
}

/** JSON has no NaN/∞: they are written as null (a chart shows a gap), never as a wrong number. */
function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}
