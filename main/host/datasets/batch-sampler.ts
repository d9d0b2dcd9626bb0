// Training batches from a token array: each batch is B windows of T+1 consecutive tokens (inputs are the
// first T, targets the last T), at random starts. A window's start is a hash of (seed, batch number, row),
// not a step of a running generator, so the sampler's whole state is "how many batches were drawn":
// position() is a small JSON object, and restore() jumps straight back to it — a resumed run sees exactly
// the batches an uninterrupted run would have seen, whatever happened in between. The tokens may be an
// array or a TokenSource (a token cache on disk): a window is one read(start, T+1) either way, so the two
// give identical batches.

import { Rng } from '../../../shared/tasks/random.js';
import { DatasetError } from './errors.js';
import { asTokenSource, type TokenSource } from './token-source.js';

export interface SamplerPosition {
  kind: 'random-windows';
  seed: number;
  batch: number;
  seqLen: number;
  /** Length of the token array, to catch a position restored onto different data. */
  tokens: number;
  /** Batches drawn so far. */
  drawn: number;
}

export interface WindowBatch {
  /** [batch, seqLen + 1] row-major. */
  windows: Int32Array;
  batch: number;
  seqLen: number;
}

export class BatchSampler {
  private drawn = 0;
  private readonly tokens: TokenSource;

  constructor(
    tokens: Int32Array | TokenSource,
    private readonly shape: { batch: number; seqLen: number; seed: number },
    private readonly source = 'dataset',
  ) {
    this.tokens = asTokenSource(tokens);
    const { batch, seqLen, seed } = shape;
    if (!Number.isInteger(batch) || batch < 1)
      throw new DatasetError(source, `batch size ${batch} must be a positive integer`);
    if (!Number.isInteger(seqLen) || seqLen < 1)
      throw new DatasetError(source, `sequence length ${seqLen} must be a positive integer`);
    if (!Number.isSafeInteger(seed)) throw new DatasetError(source, `seed ${seed} must be an integer`);
    if (tokens.length < seqLen + 1)
      throw new DatasetError(
        source,
        `${tokens.length} tokens are fewer than one window of ${seqLen + 1} (sequence length + 1); use a shorter sequence or more data`,
      );
  }

  next(): WindowBatch {
    const batch = this.batchAt(this.drawn);
    this.drawn++;
    return batch;
  }

  /** Batch number `index` of this seed's stream (what the index-th call to next() returns). */
  batchAt(index: number): WindowBatch {
    const { batch, seqLen, seed } = this.shape;
    const window = seqLen + 1;
    const starts = this.tokens.length - window + 1;
    const windows = new Int32Array(batch * window);
    for (let row = 0; row < batch; row++) {
      const start = new Rng(seed, index, row).int(starts);
      this.tokens.read(start, window, windows.subarray(row * window, (row + 1) * window));
    }
    return { windows, batch, seqLen };
  }

  position(): SamplerPosition {
    const { batch, seqLen, seed } = this.shape;
    return { kind: 'random-windows', seed, batch, seqLen, tokens: this.tokens.length, drawn: this.drawn };
  }

  restore(position: unknown): void {
    const p = position as Partial<SamplerPosition> | null;
    const where = `${this.source}: saved data position`;
    if (!p || p.kind !== 'random-windows' || !Number.isSafeInteger(p.drawn) || p.drawn! < 0)
      throw new DatasetError(where, `${JSON.stringify(position)} is not a random-windows position`);
    const mine = this.position();
    for (const key of ['seed', 'batch', 'seqLen', 'tokens'] as const) {
      if (p[key] !== mine[key])
        throw new DatasetError(where, `was saved with ${key} ${p[key]}, but this run has ${mine[key]}`);
    }
    this.drawn = p.drawn!;
  }
}

/** Splits [B, T+1] windows into next-token inputs [B, T] and targets [B, T]. */
export function inputsAndTargets({ windows, batch, seqLen }: WindowBatch): { inputs: Int32Array; targets: Int32Array } {
  const inputs = new Int32Array(batch * seqLen);
  const targets = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    const row = windows.subarray(b * (seqLen + 1), (b + 1) * (seqLen + 1));
    inputs.set(row.subarray(0, seqLen), b * seqLen);
    targets.set(row.subarray(1), b * seqLen);
  }
  return { inputs, targets };
}

/**
 * Non-overlapping windows from the start of the tokens, in order: a fixed evaluation set (the same
 * batches every time). Returns at most `maxBatches` full batches; fewer if the tokens run out.
 */
export function sequentialBatches(
  tokens: Int32Array | TokenSource,
  shape: { batch: number; seqLen: number },
  maxBatches = Infinity,
): WindowBatch[] {
  const window = shape.seqLen + 1;
  const perBatch = shape.batch * window;
  const out: WindowBatch[] = [];
  const source = asTokenSource(tokens);
  // Consecutive windows share no tokens: window k covers [k·window, (k+1)·window).
  for (let offset = 0; offset + perBatch <= source.length && out.length < maxBatches; offset += perBatch) {
    out.push({ windows: source.read(offset, perBatch), batch: shape.batch, seqLen: shape.seqLen });
  }
  return out;
}
