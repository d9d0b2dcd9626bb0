// Every synthetic task by name, plus the two ways a trainer uses them: a batch at any example index, and
// a resumable sampler whose whole state is the number of batches drawn (like the dataset BatchSampler).
// Training and validation draw from separate streams of the same seed, so they never share examples
// by construction of the stream (identical examples can still occur by chance in small task spaces).

import { copy, selectiveCopy } from './copy.js';
import { inductionHeads } from './induction.js';
import { modularArithmetic } from './modular-arithmetic.js';
import { mqar } from './mqar.js';
import { parity } from './parity.js';
import { passkey } from './passkey.js';
import { permutationComposition } from './permutations.js';
import {
  generateExamples,
  resolveParams,
  TaskError,
  type TaskBatch,
  type TaskDefinition,
  type TaskParams,
} from './task.js';

export const TASKS: readonly TaskDefinition[] = [
  mqar,
  passkey,
  copy,
  selectiveCopy,
  inductionHeads,
  parity,
  modularArithmetic,
  permutationComposition,
];

export function getTask(name: string): TaskDefinition {
  const task = TASKS.find((t) => t.name === name);
  if (!task) throw new TaskError(name, `unknown task (tasks: ${TASKS.map((t) => t.name).join(', ')})`);
  return task;
}

export type TaskSplit = 'train' | 'validation';
const SPLIT_STREAM: Record<TaskSplit, number> = { train: 0, validation: 1 };

/** A resolved task: parameters checked, vocabulary size and sequence length known. */
export interface ResolvedTask {
  task: TaskDefinition;
  params: TaskParams;
  vocabSize: number;
  seqLen: number;
}

export function resolveTask(name: string, params: Record<string, unknown> = {}): ResolvedTask {
  const task = getTask(name);
  const resolved = resolveParams(task, params);
  return { task, params: resolved, vocabSize: task.vocabSize(resolved), seqLen: task.seqLen(resolved) };
}

/** Examples [start, start + count) of a split's stream: the same arguments always give the same batch. */
export function generateTaskBatch(
  name: string,
  params: Record<string, unknown>,
  options: { seed: number; count: number; start?: number; split?: TaskSplit },
): TaskBatch {
  const { task, params: resolved } = resolveTask(name, params);
  const { seed, count, start = 0, split = 'train' } = options;
  if (!Number.isSafeInteger(seed)) throw new TaskError(name, `seed ${seed} must be an integer`);
  if (!Number.isInteger(count) || count < 1) throw new TaskError(name, `count ${count} must be a positive integer`);
  if (!Number.isSafeInteger(start) || start < 0)
    throw new TaskError(name, `start ${start} must be a non-negative integer`);
  return generateExamples(task, resolved, seed, start, count, SPLIT_STREAM[split]);
}

export interface TaskPosition {
  kind: 'task';
  task: string;
  seed: number;
  batch: number;
  drawn: number;
}

/** Batches of `batch` fresh examples each; position()/restore() make a resumed run see the same data. */
export class TaskSampler {
  private drawn = 0;
  readonly vocabSize: number;
  readonly seqLen: number;
  private readonly resolved: ResolvedTask;

  constructor(
    name: string,
    params: Record<string, unknown>,
    private readonly options: { batch: number; seed: number; split?: TaskSplit },
  ) {
    this.resolved = resolveTask(name, params);
    this.vocabSize = this.resolved.vocabSize;
    this.seqLen = this.resolved.seqLen;
    if (!Number.isInteger(options.batch) || options.batch < 1)
      throw new TaskError(name, `batch size ${options.batch} must be a positive integer`);
  }

  next(): TaskBatch {
    const { batch, seed, split = 'train' } = this.options;
    const { task, params } = this.resolved;
    const out = generateExamples(task, params, seed, this.drawn * batch, batch, SPLIT_STREAM[split]);
    this.drawn++;
    return out;
  }

  position(): TaskPosition {
    return {
      kind: 'task',
      task: this.resolved.task.name,
      seed: this.options.seed,
      batch: this.options.batch,
      drawn: this.drawn,
    };
  }

  restore(position: unknown): void {
    const p = position as Partial<TaskPosition> | null;
    const mine = this.position();
    if (!p || p.kind !== 'task' || !Number.isSafeInteger(p.drawn) || p.drawn! < 0)
      throw new TaskError(mine.task, `saved position ${JSON.stringify(position)} is not a task position`);
    for (const key of ['task', 'seed', 'batch'] as const) {
      if (p[key] !== mine[key])
        throw new TaskError(mine.task, `saved position has ${key} ${p[key]}, but this run has ${mine[key]}`);
    }
    this.drawn = p.drawn!;
  }
}
