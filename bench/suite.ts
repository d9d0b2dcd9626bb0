// The shape of a benchmark suite (see ../shared/handbook/benchmarks.md): each suite measures the WebGPU
// side and returns rows; `bench/torch/<suite>.py` measures the PyTorch baseline of the same rows on the
// GPU machine, and `bench/run.ts` joins them into one table with a ratio column.

import type { Engine } from '../gpu/engine.js';

export interface BenchRow {
  suite: string;
  /** Matches the PyTorch side's row name exactly, e.g. "matmul 4096" or "gla fwd+bwd T=1024". */
  name: string;
  config: Record<string, number | string>;
  /** Median milliseconds per iteration on the GPU. */
  ms: number;
  tflops?: number;
  /** Achieved bandwidth for memory-bound rows (minBytes / ms). */
  gbPerSec?: number;
  /** Relative error of the correctness check run before timing. */
  checkError?: number;
  /** How the time was taken ('gpu-timestamps' or 'host'), iterations per sample. */
  clock?: string;
  tokensPerSec?: number;
  /** Pool high-water mark during the measured region. */
  peakBytes?: number;
  /** Analytical minimum bytes for the same work, where the suite can state it. */
  minBytes?: number;
  /** CPU time to encode one iteration (training steps). */
  encodeMs?: number;
  note?: string;
}

export interface BenchOptions {
  /** Tiny shapes for a smoke run on a software adapter (never quoted as performance). */
  quick: boolean;
}

export interface BenchSuite {
  name: string;
  run(engine: Engine, options: BenchOptions): Promise<BenchRow[]>;
}
