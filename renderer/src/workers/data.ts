// Batch sources for the Worker that replay the CLI's data pipeline (main/host/data-source.ts) exactly:
// random windows whose starts hash (seed, batch number, row) over the training tokens, validation
// windows from a second stream (seed + 1), and synthetic tasks from shared/tasks' resumable sampler. The
// renderer may not import main/, so the window sampler is mirrored here;
// tests/host/app-worker-data.test.ts checks batch for batch that it matches the CLI's.

import type { Batch } from '../../../gpu/train/step';
import type { BatchSource } from '../../../gpu/train/trainer';
import { generateTaskBatch, Rng, TaskSampler } from '../../../shared/tasks/index';
import type { TokenData } from '../../../shared/lab-api';
import type { WorkerData } from './protocol';

/** The host's token bytes (int32 little-endian) as the Worker's token arrays. */
export function workerTokens(tokens: TokenData): WorkerData {
  const view = (bytes: Uint8Array) => new Int32Array(bytes.slice().buffer);
  return {
    kind: 'tokens',
    train: view(tokens.train),
    validation: view(tokens.validation),
    vocabSize: tokens.vocabSize,
    tokenizer: tokens.tokenizer,
  };
}

export interface WorkerDataSource {
  train: BatchSource;
  validation(count: number): Batch[] | null;
  vocabSize: number;
}

interface WindowPosition {
  kind: 'random-windows';
  seed: number;
  batch: number;
  seqLen: number;
  tokens: number;
  drawn: number;
}

/** Random next-token windows of `seqLen + 1` tokens; the position is the number of batches drawn. */
export function randomWindows(tokens: Int32Array, shape: { batch: number; seqLen: number; seed: number }): BatchSource {
  const { batch, seqLen, seed } = shape;
  const window = seqLen + 1;
  if (tokens.length < window) {
    throw new RangeError(
      `${tokens.length} tokens are fewer than one window of ${window} (sequence length + 1); use a shorter sequence or more data`,
    );
  }
  let drawn = 0;
  const at = (index: number): Batch => {
    const starts = tokens.length - window + 1;
    const inputs = new Int32Array(batch * seqLen);
    const targets = new Int32Array(batch * seqLen);
    for (let row = 0; row < batch; row++) {
      const start = new Rng(seed, index, row).int(starts);
      inputs.set(tokens.subarray(start, start + seqLen), row * seqLen);
      targets.set(tokens.subarray(start + 1, start + window), row * seqLen);
    }
    return { inputs, targets, batch, seqLen };
  };
  const position = (): WindowPosition => ({
    kind: 'random-windows',
    seed,
    batch,
    seqLen,
    tokens: tokens.length,
    drawn,
  });
  return {
    next: () => at(drawn++),
    position,
    restore(saved) {
      const p = saved as Partial<WindowPosition> | null;
      const mine = position();
      if (!p || p.kind !== 'random-windows' || !Number.isSafeInteger(p.drawn) || p.drawn! < 0) {
        throw new Error(`data: saved position ${JSON.stringify(saved)} is not a random-windows position`);
      }
      for (const key of ['seed', 'batch', 'seqLen', 'tokens'] as const) {
        if (p[key] !== mine[key])
          throw new Error(`data: position was saved with ${key} ${p[key]}, this run has ${mine[key]}`);
      }
      drawn = p.drawn!;
    },
  };
}

export function openWorkerData(
  data: WorkerData,
  shape: { batch: number; seqLen: number; seed: number },
  graphVocab: number,
): WorkerDataSource {
  if (data.kind === 'tokens') {
    if (data.vocabSize > graphVocab) {
      throw new Error(
        `data: the ${data.tokenizer} tokenizer needs a vocabulary of ${data.vocabSize} ids, but the graph's vocab_size is ${graphVocab}`,
      );
    }
    return {
      vocabSize: data.vocabSize,
      train: randomWindows(data.train, shape),
      validation: (count) => {
        if (data.validation.length < shape.seqLen + 1) return null;
        const held = randomWindows(data.validation, { ...shape, seed: shape.seed + 1 });
        return Array.from({ length: count }, () => held.next());
      },
    };
  }
  const sampler = new TaskSampler(data.task, data.params, { batch: shape.batch, seed: shape.seed });
  if (sampler.vocabSize > graphVocab) {
    throw new Error(
      `data: task ${data.task} needs a vocabulary of ${sampler.vocabSize} ids, but the graph's vocab_size is ${graphVocab}`,
    );
  }
  const toBatch = (b: { inputs: Int32Array; targets: Int32Array; batch: number; seqLen: number }): Batch => ({
    inputs: b.inputs,
    targets: b.targets,
    batch: b.batch,
    seqLen: b.seqLen,
  });
  return {
    vocabSize: sampler.vocabSize,
    train: {
      next: () => toBatch(sampler.next()),
      position: () => sampler.position(),
      restore: (p) => sampler.restore(p),
    },
    validation: (count) =>
      Array.from({ length: count }, (_, i) =>
        toBatch(
          generateTaskBatch(data.task, data.params, {
            seed: shape.seed,
            count: shape.batch,
            start: i * shape.batch,
            split: 'validation',
          }),
        ),
      ),
  };
}
