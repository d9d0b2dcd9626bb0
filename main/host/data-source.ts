// Turns a data spec (a text file, or a synthetic task) into the trainer's batch source and a fixed set
// of validation batches. Positions are "batches drawn so far" on a seeded stream, so restoring a position
// replays exactly the batches an uninterrupted run would have seen.

import { readFileSync, statSync } from 'node:fs';
import type { Batch } from '../../gpu/train/step.js';
import type { BatchSource } from '../../gpu/train/trainer.js';
import { seededWindows } from '../../gpu/train/windows.js';

export type DataSpec =
  | { kind: 'text'; path: string; tokenizer: 'byte'; validationFraction?: number }
  | { kind: 'task'; task: string; params?: Record<string, number> };

export interface DataSource {
  train: BatchSource;
  validation(count: number): Batch[] | null;
  vocabSize: number;
}

export interface DataShape {
  vocabSize: number;
  batch: number;
  seqLen: number;
  seed: number;
}

export async function openDataSource(spec: DataSpec, shape: DataShape): Promise<DataSource> {
  if (spec.kind === 'text') return textSource(spec, shape);
  throw new Error(`data: synthetic task "${spec.task}" is not available yet`);
}

function readUtf8Bytes(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    bytes = new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new Error(`data: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    throw new Error(
      `data: ${path} is not UTF-8 text (invalid byte 0x${bytes[offset].toString(16)} at byte offset ${offset})`,
    );
  }
  return bytes;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, by bisection (a prefix may end inside a multi-byte character, so allow 3 bytes).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    let ok = false;
    for (let cut = mid; cut >= Math.max(lo, mid - 3) && !ok; cut--) {
      try {
        decoder.decode(bytes.subarray(0, cut));
        ok = cut === mid;
      } catch {
        break;
      }
    }
    if (ok) lo = mid;
    else hi = mid - 1;
  }
  return Math.min(lo, bytes.length - 1);
}

function textSource(spec: Extract<DataSpec, { kind: 'text' }>, shape: DataShape): DataSource {
  if (shape.vocabSize < 256)
    throw new Error(`data: byte-level text needs vocab_size ≥ 256 (the graph has ${shape.vocabSize})`);
  const bytes = readUtf8Bytes(spec.path);
  const window = shape.seqLen + 1;
  const fraction = spec.validationFraction ?? 0.1;
  const split = Math.floor(bytes.length * (1 - fraction));
  const train = bytes.subarray(0, split);
  const validation = bytes.subarray(split);
  if (bytes.length === 0) throw new Error(`data: ${spec.path} is empty`);
  if (train.length < window + 1) {
    throw new Error(
      `data: ${spec.path} has ${train.length} training bytes, fewer than one window of ${window} (use a shorter --seq)`,
    );
  }
  return {
    vocabSize: 256,
    train: seededWindows(train, shape, shape.seed),
    validation: (count) => {
      if (validation.length < window + 1) return null;
      const source = seededWindows(validation, shape, shape.seed ^ 0x5eed);
      return Array.from({ length: count }, () => source.next());
    },
  };
}
