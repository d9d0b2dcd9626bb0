// The process the crash harness kills: trains a tiny model into a run folder (checkpoints every 3 steps,
// a metrics line per step) and exports the latest checkpoint every few steps, like a user would.
// With CRASH_AT set it SIGKILLs itself in the middle of one kind of write — a half-written temporary
// checkpoint, a finished temporary file not yet renamed, half a metrics line, half an exported model —
// at its CRASH_AFTER-th occurrence. Without it, the parent kills it at a random moment.
//
// Usage: node --import tsx crash-child.ts <runsDir> <exportsDir>
// Prints "checkpoint <step>" after each complete checkpoint and "metrics <step>" per row (stdout to a
// pipe is synchronous on Linux, so the parent sees each line before the next write begins).

import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { loadRunSource } from '../../main/export/source.js';
import { writeHfFolder } from '../../main/export/hf.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { templatePath } from '../../main/host/templates.js';
import { trainRun } from '../../main/host/train-run.js';
import { parseGraph } from '../../shared/graph/parse.js';

export type CrashPoint = 'checkpoint-write' | 'checkpoint-rename' | 'metrics-append' | 'export-write';

const [runsDir, exportsDir] = process.argv.slice(2);
const crashAt = process.env.CRASH_AT as CrashPoint | undefined;
let remaining = Number(process.env.CRASH_AFTER ?? 1);

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

function due(point: CrashPoint): boolean {
  return crashAt === point && --remaining <= 0;
}

// Fault injection: wrap the fs calls the run folder and exports use (live ESM bindings follow).
const paths = new Map<number, string>();
const { openSync, writeSync, renameSync, appendFileSync } = fs;
fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
  const fd = (openSync as (...a: unknown[]) => number)(path, ...rest);
  paths.set(fd, String(path));
  return fd;
}) as typeof fs.openSync;
fs.writeSync = ((fd: number, buffer: Uint8Array, offset?: number, length?: number, ...rest: unknown[]) => {
  const path = paths.get(fd) ?? '';
  const checkpoint = /checkpoints[\\/]\.step-\d+\.safetensors\..*\.tmp$/.test(path);
  const exported = /model\.safetensors\..*\.tmp$/.test(path) && path.startsWith(exportsDir);
  if ((checkpoint && due('checkpoint-write')) || (exported && due('export-write'))) {
    const half = Math.max(1, Math.floor((length ?? buffer.length) / 2));
    (writeSync as (...a: unknown[]) => number)(fd, buffer, offset ?? 0, half);
    die();
  }
  return (writeSync as (...a: unknown[]) => number)(fd, buffer, offset, length, ...rest);
}) as typeof fs.writeSync;
fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
  const target = String(to);
  const isModel = /checkpoints[\\/]step-(\d+)\.safetensors$/.exec(target);
  if (/checkpoints[\\/]step-\d+(\.optim)?\.safetensors$/.test(target) && due('checkpoint-rename')) die();
  renameSync(from, to);
  if (isModel) process.stdout.write(`checkpoint ${Number(isModel[1])}\n`);
}) as typeof fs.renameSync;
fs.appendFileSync = ((path: fs.PathOrFileDescriptor, data: string | Uint8Array, ...rest: unknown[]) => {
  if (String(path).endsWith('metrics.jsonl') && due('metrics-append')) {
    const text = String(data);
    appendFileSync(path, text.slice(0, Math.max(1, Math.floor(text.length / 2))));
    die();
  }
  (appendFileSync as (...a: unknown[]) => void)(path, data, ...rest);
}) as typeof fs.appendFileSync;
syncBuiltinESMExports();

export function tinyRequest(runs: string) {
  const graph = parseGraph(fs.readFileSync(templatePath('short-conv')!, 'utf8'));
  graph.model.d_model = 32;
  return {
    graph,
    data: {
      kind: 'text' as const,
      path: new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname,
      tokenizer: 'byte',
    },
    runsDir: runs,
    name: 'crash',
    steps: 24,
    batch: 2,
    seqLen: 16,
    lr: 3e-3,
    seed: 3,
    evalEvery: 0,
    checkpointEvery: 3,
  };
}

await trainRun(tinyRequest(runsDir), {
  onMetrics: (row) => {
    process.stdout.write(`metrics ${row.step}\n`);
    // Export the latest checkpoint every 4 steps (as the Export view or `statelab export` would).
    if (row.step % 4 === 3) {
      const run = new RunStore(runsDir).list()[0];
      const steps = run?.checkpointSteps() ?? [];
      if (!run || steps.length === 0) return;
      const step = steps[steps.length - 1];
      writeHfFolder(loadRunSource(run.dir, runsDir, step), join(exportsDir, `step-${step}-at-${row.step}`));
    }
  },
});
process.stdout.write('done\n');
