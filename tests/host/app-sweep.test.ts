// The Sweep view's host calls on a real (tiny) sweep on the GPU: sweep files named by place and file name
// only, the expanded grid, bad files refused with the field named before anything runs, progress across
// runs while it goes, one sweep at a time, stop and resume without repeating finished runs, and results,
// chart series and CSV that agree with the run folders.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callLab, createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { createLabClient, type SweepProgress } from '../../shared/lab-api.js';

const workspaceDir = mkdtempSync(join(tmpdir(), 'statelab-app-sweep-'));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));
const host = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
const client = createLabClient((method, args) => callLab(host, method, args));

const tiny = {
  format: 'statelab-sweep',
  version: 1,
  name: 'app-tiny',
  description: 'two widths × two seeds of a one-layer short-convolution model',
  graphs: [{ family: 'shortconv', template: 'short-conv', set: { 'layers.count': 1 } }],
  data: { task: 'mqar', params: { vocab_size: 32, seq_len: 16, num_kv_pairs: 2 } },
  axes: { d_model: [8, 16] },
  train: { lr: 0.01, steps: 4, seqLen: 16, batch: 4, evalBatches: 1, warmupSteps: 0 },
  seeds: [1, 2],
  metric: 'mqar_accuracy',
  evalSamples: 8,
};
mkdirSync(join(workspaceDir, 'sweeps'));
writeFileSync(join(workspaceDir, 'sweeps', 'tiny.json'), JSON.stringify(tiny));
writeFileSync(
  join(workspaceDir, 'sweeps', 'broken.json'),
  JSON.stringify({ ...tiny, name: 'broken', axes: { 'conv.no_such_option': [1, 2] } }),
);

async function until(done: (p: SweepProgress) => boolean, timeoutMs = 240_000): Promise<SweepProgress> {
  const started = Date.now();
  for (;;) {
    const p = (await client.sweepProgress())!;
    if (done(p)) return p;
    if (Date.now() - started > timeoutMs) throw new Error(`sweep still ${p.state}: ${p.log.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Sweep view host calls', () => {
  it('lists bundled and workspace sweep files by reference, never by path', async () => {
    const files = await client.listSweeps();
    expect(files.find((f) => f.ref === 'bundled:ci-tiny.json')).toMatchObject({ name: 'ci-tiny', bundled: true });
    expect(files.find((f) => f.ref === 'workspace:tiny.json')).toMatchObject({ name: 'app-tiny', bundled: false });
    expect(JSON.stringify(files)).not.toContain(workspaceDir);
  });

  it('expands the grid, and refuses a bad file naming the field, or a path, before anything runs', async () => {
    const plan = await client.readSweep('workspace:tiny.json');
    expect(plan.points.map((p) => [p.family, p.axes.d_model, p.seed])).toEqual([
      ['shortconv', 8, 1],
      ['shortconv', 8, 2],
      ['shortconv', 16, 1],
      ['shortconv', 16, 2],
    ]);
    expect(plan.points[2].params).toBeGreaterThan(plan.points[0].params);
    await expect(client.readSweep('workspace:broken.json')).rejects.toMatchObject({
      code: 'bad-arguments',
      message: /no_such_option/,
    });
    await expect(client.startSweep('workspace:broken.json')).rejects.toMatchObject({ code: 'bad-arguments' });
    expect(await client.sweepProgress()).toBeNull(); // nothing started
    await expect(client.readSweep('workspace:missing.json')).rejects.toMatchObject({ code: 'not-found' });
    expect(await callLab(host, 'readSweep', ['workspace:../../etc/passwd.json'])).toMatchObject({
      error: { code: 'bad-arguments' },
    });
    expect(await callLab(host, 'readSweep', ['/tmp/tiny.json'])).toMatchObject({ error: { code: 'bad-arguments' } });
  });

  it('runs, stops and resumes a sweep with progress across runs, then reads back results, chart and CSV', async () => {
    const started = await client.startSweep('workspace:tiny.json');
    expect(started).toMatchObject({ name: 'app-tiny', state: 'running', count: 4 });
    await expect(client.startSweep('bundled:ci-tiny.json')).rejects.toMatchObject({
      code: 'unsupported',
      message: /"app-tiny" is still running/,
    });
    // Stop during the second run: the first is kept, the rest stay pending.
    await until((p) => p.ran === 1 && p.current !== undefined);
    expect((await client.stopSweep())!.state).toBe('stopping');
    const stopped = await until((p) => p.state !== 'running' && p.state !== 'stopping');
    expect(stopped.state).toBe('stopped');
    const partial = await client.sweepResults('workspace:tiny.json');
    const firstDone = partial.rows.filter((r) => r.status === 'done');
    expect(firstDone).toHaveLength(1);

    await client.startSweep('workspace:tiny.json');
    const finished = await until((p) => p.state !== 'running');
    expect(finished).toMatchObject({ state: 'finished', skipped: 1, ran: 3, failed: 0 });
    expect(finished.log.join('\n')).toMatch(/finished earlier/);

    const results = await client.sweepResults('workspace:tiny.json');
    expect(results.rows.map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);
    const runs = new RunStore(join(workspaceDir, 'runs'));
    for (const row of results.rows) {
      expect(row.metric).toBeGreaterThanOrEqual(0);
      expect(row.metric).toBeLessThanOrEqual(1);
      expect(runs.open(row.run!).info().name).toBe(`app-tiny/${row.id}`);
    }
    // The run finished before the stop is kept as it was, not trained again.
    expect(results.rows.find((r) => r.id === firstDone[0].id)!.run).toBe(firstDone[0].run);
    expect(new Set(results.rows.map((r) => r.run)).size).toBe(4);

    const series = await client.sweepChart('workspace:tiny.json', 'd_model');
    expect(series).toHaveLength(1);
    expect(series[0].points.map((p) => [p.x, p.n])).toEqual([
      [8, 2],
      [16, 2],
    ]);
    const at8 = results.rows.filter((r) => r.axes.d_model === 8).map((r) => r.metric!);
    expect(series[0].points[0].mean).toBeCloseTo((at8[0] + at8[1]) / 2, 12);
    await expect(client.sweepChart('workspace:tiny.json', 'heads')).rejects.toMatchObject({
      code: 'bad-arguments',
      message: /no axis "heads"/,
    });
    const csv = (await client.sweepCsv('workspace:tiny.json')).trim().split('\n');
    expect(csv).toHaveLength(5);
  }, 400_000);

  it('in the desktop app (no dawn.node in Electron) refuses to start, naming the CLI command', async () => {
    const desktop = createLabService({ mode: 'electron', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
    const reply = await callLab(desktop, 'startSweep', ['workspace:tiny.json']);
    expect(reply).toMatchObject({ error: { code: 'unsupported', message: /statelab sweep .*tiny\.json/ } });
    expect(await callLab(desktop, 'sweepResults', ['workspace:tiny.json'])).toHaveProperty('result');
  });
});

describe('adding a sweep file to the workspace', () => {
  it('checks it first, saves it in sweeps/, and never replaces an existing file', async () => {
    const text = JSON.stringify({ ...tiny, name: 'added' });
    await expect(client.importSweepFile('bad.json', '{"format": "statelab-sweep"')).rejects.toMatchObject({
      code: 'bad-arguments',
      message: /bad\.json: malformed JSON/,
    });
    await expect(
      client.importSweepFile('bad.json', JSON.stringify({ ...tiny, train: { ...tiny.train, lr: 'fast' } })),
    ).rejects.toMatchObject({ code: 'bad-arguments', message: /bad\.json: train\.lr/ });
    expect(await client.importSweepFile('added.json', text)).toEqual({
      ref: 'workspace:added.json',
      name: 'added',
      description: tiny.description,
      bundled: false,
    });
    expect(readFileSync(join(workspaceDir, 'sweeps', 'added.json'), 'utf8')).toBe(text);
    await expect(client.importSweepFile('added.json', JSON.stringify(tiny))).rejects.toMatchObject({
      message: /sweeps\/added\.json already exists/,
    });
    expect(readFileSync(join(workspaceDir, 'sweeps', 'added.json'), 'utf8')).toBe(text);
    expect(await callLab(host, 'importSweepFile', ['../x.json', text])).toMatchObject({
      error: { code: 'bad-arguments' },
    });
  });
});
