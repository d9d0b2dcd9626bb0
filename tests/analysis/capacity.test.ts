// State capacity and state tracking: the task layouts the probes ask for (a needle at the requested
// depth, MQAR with the requested pair count, parity at the requested length), the example scoring, and
// the run analyses — passkey heatmap, MQAR accuracy by KV count, accuracy by test length, capacity
// against state size across runs — each checked against one parallel forward over the same examples.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreExamples } from '../../gpu/analysis/recall.js';
import { SCORE } from '../../gpu/analysis/token-scores.js';
import { generateExamples, IGNORE_INDEX, PASSKEY } from '../../shared/tasks/index.js';
import { runCapacity, stateBytesAt } from '../../main/host/analyses/capacity.js';
import { runMqar } from '../../main/host/analyses/mqar.js';
import { runPasskey } from '../../main/host/analyses/passkey.js';
import { loadRun, openRun } from '../../main/host/analyses/run-model.js';
import { runStateTracking } from '../../main/host/analyses/state-tracking.js';
import { taskAtLength } from '../../main/host/analyses/task-length.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { useEngine } from '../helpers/gpu.js';
import { makeRun, parallelScores, template, withMixer } from './helpers.js';

const engine = useEngine();

describe('probe layouts', () => {
  it('passkey at a fixed depth and length: needle where asked, query and scored digits at the end', () => {
    const r = taskAtLength('passkey', { digits: 3, filler_tokens: 4, depth_min: 0, depth_max: 1 }, 40);
    for (const depth of [0.05, 0.5, 0.95]) {
      const p = taskAtLength('passkey', { ...r.params, depth_min: depth, depth_max: depth }, 40);
      const ex = generateExamples(p.task, p.params, 7, 0, 1, 1);
      const fillerLength = 40 + 1 - (2 * 3 + 3);
      expect(Array.from(ex.inputs).indexOf(PASSKEY.KEY)).toBe(Math.floor(depth * fillerLength));
      // S = filler KEY d END filler QUERY d has 41 tokens; inputs are its first 40, targets the shift.
      expect(ex.inputs[41 - 3 - 1]).toBe(PASSKEY.QUERY);
      const scored = Array.from(ex.targets)
        .map((t, i) => (t === IGNORE_INDEX ? -1 : i))
        .filter((i) => i >= 0);
      expect(scored).toEqual([37, 38, 39]);
      const key = Array.from(ex.inputs).indexOf(PASSKEY.KEY);
      expect(Array.from(ex.targets.subarray(37, 40))).toEqual(Array.from(ex.inputs.subarray(key + 1, key + 4)));
    }
  });

  it('MQAR with a pair count and parity at a length give those layouts; impossible ones are refused', () => {
    const m = taskAtLength('mqar', { vocab_size: 128, num_kv_pairs: 2, random_non_queries: 0 }, 64);
    const ex = generateExamples(m.task, { ...m.params, num_kv_pairs: 8 }, 1, 0, 1, 1);
    const keys = Array.from(ex.inputs.subarray(0, 16)).filter((_, i) => i % 2 === 0);
    expect(keys.every((k) => k >= 1 && k < 64)).toBe(true);
    expect(Array.from(ex.targets).filter((t) => t !== IGNORE_INDEX)).toHaveLength(8);
    expect(() => taskAtLength('mqar', { vocab_size: 64, num_kv_pairs: 2 }, 128)).toThrow(/vocab_size above seq_len/);
    const p = taskAtLength('parity', { min_bits: 3, max_bits: 40 }, 100);
    expect(p.seqLen).toBe(100);
    expect(generateExamples(p.task, p.params, 1, 0, 1, 1).inputs[99]).toBe(2); // EQ after exactly 99 bits
    expect(taskAtLength('modular-arithmetic', { modulus: 5, seq_len: 39 }, 100).seqLen).toBe(99);
  });

  it('scores an example by arg-max at its scored positions: fraction, all correct, last correct', () => {
    const targets = Int32Array.of(-100, 5, 6, -100, 7, 8);
    const scores = new Float32Array(18);
    const predicted = [0, 5, 1, 0, 7, 8];
    predicted.forEach((p, i) => {
      scores[3 * i + SCORE.ARGMAX] = p;
      scores[3 * i + SCORE.SCORED] = targets[i] === -100 ? 0 : 1;
    });
    const s = scoreExamples(scores, targets, 2, 3);
    expect(s.accuracy).toEqual([0.5, 1]);
    expect(s.allCorrect).toEqual([false, true]);
    expect(s.lastCorrect).toEqual([false, true]);
  });
});

describe('capacity analyses of task runs', () => {
  let runsDir = '';
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    const e = await engine();
    runsDir = mkdtempSync(join(tmpdir(), 'statelab-capacity-'));
    const task = (name: string, params: Record<string, number>) => ({ kind: 'task', task: name, params });
    ids.passkey = (
      await makeRun(e, runsDir, template('gla'), {
        seqLen: 0,
        data: task('passkey', { seq_len: 24, digits: 2, filler_tokens: 4 }),
        name: 'pk',
      })
    ).id;
    ids.mqarGla = (
      await makeRun(e, runsDir, template('gla'), {
        seqLen: 0,
        data: task('mqar', { vocab_size: 128, seq_len: 32, num_kv_pairs: 4 }),
        name: 'mq-gla',
      })
    ).id;
    ids.mqarAttn = (
      await makeRun(e, runsDir, template('llama'), {
        seqLen: 0,
        data: task('mqar', { vocab_size: 128, seq_len: 32, num_kv_pairs: 4 }),
        name: 'mq-attn',
      })
    ).id;
    ids.parity = (
      await makeRun(e, runsDir, withMixer('gla', 'mamba', { negative_eigenvalues: true }), {
        seqLen: 0,
        data: task('parity', { min_bits: 3, max_bits: 15 }),
        name: 'parity',
      })
    ).id;
  });

  it('passkey: a depth × length heatmap whose cells equal one parallel forward over the same examples', async () => {
    const e = await engine();
    const { result } = await runPasskey(e, { runsDir, run: ids.passkey, lengths: [24, 48], depths: 3, samples: 5 });
    expect(result.lengths).toEqual([24, 48]);
    expect(result.depths).toEqual([1 / 6, 0.5, 5 / 6]);
    expect(result.accuracy).toHaveLength(3);
    // The oracle for one cell: depth bin 1 at length 48, the examples the analysis drew (start = (1·3 + 1)·5).
    const loaded = loadRun(e, openRun(runsDir, ids.passkey));
    const cell = taskAtLength(
      'passkey',
      { seq_len: 24, digits: 2, filler_tokens: 4, depth_min: 0.5, depth_max: 0.5 },
      48,
    );
    const ex = generateExamples(cell.task, cell.params, 1, 20, 5, 1);
    const whole = await parallelScores(e, loaded, ex.inputs, ex.targets, 5, 48);
    const oracle = scoreExamples(Float32Array.from(whole), ex.targets, 5, 48);
    expect(result.accuracy[1][1]).toBe(oracle.allCorrect.filter(Boolean).length / 5);
    loaded.release();
    for (const row of result.accuracy) for (const v of row) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('MQAR: accuracy per KV count (one parallel forward agrees), counts that do not fit are skipped', async () => {
    const e = await engine();
    const { result } = await runMqar(e, { runsDir, run: ids.mqarGla, kv: [1, 4, 16], samples: 6 });
    expect(result.points.map((p) => p.kv)).toEqual([1, 4]);
    expect(result.skipped[0].kv).toBe(16);
    expect(result.skipped[0].reason).toMatch(/= 64 exceeds seq_len 32/);
    const loaded = loadRun(e, openRun(runsDir, ids.mqarGla));
    const cell = taskAtLength('mqar', { vocab_size: 128, seq_len: 32, num_kv_pairs: 4 }, 32);
    const ex = generateExamples(cell.task, cell.params, 1, 6, 6, 1);
    const oracle = scoreExamples(
      Float32Array.from(await parallelScores(e, loaded, ex.inputs, ex.targets, 6, 32)),
      ex.targets,
      6,
      32,
    );
    expect(result.points[1].accuracy).toBeCloseTo(oracle.accuracy.reduce((a, b) => a + b, 0) / 6, 12);
    loaded.release();
    await runMqar(e, { runsDir, run: ids.mqarAttn, kv: [1, 4], samples: 4 });
  });

  it('capacity across runs places each run by its state bytes (attention counted at the evaluated length)', async () => {
    const { path, result } = runCapacity({ runsDir, runs: [ids.mqarAttn, ids.mqarGla], metric: 'mqar' });
    expect(path).toBe(join(runsDir, 'capacity-mqar.json'));
    const gla = result.points.find((p) => p.run === ids.mqarGla)!;
    const attn = result.points.find((p) => p.run === ids.mqarAttn)!;
    // GLA: 2 layers × 4 heads × (16/4·0.5=… key dims) — read from the compiled model, not restated here.
    const glaModel = compileGraph(template('gla'));
    expect(gla.stateBytes).toBe(4 * glaModel.totals.stateFloats);
    expect(attn.stateBytes).toBe(stateBytesAt(compileGraph(template('llama')), 32));
    expect(stateBytesAt(compileGraph(template('llama')), 64)).toBe(2 * attn.stateBytes);
    expect(result.points.map((p) => p.stateBytes)).toEqual(
      [...result.points.map((p) => p.stateBytes)].sort((a, b) => a - b),
    );
    expect(() => runCapacity({ runsDir, runs: [ids.parity], metric: 'mqar' })).toThrow(/has no mqar analysis yet/);
  });

  it("state tracking: accuracy by test length on the run's own task; text runs and wrong tasks are refused", async () => {
    const e = await engine();
    const { result } = await runStateTracking(e, { runsDir, run: ids.parity, lengths: [16, 64], samples: 8 });
    expect(result.task).toBe('parity');
    expect(result.points.map((p) => p.seqLen)).toEqual([16, 64]);
    for (const p of result.points) {
      // Parity scores one position per example: all three accuracies coincide.
      expect(p.tokenAccuracy).toBe(p.sequenceAccuracy);
      expect(p.lastAccuracy).toBe(p.sequenceAccuracy);
    }
    await expect(runPasskey(e, { runsDir, run: ids.parity })).rejects.toThrow(
      /trained on the task "parity", not passkey/,
    );
    const text = await makeRun(e, runsDir, template('gla'), { seqLen: 16, name: 'text' });
    await expect(runMqar(e, { runsDir, run: text.id })).rejects.toThrow(/trained on text, not on a synthetic task/);
  });
});
