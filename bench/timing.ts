// GPU timing for benchmarks (protocol: ../shared/handbook/benchmarks.md). One sample = `iters`
// iterations recorded back to back and submitted as one command buffer, divided by `iters`:
//  - with 'timestamp-query', two tiny passes submitted just before and after that command buffer
//    write GPU timestamps, so the sample is pure GPU time (CPU encoding is excluded);
//  - without it, the host clock from the first submit to the completion of the last, with a flush
//    every few iterations so the GPU runs while the CPU encodes (includes submit overhead).
// `iters` is raised until a sample lasts `minSampleMs`, so per-submit overhead (~40 µs) is amortized.

import type { Engine } from '../gpu/engine.js';

export interface TimingOptions {
  /** Untimed runs first (pipeline compilation, first-touch allocation); at least 3. */
  warmup?: number;
  /** Timed samples; the median is reported. At least 10 (3 for samples over a second). */
  samples?: number;
  /** Each sample should last at least this long. */
  minSampleMs?: number;
  maxIters?: number;
  /**
   * Keep the GPU busy this long before timing (after calibration), so an idle GPU's clocks have
   * ramped up: without it the first row of a run measured ~15% slow on an H100.
   */
  minWarmupMs?: number;
  /** Force the host clock even when timestamp queries exist (a cross-check). */
  hostClock?: boolean;
}

export interface Timing {
  /** Median milliseconds per iteration. */
  ms: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
  iters: number;
  /** Median host-clock ms per iteration over the same samples (encode + submit + GPU): a cross-check. */
  hostMs: number;
  clock: 'gpu-timestamps' | 'host';
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

class TimestampBracket {
  private querySet: GPUQuerySet;
  private resolveBuffer: GPUBuffer;
  private readBuffer: GPUBuffer;

  constructor(private device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    this.resolveBuffer = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.readBuffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** Submits an empty pass that writes timestamp `index` when the GPU reaches it in queue order. */
  mark(index: 0 | 1): void {
    const encoder = this.device.createCommandEncoder();
    const writes: GPUComputePassTimestampWrites =
      index === 0
        ? { querySet: this.querySet, beginningOfPassWriteIndex: 0 }
        : { querySet: this.querySet, endOfPassWriteIndex: 1 };
    encoder.beginComputePass({ timestampWrites: writes }).end();
    if (index === 1) {
      encoder.resolveQuerySet(this.querySet, 0, 2, this.resolveBuffer, 0);
      encoder.copyBufferToBuffer(this.resolveBuffer, 0, this.readBuffer, 0, 16);
    }
    this.device.queue.submit([encoder.finish()]);
  }

  async elapsedMs(): Promise<number> {
    await this.readBuffer.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigUint64Array(this.readBuffer.getMappedRange().slice(0));
    this.readBuffer.unmap();
    return Number(t1 - t0) / 1e6;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    this.readBuffer.destroy();
  }
}

/**
 * Times `step`, which records GPU work through the engine (it runs inside `engine.tidy`, so what it
 * allocates is released after each iteration).
 */
export async function timeGpu(engine: Engine, step: () => void, options: TimingOptions = {}): Promise<Timing> {
  const warmup = Math.max(3, options.warmup ?? 3);
  const samples = Math.max(3, options.samples ?? 10);
  const minSampleMs = options.minSampleMs ?? 20;
  const maxIters = options.maxIters ?? 2000;
  const useTimestamps = engine.ctx.hasTimestampQuery && !options.hostClock;
  const bracket = useTimestamps ? new TimestampBracket(engine.device) : null;

  const hostTimes: number[] = [];
  const sample = async (iters: number): Promise<number> => {
    await engine.sync();
    const start = performance.now();
    bracket?.mark(0);
    for (let i = 0; i < iters; i++) {
      engine.tidy(step);
      if (!bracket && i % 8 === 7) engine.flush();
    }
    engine.flush();
    bracket?.mark(1);
    await engine.sync();
    const hostMs = performance.now() - start;
    hostTimes.push(hostMs / iters);
    return (bracket ? await bracket.elapsedMs() : hostMs) / iters;
  };

  try {
    for (let i = 0; i < warmup; i++) await sample(1);
    let iters = 1;
    // Grow the sample until it is long enough to time well.
    for (;;) {
      const ms = await sample(iters);
      if (ms * iters >= minSampleMs || iters >= maxIters) break;
      iters = Math.min(maxIters, Math.max(iters * 2, Math.ceil((1.2 * minSampleMs) / Math.max(ms, 1e-4))));
    }
    const warmStart = performance.now();
    while (performance.now() - warmStart < (options.minWarmupMs ?? 200)) await sample(iters);
    const times: number[] = [];
    hostTimes.length = 0;
    for (let i = 0; i < samples; i++) times.push(await sample(iters));
    return {
      ms: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      samplesMs: times,
      iters,
      hostMs: median(hostTimes),
      clock: bracket ? 'gpu-timestamps' : 'host',
    };
  } finally {
    bracket?.destroy();
  }
}
