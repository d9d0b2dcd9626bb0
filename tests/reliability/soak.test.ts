// Soak: a long run of a tiny model (with evaluation and checkpoints along the way) must reach a steady
// state — after warm-up the buffer pool allocates no new GPU buffers, the bytes in use return to the same
// level, and host memory (JS heap after a forced GC, and RSS) stays flat. The figures are printed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../gpu/engine.js';
import type { Trainer } from '../../gpu/train/trainer.js';
import { trainRun } from '../../main/host/train-run.js';
import { tinyRequest } from './tiny-run.js';

const STEPS = 600;
/** Warm-up covers the first evaluation and checkpoint (step 100), whose read-back buffers join the pool. */
const WARMUP = 150;
const SAMPLE_EVERY = 50;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const root = mkdtempSync(join(tmpdir(), 'statelab-soak-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Sample {
  step: number;
  buffers: number;
  allocatedBytes: number;
  inUseBytes: number;
  heapBytes: number;
  rssBytes: number;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);

describe('soak', () => {
  it(`${STEPS} steps of a tiny model: buffer pool and host memory flat after ${WARMUP} warm-up steps`, async () => {
    let trainer: Trainer | null = null;
    const samples: Sample[] = [];
    const started = performance.now();
    const { outcome } = await trainRun(
      tinyRequest(join(root, 'runs'), {
        name: 'soak',
        steps: STEPS,
        evalEvery: 100,
        evalBatches: 2,
        checkpointEvery: 100,
      }),
      {
        onTrainer: (t) => (trainer = t),
        onMetrics: (row) => {
          const step = row.step + 1;
          if (step % SAMPLE_EVERY !== 0) return;
          const stats = (trainer as unknown as { engine: Engine }).engine.pool.stats;
          gc();
          const memory = process.memoryUsage();
          samples.push({
            step,
            buffers: stats.buffersAllocated,
            allocatedBytes: stats.bytesAllocated,
            inUseBytes: stats.bytesInUse,
            heapBytes: memory.heapUsed,
            rssBytes: memory.rss,
          });
        },
      },
    );
    const seconds = (performance.now() - started) / 1000;
    expect(outcome.status).toBe('completed');
    console.log(
      `soak: ${STEPS} steps in ${seconds.toFixed(1)} s (${((seconds * 1000) / STEPS).toFixed(1)} ms/step)\n` +
        '  step  buffers  pool MiB  in use MiB  heap MiB  rss MiB\n' +
        samples
          .map(
            (s) =>
              `  ${String(s.step).padStart(4)}  ${String(s.buffers).padStart(7)}  ${mib(s.allocatedBytes).padStart(8)}  ` +
              `${mib(s.inUseBytes).padStart(10)}  ${mib(s.heapBytes).padStart(8)}  ${mib(s.rssBytes).padStart(7)}`,
          )
          .join('\n'),
    );
    const steady = samples.filter((s) => s.step >= WARMUP);
    expect(steady.length).toBeGreaterThanOrEqual(9);
    const first = steady[0];
    const last = steady[steady.length - 1];
    // The GPU pool: no buffer allocated after warm-up, the same bytes in use at every sample.
    for (const s of steady) {
      expect(s.buffers, `buffers at step ${s.step}`).toBe(first.buffers);
      expect(s.allocatedBytes, `pool bytes at step ${s.step}`).toBe(first.allocatedBytes);
      expect(s.inUseBytes, `bytes in use at step ${s.step}`).toBe(first.inUseBytes);
    }
    // Host memory: the heap after GC grows by less than 2 MiB, RSS by less than 32 MiB (noisy: the driver's arenas swing by
    // tens of MiB) compared as the mean of the later half of the samples against the earlier half.
    const heapGrowth = last.heapBytes - first.heapBytes;
    const mean = (xs: Sample[]) => xs.reduce((sum, s) => sum + s.rssBytes, 0) / xs.length;
    const half = Math.floor(steady.length / 2);
    const rssGrowth = mean(steady.slice(half)) - mean(steady.slice(0, half));
    console.log(
      `soak: after warm-up, pool ${first.buffers} buffers / ${mib(first.allocatedBytes)} MiB (unchanged), ` +
        `heap ${heapGrowth >= 0 ? '+' : ''}${mib(heapGrowth)} MiB, rss ${rssGrowth >= 0 ? '+' : ''}${mib(rssGrowth)} MiB (mean of later vs earlier samples) over ${last.step - first.step} steps`,
    );
    expect(heapGrowth).toBeLessThan(2 * 2 ** 20);
    expect(rssGrowth).toBeLessThan(32 * 2 ** 20); // RSS swings by ±25 MiB between samples (measured)
  });
});
