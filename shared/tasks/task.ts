// The shape every synthetic task shares. A task turns (parameters, seed, example index) into one
// example of fixed length T: `inputs` (token ids) and `targets` aligned with them — targets[t] is what the
// model should output after reading inputs[0..t] — with IGNORE_INDEX wherever the position is not scored.
// Language-model-style tasks (MQAR, passkey, copy) thus have targets = the next token on scored positions.

import { Rng } from './random.js';

/** Target value of unscored positions (PyTorch's cross-entropy default ignore_index). */
export const IGNORE_INDEX = -100;

export interface TaskParamSpec {
  name: string;
  description: string;
  default: number;
  min: number;
  max: number;
  /** Integer-valued (all but a few, like MQAR's power_a). */
  integer: boolean;
}

export type TaskParams = Record<string, number>;

export interface TaskDefinition {
  name: string;
  title: string;
  /** The exact format: token ids, layout, what is scored. */
  description: string;
  params: TaskParamSpec[];
  /** Constraints between parameters; returns a message, or null when the parameters fit. */
  check?(p: TaskParams): string | null;
  vocabSize(p: TaskParams): number;
  seqLen(p: TaskParams): number;
  /** Writes one example into inputs/targets (length seqLen; targets arrive filled with IGNORE_INDEX). */
  fill(p: TaskParams, rng: Rng, inputs: Int32Array, targets: Int32Array): void;
}

export interface TaskBatch {
  /** [batch, seqLen] row-major. */
  inputs: Int32Array;
  /** [batch, seqLen]; IGNORE_INDEX where not scored. */
  targets: Int32Array;
  /** [batch, seqLen]; 1 where scored (targets !== IGNORE_INDEX). */
  mask: Uint8Array;
  batch: number;
  seqLen: number;
  vocabSize: number;
}

export class TaskError extends Error {
  constructor(task: string, message: string) {
    super(`task ${task}: ${message}`);
    this.name = 'TaskError';
  }
}

/** Fills in defaults and checks every parameter: known name, number, integer where needed, in range. */
export function resolveParams(task: TaskDefinition, given: Record<string, unknown> = {}): TaskParams {
  const known = new Map(task.params.map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    if (!known.has(name))
      throw new TaskError(task.name, `unknown parameter "${name}" (parameters: ${[...known.keys()].join(', ')})`);
  }
  const out: TaskParams = {};
  for (const spec of task.params) {
    const value = given[spec.name] ?? spec.default;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new TaskError(task.name, `${spec.name} must be a number (got ${JSON.stringify(value)})`);
    if (spec.integer && !Number.isInteger(value))
      throw new TaskError(task.name, `${spec.name} must be an integer (got ${value})`);
    if (value < spec.min || value > spec.max)
      throw new TaskError(task.name, `${spec.name} ${value} is outside [${spec.min}, ${spec.max}]`);
    out[spec.name] = value;
  }
  const problem = task.check?.(out);
  if (problem) throw new TaskError(task.name, problem);
  return out;
}

/**
 * Examples start..start+count-1 of the (seed, split) stream. Example i depends only on (seed, split, i),
 * so any batch can be regenerated on its own — the basis of exact resume.
 */
export function generateExamples(
  task: TaskDefinition,
  params: TaskParams,
  seed: number,
  start: number,
  count: number,
  split = 0,
): TaskBatch {
  const seqLen = task.seqLen(params);
  const inputs = new Int32Array(count * seqLen);
  const targets = new Int32Array(count * seqLen).fill(IGNORE_INDEX);
  for (let b = 0; b < count; b++) {
    const rows = [b * seqLen, (b + 1) * seqLen] as const;
    task.fill(params, new Rng(seed, split, start + b), inputs.subarray(...rows), targets.subarray(...rows));
  }
  const mask = Uint8Array.from(targets, (t) => (t === IGNORE_INDEX ? 0 : 1));
  return { inputs, targets, mask, batch: count, seqLen, vocabSize: task.vocabSize(params) };
}

/** Parameter spec shorthand for integer parameters. */
export function int(name: string, def: number, min: number, max: number, description: string): TaskParamSpec {
  return { name, description, default: def, min, max, integer: true };
}
