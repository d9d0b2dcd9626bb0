// A real sweep on the GPU (tiny models, a few steps): stopped in the middle of a run and continued
// without repeating finished runs; the results table, CSV and best-of agree with the run folders.

import { readFileSync, writeFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepCommand } from '../../main/cli/sweep.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { loadSweep, parseCsv, sweepResults, sweepStatus } from '../../main/host/sweeps/index.js';
import { startSweep } from '../../main/host/sweeps/runner.js';
import { trainRun } from '../../main/host/train-run.js';
import { templatePath } from '../../main/host/templates.js';
import { parseGraph } from '../../shared/graph/parse.js';
import { chartSeries } from '../../main/host/sweeps/results.js';
import { readState } from '../../main/host/sweeps/state.js';
import { estimateTrainMemory } from '../../main/host/sweeps/memory.js';
import { compileGraph } from '../../gpu/graph/compile.js';

const dir = mkdtempSync(join(tmpdir(), 'sweep-run-'));
const runsDir = join(dir, 'runs');
const file = join(dir, 'tiny.json');
writeFileSync(
  file,
  JSON.stringify({
    format: 'statelab-sweep',
    version: 1,
    name: 'tiny',
    graphs: [
      { family: 'gla', template: 'gla', set: { 'layers.count': 1, 'attn.num_heads': 2 } },
      { family: 'conv', template: 'short-conv', set: { 'layers.count': 1 } },
    ],
    data: { task: 'mqar', params: { vocab_size: 32, seq_len: 16, num_kv_pairs: 2 } },
    axes: { d_model: [16], 'train.lr': [0.003, 0.03] },
    train: { lr: 0.003, steps: 6, seqLen: 16, batch: 4, evalBatches: 1, checkpointEvery: 2, warmupSteps: 0 },
    seeds: [1],
    metric: 'mqar_accuracy',
    bestOf: { axis: 'train.lr' },
    runName: '{family}-lr{train.lr}',
    evalSamples: 8,
  }),
);

const folders = () => new RunStore(runsDir).list().map((r) => r.id);
const metricLines = (id: string) =>
  readFileSync(join(runsDir, id, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n').length;

describe('sweep runner', () => {
  it('a stopped sweep continues without repeating finished runs; results and CSV agree with the run folders', async () => {
    const planned = loadSweep(file);
    expect(planned.points.map((p) => p.id)).toEqual(['gla-lr0.003', 'gla-lr0.03', 'conv-lr0.003', 'conv-lr0.03']);

    // 1. the first two points only
    const first = await startSweep(planned, { runsDir, only: 2 }).done;
    expect(first).toMatchObject({ status: 'finished', ran: 2, skipped: 0, failed: 0 });
    const afterFirst = folders();
    expect(afterFirst).toHaveLength(2);
    const linesBefore = afterFirst.map(metricLines);

    // 2. continue, and stop in the middle of the third run (after its checkpoint at step 2)
    const started: string[] = [];
    const skipped: string[] = [];
    const handle = startSweep(
      planned,
      { runsDir },
      {
        onRunStart: (p) => started.push(p.id),
        onSkip: (p) => skipped.push(p.id),
        onMetrics: (p, row) => {
          if (p.id === 'conv-lr0.003' && row.step + 1 === 3) handle.stop();
        },
      },
    );
    const second = await handle.done;
    expect(second.status).toBe('stopped');
    expect(skipped).toEqual(['gla-lr0.003', 'gla-lr0.03']);
    expect(started).toEqual(['conv-lr0.003']);
    expect(readState(runsDir, 'tiny').points['conv-lr0.003']).toBeUndefined(); // not finished
    const stoppedRun = folders().find((id) => !afterFirst.includes(id))!;
    expect(new RunStore(runsDir).open(stoppedRun).info().status).toBe('stopped');
    expect(sweepStatus(file, runsDir)).toMatchObject({ total: 4, done: 2, pending: 2 });

    // 3. run again: finished runs untouched, the stopped one resumed in its own folder, the last one trained
    const logs: string[] = [];
    const third = await startSweep(
      planned,
      { runsDir },
      { onLog: (m) => logs.push(m), onRunStart: (p) => started.push(p.id) },
    ).done;
    expect(third).toMatchObject({ status: 'finished', ran: 2, skipped: 2, failed: 0 });
    expect(started).toEqual(['conv-lr0.003', 'conv-lr0.003', 'conv-lr0.03']);
    expect(logs.some((m) => m.startsWith(`run conv-lr0.003: resuming ${stoppedRun}`))).toBe(true);
    expect(folders()).toHaveLength(4);
    expect(afterFirst.map(metricLines)).toEqual(linesBefore);
    const resumed = new RunStore(runsDir).open(stoppedRun);
    expect(resumed.info().status).toBe('completed');
    expect(resumed.metrics().map((r) => r.step)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5]));

    // 4. results: every row read back from its run folder, best-of the argmax of each family's pair
    const results = sweepResults(file, runsDir);
    expect(results.rows.every((r) => r.status === 'done')).toBe(true);
    for (const row of results.rows) {
      const run = new RunStore(runsDir).open(row.run!);
      expect(run.info().name).toBe(`tiny/${row.id}`);
      const mqar = JSON.parse(readFileSync(join(run.dir, 'analyses', 'mqar.json'), 'utf8'));
      const accuracy = mqar.results.points.find((p: { kv: number }) => p.kv === 2).accuracy;
      expect(row.metric).toBe(accuracy);
      const rows = run.metrics();
      expect(row.valLoss).toBe(rows.filter((r) => r.val_loss !== undefined).pop()!.val_loss);
      expect(row.steps).toBe(6);
      // the memory estimate holds the pool's measured peak
      const point = planned.points.find((p) => p.id === row.id)!;
      const estimate = estimateTrainMemory(compileGraph(point.graph), 4, 16).totalBytes;
      expect(Math.max(...rows.map((r) => r.memory_bytes))).toBeLessThanOrEqual(estimate);
    }
    for (const family of ['gla', 'conv']) {
      const pair = results.rows.filter((r) => r.family === family);
      const best = pair.reduce((a, b) => (b.metric! > a.metric! ? b : a));
      expect(pair.filter((r) => r.best).map((r) => r.id)).toEqual([best.id]);
      const config = results.configs.find((c) => c.family === family)!;
      expect(config).toMatchObject({ n: 1, mean: best.metric, std: 0, chosen: [best.axes['train.lr']] });
    }

    // chart data: against the width axis and against state size, one series per family
    const byWidth = chartSeries(results, 'd_model');
    expect(byWidth.map((s) => s.label)).toEqual(['gla', 'conv']);
    expect(byWidth[0].points).toEqual([expect.objectContaining({ x: 16, mean: results.configs[0].mean, n: 1 })]);
    expect(chartSeries(results, 'stateBytes').map((s) => s.points[0].x)).toEqual(
      results.configs.map((c) => c.stateBytes),
    );
    expect(() => chartSeries(results, 'heads')).toThrow(/no axis "heads" in sweep tiny/);

    // 5. the CLI's CSV holds the same numbers
    const csvPath = join(dir, 'out.csv');
    const out: string[] = [];
    const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: () => {} } };
    expect(await sweepCommand(['results', file, '--runs', runsDir, '--csv', csvPath], io)).toBe(0);
    const csv = parseCsv(readFileSync(csvPath, 'utf8'));
    expect(csv).toHaveLength(4);
    for (const row of results.rows) {
      const line = csv.find((l) => l.id === row.id)!;
      expect(Number(line.mqar_accuracy)).toBe(row.accuracy);
      expect(Number(line.val_loss)).toBe(row.valLoss);
      expect(Number(line['train.lr'])).toBe(row.axes['train.lr']);
      expect(Number(line.params)).toBe(row.params);
      expect(line.best).toBe(String(row.best));
      expect(line.run).toBe(row.run);
    }
    expect(out.join('')).toMatch(/tiny: mqar_accuracy, best of train.lr\n/);
    expect(readdirSync(join(runsDir, 'sweeps'))).toEqual(['tiny.state.json']);

    // 6. and once everything is finished, running again trains nothing
    const fourth = await startSweep(planned, { runsDir }).done;
    expect(fourth).toMatchObject({ ran: 0, skipped: 4 });
    expect(folders()).toHaveLength(4);

    // 7. without the state file, finished runs are recognised by their run folders and only re-evaluated
    const linesAll = folders().map(metricLines);
    rmSync(join(runsDir, 'sweeps'), { recursive: true });
    const trained: string[] = [];
    const fifth = await startSweep(planned, { runsDir }, { onMetrics: (p) => trained.push(p.id) }).done;
    expect(fifth).toMatchObject({ status: 'finished', failed: 0 });
    expect(trained).toEqual([]);
    expect(folders().map(metricLines)).toEqual(linesAll);
    expect(sweepResults(file, runsDir).rows.map((r) => [r.id, r.metric, r.best])).toEqual(
      results.rows.map((r) => [r.id, r.metric, r.best]),
    );
  });

  it('a per-run time cap ends a run as a finished point; a reached metric target skips the other learning rates', async () => {
    const capped = join(dir, 'capped.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      capped,
      JSON.stringify({
        ...doc,
        name: 'capped',
        graphs: [doc.graphs[1]],
        train: { ...doc.train, steps: 100000, checkpointEvery: 5, maxSeconds: 1.5 },
        // any accuracy reaches 0: the second learning rate is never trained
        earlyStop: { metric: 0 },
      }),
    );
    const runs = join(dir, 'capped-runs');
    const started = performance.now();
    const summary = await startSweep(loadSweep(capped), { runsDir: runs }).done;
    expect((performance.now() - started) / 1000).toBeLessThan(30);
    expect(summary).toMatchObject({ status: 'finished', ran: 1, skipped: 1 });
    const state = readState(runs, 'capped');
    expect(state.points['conv-lr0.003']).toMatchObject({ status: 'done', outcome: 'time-cap' });
    expect(state.points['conv-lr0.003'].steps).toBeLessThan(100000);
    expect(state.points['conv-lr0.003'].metric).toBeGreaterThanOrEqual(0);
    expect(state.points['conv-lr0.03']).toMatchObject({
      status: 'skipped',
      message: 'conv-lr0.003 already reached the target 0 of mqar_accuracy',
    });
    expect(new RunStore(runs).list()).toHaveLength(1);
  });

  it('the memory estimate is not below the measured peak for the mixers with the largest scans', async () => {
    const runs = join(dir, 'memory-runs');
    for (const template of ['mamba2', 'rwkv7', 'llama']) {
      const graph = parseGraph(readFileSync(templatePath(template)!, 'utf8'));
      graph.model = { d_model: 32, vocab_size: 128 };
      const { run } = await trainRun({
        graph,
        data: { kind: 'task', task: 'mqar', params: { vocab_size: 128, seq_len: 64, num_kv_pairs: 4 } },
        runsDir: runs,
        steps: 2,
        batch: 4,
        seqLen: 64,
        lr: 1e-3,
        seed: 1,
        evalEvery: 0,
        checkpointEvery: 0,
      });
      const peak = Math.max(...run.metrics().map((r) => r.memory_bytes));
      const estimate = estimateTrainMemory(compileGraph(graph), 4, 64).totalBytes;
      expect(peak, template).toBeGreaterThan(0);
      expect(peak, template).toBeLessThanOrEqual(estimate);
      expect(estimate, template).toBeLessThan(4 * peak); // an estimate, not a blanket refusal
    }
  });
});
