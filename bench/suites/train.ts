// The train suite: whole training steps of the tiny byte-level model (embedding → 4 × [short conv,
// SwiGLU] → tied head, AdamW) at the handbook's "small" grid point (d=256, 4 layers, T=512, B=16).
// `bench/torch/train.py` runs the same model in PyTorch; rows share names.

import type { Engine } from '../../gpu/engine.js';
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
  // Warm-up: pipelines compile and the pool reaches its steady state.
  for (let i = 0; i < 3; i++) await executor.run(batches[i % 4]);
  if (process.env.STATELAB_PROFILE === '1') {
    // One step with every kernel timed on the GPU (each dispatch in its own timed pass), printed.
    engine.startProfile();
    await executor.run(batches[0]);
    console.log(formatTimings(await engine.stopProfile()));
  }
  engine.pool.resetPeak();
  const encode: number[] = [];
  const started = performance.now();
  const runs = [];
  for (let i = 0; i < iters; i++) runs.push(executor.run(batches[i % 4]));
  const results = await Promise.all(runs);
  await engine.sync();
  const ms = (performance.now() - started) / iters;
  for (const r of results) encode.push(r.encodeMs);
  encode.sort((a, b) => a - b);
  if (!results.every((r) => Number.isFinite(r.loss))) throw new Error('train bench: non-finite loss');
  const n = countParams(specs);
  const tokens = batch * seqLen;
  // A lower bound on what training must hold: parameters, gradients and two Adam moments (16 B/param),
  // the logits (the loss backward needs them) and one hidden state per layer per token.
  const minBytes = 16 * n + 4 * tokens * (config.vocabSize + config.layers * config.dModel);
  const row: BenchRow = {
    suite: 'train',
    name: `tiny d=${config.dModel} L=${config.layers} T=${seqLen} B=${batch}`,
    config: { dModel: config.dModel, layers: config.layers, seqLen, batch, params: n },
    ms,
    tokensPerSec: (tokens * 1000) / ms,
    peakBytes: engine.pool.stats.peakBytesInUse,
    minBytes,
    encodeMs: encode[Math.floor(encode.length / 2)],
    note: `loss ${results[results.length - 1].loss.toFixed(3)}`,
  };
  executor.destroy();
  for (const p of params.values()) p.release();
  engine.pool.trim();
  return row;
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
    if (quick) return [await measure(engine, { ...base, dModel: 32, layers: 2, mlpHidden: 64 }, 2, 32, 3)];
    return [await measure(engine, base, 16, 512, 20)];
  },
};

export default trainSuite;
