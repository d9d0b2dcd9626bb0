// The token sequences the extrapolation and state probes stream through a model (evals.md §1, §3):
//   validation — held-out data of the run (the tail split of its dataset, or fresh task examples at the
//                probe length from the task's validation stream);
//   repeat     — one prompt repeated to the probe length (Stuffed Mamba's "capital" sentence by default);
//   data-free  — one token repeated ('\n' for text runs, Stuffed Mamba's cheap collapse detector).
// Each row holds length + 1 tokens: inputs are the first `length`, targets the next-token shift (task
// examples bring their own targets, −100 where unscored).

import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ByteTokenizer, type Tokenizer } from '../../../shared/tokenizers/index.js';
import { generateExamples } from '../../../shared/tasks/index.js';
import {
  buildTokenStream,
  detectFormat,
  loadTokenizerFile,
  readDataset,
  yieldsDocuments,
  type DatasetFormat,
} from '../datasets/index.js';
import type { Run, RunInfo } from '../runs/run-store.js';
import { AnalysisError } from './run-model.js';
import { taskAtLength } from './task-length.js';

export const PROBES = ['validation', 'repeat', 'data-free'] as const;
export type ProbeKind = (typeof PROBES)[number];

/** Stuffed Mamba's passkey filler (analysis/get_prompt.py uses a repeated sentence the same way). */
export const DEFAULT_REPEAT_PROMPT =
  'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ';

export interface ProbeTokens {
  inputs: Int32Array;
  targets: Int32Array;
  batch: number;
  length: number;
  /** What the rows are, in words (written into the analysis JSON). */
  description: string;
  notes: string[];
}

export interface ProbeOptions {
  batch: number;
  length: number;
  seed: number;
  prompt?: string;
  /** The data-free probe's token (default '\n' for text runs, 0 otherwise). */
  token?: number;
}

interface TextData {
  kind: 'text';
  path: string;
  tokenizer?: string;
  format?: DatasetFormat;
  field?: string;
  validationFraction?: number;
}
interface TaskData {
  kind: 'task';
  task: string;
  params?: Record<string, number>;
}

export function runData(info: RunInfo): TextData | TaskData {
  const data = info.data as { kind?: unknown; task?: unknown; path?: unknown };
  if (data.kind === 'task' && typeof data.task === 'string') return data as unknown as TaskData;
  if (data.kind === 'text' && typeof data.path === 'string') return data as unknown as TextData;
  throw new AnalysisError(
    `run ${info.id}: run.json's data ${JSON.stringify(info.data)} is neither a text file nor a task`,
  );
}

/** The tokenizer a text run was trained with (byte, or the tokenizer.json saved beside the run). */
export async function runTokenizer(run: Run, info: RunInfo): Promise<Tokenizer> {
  const data = runData(info);
  if (data.kind === 'task')
    throw new AnalysisError(`run ${run.id} was trained on the task "${data.task}": its tokens are not text`);
  if ((data.tokenizer ?? 'byte') === 'byte') return new ByteTokenizer();
  const saved = join(run.dir, 'tokenizer.json');
  if (existsSync(saved)) return loadTokenizerFile(saved);
  if (data.tokenizer?.endsWith('.json') && existsSync(data.tokenizer)) return loadTokenizerFile(data.tokenizer);
  throw new AnalysisError(
    `run ${run.id}: its tokenizer "${data.tokenizer}" was not saved beside the run (tokenizer.json)`,
  );
}

export async function probeTokens(
  run: Run,
  info: RunInfo,
  vocab: number,
  kind: ProbeKind,
  o: ProbeOptions,
): Promise<ProbeTokens> {
  const data = runData(info);
  if (kind === 'validation' && data.kind === 'task') return taskProbe(data, vocab, o);
  if (kind === 'data-free' && (data.kind === 'task' || o.token !== undefined)) {
    const token = o.token ?? 0;
    if (!Number.isInteger(token) || token < 0 || token >= vocab)
      throw new AnalysisError(`data-free probe: token ${token} is outside the vocabulary [0, ${vocab})`);
    return repeated([token], o, `token ${token} repeated`, []);
  }
  const tokenizer = await runTokenizer(run, info);
  if (kind === 'repeat') {
    const prompt = o.prompt ?? DEFAULT_REPEAT_PROMPT;
    const ids = tokenizer.encode(prompt);
    if (ids.length === 0) throw new AnalysisError('repeat probe: the prompt encodes to no tokens');
    return repeated(ids, o, `the prompt ${JSON.stringify(prompt.slice(0, 60))} (${ids.length} tokens) repeated`, []);
  }
  if (kind === 'data-free') {
    const [newline] = tokenizer.encode('\n');
    return repeated([newline], o, "'\\n' repeated (data-free)", []);
  }
  return textValidation(data as TextData, tokenizer, o);
}

function repeated(ids: readonly number[], o: ProbeOptions, description: string, notes: string[]): ProbeTokens {
  const row = Int32Array.from({ length: o.length + 1 }, (_, t) => ids[t % ids.length]);
  return shifted(
    Array.from({ length: o.batch }, () => row),
    o,
    description,
    notes,
  );
}

/** Rows of length + 1 tokens → inputs (first `length`) and next-token targets. */
function shifted(rows: Int32Array[], o: ProbeOptions, description: string, notes: string[]): ProbeTokens {
  const { batch, length } = o;
  const inputs = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length);
  rows.forEach((r, b) => {
    inputs.set(r.subarray(0, length), b * length);
    targets.set(r.subarray(1, length + 1), b * length);
  });
  return { inputs, targets, batch, length, description, notes };
}

async function textValidation(data: TextData, tokenizer: Tokenizer, o: ProbeOptions): Promise<ProbeTokens> {
  const format = data.format ?? detectFormat(data.path);
  const separator = yieldsDocuments(format)
    ? tokenizer.specialTokens.find((t) => t.content === '<|endoftext|>')?.id
    : undefined;
  const stream = await buildTokenStream(readDataset({ path: data.path, format, field: data.field }), tokenizer, {
    validationFraction: data.validationFraction ?? 0.1,
    separatorId: separator,
    source: data.path,
  });
  const held = stream.validation;
  if (held.length < 2) throw new AnalysisError(`validation probe: ${data.path} has no held-out tokens`);
  const need = o.length + 1;
  const notes: string[] = [];
  let rows: Int32Array[];
  if (held.length >= need) {
    // Windows spread evenly over the held-out tokens (they overlap when the split is short).
    const room = held.length - need;
    rows = Array.from({ length: o.batch }, (_, b) => {
      const start = o.batch > 1 ? Math.floor((b * room) / (o.batch - 1)) : 0;
      return held.slice(start, start + need);
    });
  } else {
    // Shorter than one probe: the held-out tokens are concatenated with themselves (marked, since a model
    // can then copy from earlier in the sequence), each row starting at another offset.
    notes.push(
      `the held-out split has ${held.length} tokens, fewer than the probe's ${need}: it is repeated end to end, ` +
        'so later positions can be predicted by copying (a lower bound on the true long-context loss)',
    );
    rows = Array.from({ length: o.batch }, (_, b) => {
      const offset = Math.floor((b * held.length) / o.batch);
      return Int32Array.from({ length: need }, (_, t) => held[(offset + t) % held.length]);
    });
  }
  return shifted(
    rows,
    o,
    `held-out tokens of ${data.path} (last ${data.validationFraction ?? 0.1} of the data)`,
    notes,
  );
}

function taskProbe(data: TaskData, vocab: number, o: ProbeOptions): ProbeTokens {
  const resolved = taskAtLength(data.task, data.params ?? {}, o.length);
  if (resolved.vocabSize > vocab)
    throw new AnalysisError(
      `task ${data.task} at length ${o.length} needs ${resolved.vocabSize} tokens; the model has ${vocab}`,
    );
  const examples = generateExamples(resolved.task, resolved.params, o.seed, 0, o.batch, 1);
  const length = examples.seqLen;
  return {
    inputs: examples.inputs,
    targets: examples.targets,
    batch: o.batch,
    length,
    description: `${o.batch} validation examples of the task ${data.task} at length ${length}`,
    notes: length !== o.length ? [`the task's length is ${length} (asked ${o.length})`] : [],
  };
}
