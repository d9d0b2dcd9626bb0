// Turns a data spec — a local dataset file (txt, JSONL, CSV/TSV, Parquet) with a tokenizer, or a seeded
// synthetic task — into the trainer's batch source and a fixed set of validation batches. Positions are
// "batches drawn so far" on a seeded stream, so a resumed run sees exactly the batches an uninterrupted
// run would have seen. Text tokens stay in memory up to a budget; beyond it they live in a token cache on
// disk (datasets/token-store.ts) that later runs on the same file and tokenizer reuse.

import { existsSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, resolve } from 'node:path';
import { ByteTokenizer, CharTokenizer, trainBpe, type Tokenizer } from '../../shared/tokenizers/index.js';
import { generateTaskBatch, resolveTask, TaskSampler } from '../../shared/tasks/index.js';
import type { Batch } from '../../gpu/train/step.js';
import type { BatchSource } from '../../gpu/train/trainer.js';
import {
  BatchSampler,
  detectFormat,
  describeFsError,
  DatasetError,
  inputsAndTargets,
  loadTokenizerFile,
  openTokenStore,
  readDataset,
  yieldsDocuments,
  type DatasetFormat,
} from './datasets/index.js';

/** byte (256 ids), char (built from the data), bpe:<vocab> (trained on the data), or a tokenizer.json path. */
export type TokenizerSpec = string;

export type DataSpec =
  | {
      kind: 'text';
      path: string;
      tokenizer: TokenizerSpec;
      format?: DatasetFormat;
      /** JSONL field / CSV or Parquet column holding the text (default "text"). */
      field?: string;
      validationFraction?: number;
    }
  | { kind: 'task'; task: string; params?: Record<string, number> };

export interface DataSource {
  train: BatchSource;
  validation(count: number): Batch[] | null;
  vocabSize: number;
  /** The tokenizer of a text source (saved beside the run as tokenizer.json). */
  tokenizer?: Tokenizer;
  /** Sequence length actually used (a task fixes its own). */
  seqLen: number;
  /** The token cache file the batches are read from; absent when the tokens are in memory. */
  cacheFile?: string;
  /** Closes the token cache file, if one is open. */
  close(): void;
}

export interface DataOptions {
  /** Where token caches live (e.g. `<runs>/.cache/tokens`); without it tokens always stay in memory. */
  cacheDir?: string;
  /** Bytes of tokens held in memory before they go to the cache. Default: defaultDataMemoryBytes(). */
  memoryBudgetBytes?: number;
  onLog?: (message: string) => void;
}

/**
 * The in-memory token budget: STATELAB_DATA_MEMORY_MB when set, else an eighth of the machine's memory up to
 * 1 GiB (256M tokens) — the model, the optimizer and the GPU driver need the rest. Where tokens live never
 * changes the batches, only how much memory they take.
 */
export function defaultDataMemoryBytes(): number {
  const env = process.env.STATELAB_DATA_MEMORY_MB;
  if (env !== undefined && env !== '') {
    const mb = Number(env);
    if (!(mb > 0)) throw new Error(`STATELAB_DATA_MEMORY_MB=${env}: must be a positive number of MiB`);
    return mb * 2 ** 20;
  }
  return Math.min(2 ** 30, Math.floor(totalmem() / 8));
}

export interface DataShape {
  vocabSize: number;
  batch: number;
  seqLen: number;
  seed: number;
}

export async function openDataSource(spec: DataSpec, shape: DataShape, options: DataOptions = {}): Promise<DataSource> {
  return spec.kind === 'task' ? taskSource(spec, shape) : fileSource(spec, shape, options);
}

function checkVocab(source: string, needed: number, graphVocab: number): void {
  if (needed > graphVocab) {
    throw new Error(
      `data: ${source} needs a vocabulary of ${needed} ids, but the graph's vocab_size is ${graphVocab}; raise model.vocab_size`,
    );
  }
}

async function makeTokenizer(
  spec: TokenizerSpec,
  texts: () => AsyncIterable<string>,
  source: string,
  options: { maxTrainingChars: number; onLog?: (message: string) => void },
): Promise<Tokenizer> {
  if (spec === 'byte') return new ByteTokenizer();
  if (spec === 'char') return CharTokenizer.fromStream(texts());
  const bpe = /^bpe:(\d+)$/.exec(spec);
  if (bpe) {
    // The BPE trainer holds its text in memory: a dataset larger than the budget trains it on its start.
    const collected: string[] = [];
    let chars = 0;
    for await (const text of texts()) {
      collected.push(text.slice(0, options.maxTrainingChars - chars));
      chars += collected[collected.length - 1].length;
      if (chars >= options.maxTrainingChars) {
        options.onLog?.(`${source}: BPE trained on the first ${chars} characters (the data memory budget)`);
        break;
      }
    }
    return trainBpe(collected, { vocabSize: Number(bpe[1]) });
  }
  if (spec.endsWith('.json') && existsSync(spec)) return loadTokenizerFile(spec);
  throw new Error(
    `data: unknown tokenizer "${spec}" for ${source} (use byte, char, bpe:<vocab size>, or a tokenizer.json path)`,
  );
}

async function fileSource(
  spec: Extract<DataSpec, { kind: 'text' }>,
  shape: DataShape,
  options: DataOptions,
): Promise<DataSource> {
  const source = basename(spec.path);
  const format = spec.format ?? detectFormat(spec.path);
  const texts = () => readDataset({ path: spec.path, format, field: spec.field });
  const budget = options.cacheDir ? (options.memoryBudgetBytes ?? defaultDataMemoryBytes()) : Infinity;
  const tokenizer = await makeTokenizer(spec.tokenizer ?? 'byte', texts, source, {
    maxTrainingChars: Math.max(1, Math.floor(budget / 2)),
    onLog: options.onLog,
  });
  checkVocab(`${source} with the ${tokenizer.kind} tokenizer`, tokenizer.vocabSize, shape.vocabSize);
  // Records (JSONL/CSV/Parquet rows) are separated by the tokenizer's end-of-text token when it has one.
  const separator = yieldsDocuments(format)
    ? tokenizer.specialTokens.find((t) => t.content === '<|endoftext|>')?.id
    : undefined;
  const stream = await openTokenStore(texts, tokenizer, {
    validationFraction: spec.validationFraction ?? 0.1,
    separatorId: separator,
    source: spec.path,
    cacheDir: options.cacheDir,
    fingerprint: options.cacheDir ? fileFingerprint(spec.path, format, spec.field ?? 'text') : undefined,
    memoryBudgetBytes: budget,
    onLog: options.onLog,
  });
  const sampler = new BatchSampler(
    stream.train,
    { batch: shape.batch, seqLen: shape.seqLen, seed: shape.seed },
    spec.path,
  );
  const toBatch = (w: ReturnType<BatchSampler['next']>): Batch => ({
    ...inputsAndTargets(w),
    batch: w.batch,
    seqLen: w.seqLen,
  });
  return {
    vocabSize: tokenizer.vocabSize,
    tokenizer,
    seqLen: shape.seqLen,
    ...(stream.cacheFile ? { cacheFile: stream.cacheFile } : {}),
    close: () => stream.close(),
    train: {
      next: () => toBatch(sampler.next()),
      position: () => sampler.position(),
      restore: (p) => sampler.restore(p),
    },
    validation: (count) => {
      if (stream.validation.length < shape.seqLen + 1) return null;
      // A separate seeded stream over the held-out tokens: the same batches at every evaluation.
      const held = new BatchSampler(
        stream.validation,
        { batch: shape.batch, seqLen: shape.seqLen, seed: shape.seed + 1 },
        spec.path,
      );
      return Array.from({ length: count }, () => toBatch(held.next()));
    },
  };
}

function taskSource(spec: Extract<DataSpec, { kind: 'task' }>, shape: DataShape): DataSource {
  const params = spec.params ?? {};
  const resolved = resolveTask(spec.task, params);
  checkVocab(`task ${spec.task}`, resolved.vocabSize, shape.vocabSize);
  const sampler = new TaskSampler(spec.task, params, { batch: shape.batch, seed: shape.seed });
  const toBatch = (b: ReturnType<TaskSampler['next']>): Batch => ({
    inputs: b.inputs,
    targets: b.targets,
    batch: b.batch,
    seqLen: b.seqLen,
  });
  return {
    vocabSize: resolved.vocabSize,
    seqLen: resolved.seqLen,
    close: () => {},
    train: {
      next: () => toBatch(sampler.next()),
      position: () => sampler.position(),
      restore: (p) => sampler.restore(p),
    },
    validation: (count) =>
      Array.from({ length: count }, (_, i) =>
        toBatch(
          generateTaskBatch(spec.task, params, {
            seed: shape.seed,
            count: shape.batch,
            start: i * shape.batch,
            split: 'validation',
          }),
        ),
      ),
  };
}

/** What a file's tokens depend on besides the tokenizer: an edited (resized or touched) file is a new cache. */
function fileFingerprint(path: string, format: DatasetFormat, field: string) {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new DatasetError(path, `cannot read (${describeFsError(error)})`);
  }
  return {
    format: 'statelab-tokens-1',
    path: resolve(path),
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    dataFormat: format,
    field: format === 'txt' ? null : field,
  };
}
