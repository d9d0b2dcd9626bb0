// Runs a sweep file on the GPU machine inside one call of fixed length, with the sweep service the CLI
// uses. Each run's wall-time cap is the time left shared out over the runs left (minus the measured
// per-run overhead: engine start, kernel compilation, MQAR evaluation), so the whole grid fits the call;
// after every run the results table is rewritten to <out>/results.json and results.csv, so a call cut
// short still brings back what finished.
//   node run.mjs <sweep.json> <runs dir> <out dir> <seconds for the sweep> [i/n]
// With `i/n` the process runs only grid points i, i+n, i+2n, … (a shard): several processes share one
// GPU (tiny models leave most of it idle) and merge-shards.ts joins their runs folders afterwards.

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSweep } from '../../../main/host/sweeps/plan.js';
import { resultsCsv } from '../../../main/host/sweeps/csv.js';
import { sweepResults } from '../../../main/host/sweeps/results.js';
import { startSweep } from '../../../main/host/sweeps/runner.js';

const [file, runsDir, out, budgetArg, shardArg] = process.argv.slice(2);
const budgetS = Number(budgetArg);
if (!file || !runsDir || !out || !(budgetS > 0)) throw new Error('usage: run.mjs <sweep.json> <runs> <out> <seconds>');
mkdirSync(out, { recursive: true });
const log = (line: string) => {
  process.stdout.write(`${line}\n`);
  appendFileSync(join(out, 'log.txt'), `${line}\n`);
};

const whole = loadSweep(file);
const [shard, shards] = (shardArg ?? '0/1').split('/').map(Number);
if (!(shards >= 1 && shard >= 0 && shard < shards))
  throw new Error(`shard must be i/n with 0 ≤ i < n (got ${shardArg})`);
const planned = { ...whole, points: whole.points.filter((_, i) => i % shards === shard) };
const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
let overheadS = 6; // first guess, replaced by the measured mean after the first run
const overheads: number[] = [];
let trainStarted = 0;
let lastStep = 0;
const save = () => {
  const results = sweepResults(planned, runsDir);
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(results)}\n`);
  writeFileSync(join(out, 'results.csv'), resultsCsv(results));
};

log(`${planned.sweep.name} shard ${shard}/${shards}: ${planned.points.length} runs in ${budgetS} s`);
const handle = startSweep(
  planned,
  { runsDir },
  {
    onRunStart(point, position, count) {
      const left = count - position;
      const cap = Math.max(2, (budgetS - elapsed()) / left - overheadS);
      point.train.maxSeconds = Math.round(cap * 10) / 10;
      trainStarted = 0;
      log(`[${position + 1}/${count}] ${point.id} at ${elapsed().toFixed(0)} s: cap ${point.train.maxSeconds} s`);
    },
    onMetrics(_point, row) {
      if (trainStarted === 0) trainStarted = performance.now();
      lastStep = row.step + 1;
    },
    onRunEnd(point, entry) {
      const trainS = trainStarted ? (performance.now() - trainStarted) / 1000 : 0;
      if (entry.seconds !== undefined) {
        overheads.push(Math.max(0, entry.seconds - trainS));
        overheadS = overheads.reduce((a, b) => a + b, 0) / overheads.length;
      }
      log(
        `  ${entry.status} ${entry.outcome ?? ''} steps ${entry.steps ?? lastStep} acc ${entry.accuracy?.toFixed(4) ?? '-'} ` +
          `val ${entry.valLoss?.toFixed(4) ?? '-'} (${entry.seconds ?? 0} s, overhead ${overheadS.toFixed(1)} s) ${entry.message ?? ''}`,
      );
      save();
    },
    onLog: (message) => log(`  ${message}`),
  },
);
const summary = await handle.done;
save();
log(`${summary.status}: ${summary.ran} trained, ${summary.failed} failed, in ${elapsed().toFixed(0)} s`);
