// A sweep file made concrete: graphs loaded (templates or files beside the sweep), the grid expanded,
// every point compiled (parameters, state bytes) and its training memory estimated. Every problem of
// every point is gathered and thrown at once, before a single run starts.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { compileGraph, type CompiledModel } from '../../../gpu/graph/compile.js';
import { nodeCatalogue } from '../../../gpu/graph/catalogue.js';
import { parseGraph } from '../../../shared/graph/parse.js';
import type { GraphDoc } from '../../../shared/graph/schema.js';
import { expandSweep, type SweepPoint } from '../../../shared/sweeps/expand.js';
import { parseSweep } from '../../../shared/sweeps/parse.js';
import { SweepError, type SweepFile } from '../../../shared/sweeps/schema.js';
import { resolveTask } from '../../../shared/tasks/index.js';
import type { DataSpec } from '../data-source.js';
import { templateNames, templatePath } from '../templates.js';
import { estimateTrainMemory, stateBytesAt, type TrainMemoryEstimate } from './memory.js';

export const DEFAULT_MEMORY_BUDGET_MB = 8192;

export interface PlannedPoint extends SweepPoint {
  /** What the trainer is given (file paths resolved against the sweep file's folder). */
  dataSpec: DataSpec;
  /** Training length: the task's own length for a task, else train.seqLen. */
  seqLen: number;
  params: number;
  /** Recurrent state bytes per sequence at seqLen (attention's KV cache included). */
  stateBytes: number;
  memory: TrainMemoryEstimate;
}

export interface PlannedSweep {
  path: string;
  sweep: SweepFile;
  points: PlannedPoint[];
  budgetBytes: number;
}

export function loadSweep(path: string, options: { memoryBudgetMB?: number } = {}): PlannedSweep {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SweepError(`cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, path);
  }
  return planSweep(parseSweep(text, path), path, options);
}

export function planSweep(sweep: SweepFile, path: string, options: { memoryBudgetMB?: number } = {}): PlannedSweep {
  const dir = dirname(resolve(path));
  const catalogue = nodeCatalogue();
  const graphs = new Map<string, GraphDoc>();
  sweep.graphs.forEach((g, i) => graphs.set(g.family, loadBaseGraph(g.template, g.file, dir, `${path}: graphs[${i}]`)));
  const points = expandSweep(sweep, graphs, catalogue, path);
  const budgetMB = options.memoryBudgetMB ?? sweep.memoryBudgetMB ?? DEFAULT_MEMORY_BUDGET_MB;
  const budgetBytes = budgetMB * 2 ** 20;
  const problems: string[] = [];
  const planned: PlannedPoint[] = [];
  for (const point of points) {
    try {
      planned.push(planPoint(point, dir, budgetBytes, budgetMB));
    } catch (error) {
      problems.push(`run ${point.id}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 12).map((p) => `  - ${p}`);
    if (problems.length > 12) shown.push(`  … and ${problems.length - 12} more`);
    throw new SweepError(`${problems.length} of ${points.length} runs cannot start:\n${shown.join('\n')}`, path);
  }
  return { path, sweep, points: planned, budgetBytes };
}

function planPoint(point: SweepPoint, dir: string, budgetBytes: number, budgetMB: number): PlannedPoint {
  let graph = point.graph;
  let seqLen = point.train.seqLen;
  let dataSpec: DataSpec;
  if ('task' in point.data) {
    let task;
    try {
      task = resolveTask(point.data.task, point.data.params ?? {});
    } catch (error) {
      throw new Error(`data: ${(error as Error).message}`);
    }
    seqLen = task.seqLen;
    // The trainer grows the vocabulary to the task's; the figures must be those of the model it trains.
    if (task.vocabSize > graph.model.vocab_size)
      graph = { ...graph, model: { ...graph.model, vocab_size: task.vocabSize } };
    dataSpec = { kind: 'task', task: point.data.task, params: point.data.params ?? {} };
  } else {
    const file = resolve(dir, point.data.file);
    if (!existsSync(file)) throw new Error(`data.file: ${file} does not exist`);
    dataSpec = {
      kind: 'text',
      path: file,
      tokenizer: point.data.tokenizer ?? 'byte',
      ...(point.data.field ? { field: point.data.field } : {}),
    };
  }
  let model: CompiledModel;
  try {
    model = compileGraph(graph);
  } catch (error) {
    throw new Error(`graph "${graph.name}" (family ${point.family}): ${(error as Error).message}`);
  }
  const memory = estimateTrainMemory(model, point.train.batch, seqLen);
  if (memory.totalBytes > budgetBytes) {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    throw new Error(
      `needs an estimated ${mib(memory.totalBytes)} to train (parameters and optimizer ${mib(memory.paramBytes)}, ` +
        `activations ${mib(memory.activationBytes)}, mixer states ${mib(memory.stateBytes)} at batch ` +
        `${point.train.batch} × ${seqLen} tokens, plus the buffer pool's size classes), over the memory budget of ${budgetMB} MiB; ` +
        `lower batch, seqLen or width, or raise memoryBudgetMB`,
    );
  }
  return {
    ...point,
    graph,
    dataSpec,
    seqLen,
    params: model.totals.params,
    stateBytes: stateBytesAt(model, seqLen),
    memory,
  };
}

function loadBaseGraph(template: string | undefined, file: string | undefined, dir: string, where: string): GraphDoc {
  const path = template !== undefined ? templatePath(template) : resolve(dir, file!);
  if (template !== undefined && !path)
    throw new SweepError(`no template "${template}" (templates: ${templateNames().join(', ')})`, `${where}.template`);
  if (!existsSync(path!)) throw new SweepError(`graph file ${path} does not exist`, `${where}.file`);
  return parseGraph(readFileSync(path!, 'utf8'), path!);
}
