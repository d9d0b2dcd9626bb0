// Length extrapolation: the pure aggregation (per position, buckets, multiples, the factor) on scores
// with a known shape, then the host analysis on a tiny trained run — its streamed per-position loss equals
// one parallel forward over the same probe tokens, the file lands in runs/<id>/analyses — and the
// refusals: a run without checkpoints, a request over the memory budget.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buckets, extrapolationFactor, lossAtMultiples, positionLoss } from '../../gpu/analysis/extrapolation.js';
import { estimateStreamMemory, MemoryBudgetError } from '../../gpu/analysis/memory-estimate.js';
import { ProbeForward } from '../../gpu/analysis/probe-forward.js';
import { SCORE } from '../../gpu/analysis/token-scores.js';
import { runExtrapolation } from '../../main/host/analyses/extrapolation.js';
import { openRun, loadRun } from '../../main/host/analyses/run-model.js';
import { probeTokens } from '../../main/host/analyses/probes.js';
import { trainRun } from '../../main/host/train-run.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { load, parallelScores, template } from './helpers.js';

const engine = useEngine();
const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;

/** Scores [B, L, 3] whose loss at position t is f(t), every position scored. */
function scoresOf(batch: number, length: number, f: (t: number) => number): Float32Array {
  const s = new Float32Array(batch * length * 3);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < length; t++) {
      s[(b * length + t) * 3 + SCORE.NLL] = f(t) + (b ? 0.5 : -0.5);
      s[(b * length + t) * 3 + SCORE.SCORED] = 1;
    }
  return s;
}

describe('extrapolation aggregation', () => {
  it('averages over sequences per position and over buckets, token-weighted', () => {
    const p = positionLoss(
      scoresOf(2, 10, (t) => t),
      2,
      10,
    );
    expect(Array.from(p.loss)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const b = buckets(p, 4);
    expect(b.map((x) => [x.start, x.end, x.loss, x.tokens])).toEqual([
      [0, 4, 1.5, 8],
      [4, 8, 5.5, 8],
      [8, 10, 8.5, 4],
    ]);
  });

  it('loss at m × T is the window ending there; the factor stops at the first bucket over (1 + ε)', () => {
    // Flat at 2 nats up to 40 tokens, then 3 nats: with T = 10 the factor is 4 (breaks at position 40).
    const p = positionLoss(
      scoresOf(2, 160, (t) => (t < 40 ? 2 : 3)),
      2,
      160,
    );
    const m = lossAtMultiples(p, 10, [1, 2, 4, 8, 16, 32], 5);
    expect(m.map((x) => [x.multiple, x.start, x.end, x.loss])).toEqual([
      [1, 5, 10, 2],
      [2, 15, 20, 2],
      [4, 35, 40, 2],
      [8, 75, 80, 3],
      [16, 155, 160, 3],
    ]);
    const f = extrapolationFactor(p, 10, 5, 5, 0.1);
    expect(f).toMatchObject({ factor: 4, lowerBound: false, breaksAt: 40 });
    expect(f.referencePerplexity).toBeCloseTo(Math.exp(2), 10);
    // A flat curve never breaks: the factor is the probe's length, marked as a lower bound.
    expect(
      extrapolationFactor(
        positionLoss(
          scoresOf(1, 80, () => 1),
          1,
          80,
        ),
        10,
        5,
        5,
        0.1,
      ),
    ).toMatchObject({
      factor: 8,
      lowerBound: true,
      breaksAt: null,
    });
    // A non-finite bucket breaks it too.
    const nan = positionLoss(
      scoresOf(1, 40, (t) => (t === 25 ? NaN : 1)),
      1,
      40,
    );
    expect(extrapolationFactor(nan, 10, 5, 5, 0.1).breaksAt).toBe(25);
  });
});

describe('extrapolation of a run', () => {
  let runsDir = '';
  let runId = '';
  beforeAll(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'statelab-extrapolation-'));
    const { run, outcome } = await trainRun({
      graph: template('mamba'),
      data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
      runsDir,
      name: 'tiny',
      steps: 6,
      batch: 2,
      seqLen: 16,
      lr: 3e-3,
      seed: 1,
      evalEvery: 0,
      checkpointEvery: 6,
    });
    expect(outcome.status).toBe('completed');
    runId = run.id;
  });

  it('streams every probe to factor × T and matches one parallel forward; writes analyses/extrapolation.json', async () => {
    const e = await engine();
    const { path, results } = await runExtrapolation(e, {
      runsDir,
      run: runId,
      factor: 4,
      batch: 2,
      chunk: 5,
      bucket: 4,
    });
    expect(path).toBe(join(runsDir, runId, 'analyses', 'extrapolation.json'));
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    expect(saved).toMatchObject({ analysis: 'extrapolation', run: runId, step: 6, trainLength: 16 });
    expect(results.map((r) => r.probe)).toEqual(['validation', 'repeat', 'data-free']);
    const run = openRun(runsDir, runId);
    const loaded = loadRun(e, run);
    for (const r of results) {
      expect(r.length).toBe(64);
      expect(r.multiples.map((m) => m.multiple)).toEqual([1, 2, 4]);
      expect(r.buckets).toHaveLength(16);
      expect(r.extrapolation!.factor).toBeGreaterThan(0);
      // The oracle: the same probe tokens through one parallel forward of all 64 tokens.
      const tokens = await probeTokens(run, loaded.info, 256, r.probe, { batch: 2, length: 64, seed: 1 });
      const whole = await parallelScores(e, loaded, tokens.inputs, tokens.targets, 2, 64);
      const oracle = positionLoss(Float32Array.from(whole), 2, 64);
      expect(relativeError(r.positionLoss, oracle.loss)).toBeLessThan(1e-4);
    }
    // The data-free probe is one token repeated; the validation probe is held-out text (all scored).
    expect(results[2].description).toMatch(/data-free/);
    expect(saved.results[0].positionLoss).toHaveLength(64);
    loaded.release();
  });

  it('refuses a request over the memory budget with the estimate, and a run without checkpoints', async () => {
    const e = await engine();
    await expect(runExtrapolation(e, { runsDir, run: runId, factor: 2, memoryBudgetBytes: 1024 })).rejects.toThrow(
      /extrapolation: 32 tokens × batch 4 needs an estimated [\d.]+ MiB of GPU memory \(params/,
    );
    await expect(
      runExtrapolation(e, { runsDir, run: runId, factor: 2, memoryBudgetBytes: 1024 }),
    ).rejects.toBeInstanceOf(MemoryBudgetError);
    const store = new RunStore(runsDir);
    const empty = store.create(
      {
        name: 'empty',
        data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
        train: { seqLen: 16 },
        seed: 1,
        versions: {},
        device: {},
      },
      template('mamba'),
      {},
    );
    await expect(runExtrapolation(e, { runsDir, run: empty.id })).rejects.toThrow(/has no checkpoints/);
    expect(existsSync(join(empty.dir, 'analyses'))).toBe(false);
  });

  it('the memory estimate grows with the length for attention (KV cache), not for a recurrent model', async () => {
    const e = await engine();
    for (const [name, grows] of [
      ['llama', true],
      ['mamba', false],
    ] as const) {
      const m = load(e, template(name));
      const probe = new ProbeForward(m.model);
      const short = await estimateStreamMemory(e, probe, m.params, { batch: 2, chunk: 16, length: 1_000 });
      const long = await estimateStreamMemory(e, probe, m.params, { batch: 2, chunk: 16, length: 1_000_000 });
      if (grows) expect(long.stateBytes).toBeGreaterThan(500 * short.stateBytes);
      else expect(long.stateBytes).toBe(short.stateBytes);
      expect(long.chunkBytes).toBe(short.chunkBytes);
      for (const p of m.params.values()) p.release();
    }
  });
});
