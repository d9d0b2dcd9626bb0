// The train suite: whole training steps (AdamW) of the tiny byte-level model (embedding → 4 × [short conv,
// SwiGLU] → tied head) at the handbook's "small" grid point (d=256, 4 layers, T=512, B=16), and of seven
// architectures from the templates (GLA, Mamba-2, HGRN2, minGRU, Gated DeltaNet, LSTM, Llama) in the
// issue's small and medium configurations. `bench/torch/train.py` runs the tiny model in PyTorch; rows
// share names.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../../gpu/engine.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { createParams, countParams } from '../../gpu/nn/module.js';
import { tinyLoss, tinyParamSpecs, type TinyConfig } from '../../gpu/nn/tiny.js';
import { StepExecutor, type Batch } from '../../gpu/train/step.js';
import { rng } from '../../gpu/cpu/tensor.js';
import { formatTimings } from '../../gpu/profile.js';
import type { BenchRow, BenchSuite } from '../suite.js';

function randomBatch(batch: number, seqLen: number, vocab: number, seed: number): Batch {
  const next = rng(seed);
  const inputs = Int32Array.from({ length: batch * seqLen }, () => Math.floor(next() * vocab));
  const targets = Int32Array.from({ length: batch * seqLen }, () => Math.floor(next() * vocab));
  return { inputs, targets, batch, seqLen };
}

/** Warm-up, an optional profiled step, then `iters` steps in flight: one row. */
async function timeSteps(
  engine: Engine,
  executor: StepExecutor,
  batches: Batch[],
  iters: number,
  row: { name: string; config: Record<string, number | string>; minBytes: number },
): Promise<BenchRow> {
  // Warm-up: pipelines compile and the pool reaches its steady state.
  for (let i = 0; i < 3; i++) await executor.run(batches[i % batches.length]);
  if (process.env.STATELAB_PROFILE === '1') {
    // One step with every kernel timed on the GPU (each dispatch in its own timed pass), printed.
    engine.startProfile();
    await executor.run(batches[0]);
    console.log(`${row.name}\n${formatTimings(await engine.stopProfile())}`);
  }
  engine.pool.resetPeak();
  const started = performance.now();
  const runs = [];
  for (let i = 0; i < iters; i++) runs.push(executor.run(batches[i % batches.length]));
  const results = await Promise.all(runs);
  await engine.sync();
  const ms = (performance.now() - started) / iters;
  const encode = results.map((r) => r.encodeMs).sort((a, b) => a - b);
  if (!results.every((r) => Number.isFinite(r.loss))) throw new Error(`train bench ${row.name}: non-finite loss`);
  const first = batches[0];
  const tokens = first.batch * first.seqLen;
  return {
    suite: 'train',
    name: row.name,
    config: row.config,
    ms,
    tokensPerSec: (tokens * 1000) / ms,
    peakBytes: engine.pool.stats.peakBytesInUse,
    // A lower bound on what training must hold: parameters, gradients and two Adam moments (16 B/param),
    // the logits (the loss backward needs them) and one hidden state per layer per token.
    minBytes: row.minBytes,
    encodeMs: encode[Math.floor(encode.length / 2)],
    note: `loss ${results[results.length - 1].loss.toFixed(3)}`,
  };
}

async function measure(
  engine: Engine,
  config: TinyConfig,
  batch: number,
  seqLen: number,
  iters: number,
): Promise<BenchRow> {
  const specs = tinyParamSpecs(config);
  const params = createParams(engine, specs, 1);
  const executor = new StepExecutor(engine, params, (p, x, y) => tinyLoss(config, p, x, y), {
    optimizer: { lr: 1e-3 },
    maxInFlight: 4,
  });
  const batches = [0, 1, 2, 3].map((s) => randomBatch(batch, seqLen, config.vocabSize, s));
  const n = countParams(specs);
  const row = await timeSteps(engine, executor, batches, iters, {
    name: `tiny d=${config.dModel} L=${config.layers} T=${seqLen} B=${batch}`,
    config: { dModel: config.dModel, layers: config.layers, seqLen, batch, params: n },
    minBytes: 16 * n + 4 * batch * seqLen * (config.vocabSize + config.layers * config.dModel),
  });
  executor.destroy();
  for (const p of params.values()) p.release();
  engine.pool.trim();
  return row;
}

// ---------------------------------------------------------------- the seven architectures (issue 11)

/** Templates of the architectures the issue benchmarks; each block is one layer (mixer + MLP). */
export const TRAIN_ARCHS = ['gla', 'mamba2', 'hgrn2', 'mingru', 'gated-deltanet', 'lstm', 'llama'];

export const TRAIN_CONFIGS = {
  small: { dModel: 256, layers: 4, seqLen: 512, batch: 16 },
  medium: { dModel: 512, layers: 8, seqLen: 1024, batch: 8 },
  quick: { dModel: 32, layers: 2, seqLen: 32, batch: 2 },
};

/** A template resized: d_model, the Repeat count (layers), a byte vocabulary. */
export function sizedTemplate(arch: string, dModel: number, layers: number): GraphDoc {
  const doc = parseGraph(readFileSync(join(process.cwd(), 'assets', 'templates', `${arch}.json`), 'utf8'), arch);
  doc.model = { ...doc.model, d_model: dModel, vocab_size: 256 };
  const repeat = doc.nodes.find((n) => n.kind === 'repeat');
  if (!repeat) throw new Error(`train bench: template ${arch} has no Repeat node`);
  repeat.params = { ...repeat.params, count: layers };
  return doc;
}

async function measureGraph(
  engine: Engine,
  arch: string,
  size: keyof typeof TRAIN_CONFIGS,
  iters: number,
): Promise<BenchRow> {
  const c = TRAIN_CONFIGS[size];
  const model = compileGraph(sizedTemplate(arch, c.dModel, c.layers));
  const params = createParams(engine, model.specs, 1);
  const executor = new StepExecutor(engine, params, (p, x, y) => model.loss(p, x, y), {
    optimizer: { lr: 1e-3 },
    maxInFlight: 4,
  });
  try {
    const batches = [0, 1, 2, 3].map((s) => randomBatch(c.batch, c.seqLen, 256, s));
    return await timeSteps(engine, executor, batches, iters, {
      name: `${arch} ${size} d=${c.dModel} L=${c.layers} T=${c.seqLen} B=${c.batch}`,
      config: { arch, size, ...c, params: countParams(model.specs) },
      minBytes: 16 * countParams(model.specs) + 4 * c.batch * c.seqLen * (256 + c.layers * c.dModel),
    });
  } finally {
    executor.destroy();
    for (const p of params.values()) p.release();
    engine.pool.trim();
  }
}

export const trainSuite: BenchSuite = {
  name: 'train',
  async run(engine, { quick }) {
    const base: TinyConfig = {
      vocabSize: 256,
      dModel: 256,
      layers: 4,
      mlpHidden: 704,
      convKernel: 4,
      tiedEmbeddings: true,
    };
    // BENCH_ARCHS=gla,lstm (or "none") picks the architectures; BENCH_SIZES=small,medium the configurations.
    const archs = (process.env.BENCH_ARCHS ?? TRAIN_ARCHS.join(',')).split(',').filter((a) => TRAIN_ARCHS.includes(a));
    const sizes = quick
      ? (['quick'] as const)
      : ((process.env.BENCH_SIZES ?? 'small,medium').split(',') as (keyof typeof TRAIN_CONFIGS)[]);
    const rows = [
      quick
        ? await measure(engine, { ...base, dModel: 32, layers: 2, mlpHidden: 64 }, 2, 32, 3)
        : await measure(engine, base, 16, 512, 20),
    ];
    for (const size of sizes)
      for (const arch of archs) {
        try {
          rows.push(await measureGraph(engine, arch, size, quick ? 2 : size === 'medium' ? 8 : 16));
        } catch (error) {
          // One architecture failing (out of memory at medium size, say) is reported, not fatal.
          console.error(`train bench ${arch} ${size}: ${(error as Error).message}`);
        }
      }
    return rows;
  },
};

export default trainSuite;
