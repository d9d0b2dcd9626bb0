// Joins the runs folders of sharded sweep processes (run-on-gpu.ts … i/n) into one: every run folder is
// moved into <merged>, the shards' state files are united, and the results table of the whole grid
// (best-of across shards) is written to <out>/results.json and results.csv.
//   node merge.mjs <sweep.json> <merged runs dir> <out dir> <shard runs dir>…

import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSweep } from '../../../main/host/sweeps/plan.js';
import { resultsCsv } from '../../../main/host/sweeps/csv.js';
import { sweepResults } from '../../../main/host/sweeps/results.js';
import { readState, writeState } from '../../../main/host/sweeps/state.js';

const [file, merged, out, ...shardDirs] = process.argv.slice(2);
if (!file || !merged || !out || shardDirs.length === 0)
  throw new Error('usage: merge.mjs <sweep.json> <merged runs> <out> <shard runs>…');
const planned = loadSweep(file);
mkdirSync(merged, { recursive: true });
mkdirSync(out, { recursive: true });
const state = readState(merged, planned.sweep.name);
for (const dir of shardDirs) {
  if (!existsSync(dir)) continue;
  Object.assign(state.points, readState(dir, planned.sweep.name).points);
  for (const entry of readdirSync(dir)) if (entry !== 'sweeps') renameSync(join(dir, entry), join(merged, entry));
}
writeState(merged, state);
const results = sweepResults(planned, merged);
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results)}\n`);
writeFileSync(join(out, 'results.csv'), resultsCsv(results));
const done = results.rows.filter((r) => r.status === 'done').length;
process.stdout.write(`${planned.sweep.name}: ${done} of ${results.rows.length} runs done, results in ${out}\n`);
