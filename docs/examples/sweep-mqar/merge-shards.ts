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
// Run folder ids are a timestamp and a shortened run name, so two shards can make the same id: such a
// folder gets the shard's index appended, and the shard's state entries follow it.
shardDirs.forEach((dir, shard) => {
  if (!existsSync(dir)) return;
  const renamed = new Map<string, string>();
  for (const entry of readdirSync(dir)) {
    if (entry === 'sweeps') continue;
    const id = existsSync(join(merged, entry)) ? `${entry}-shard${shard}` : entry;
    renameSync(join(dir, entry), join(merged, id));
    renamed.set(entry, id);
  }
  for (const [point, entry] of Object.entries(readState(dir, planned.sweep.name).points))
    state.points[point] = entry.run ? { ...entry, run: renamed.get(entry.run) ?? entry.run } : entry;
});
writeState(merged, state);
const results = sweepResults(planned, merged);
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results)}\n`);
writeFileSync(join(out, 'results.csv'), resultsCsv(results));
const done = results.rows.filter((r) => r.status === 'done').length;
process.stdout.write(`${planned.sweep.name}: ${done} of ${results.rows.length} runs done, results in ${out}\n`);
