// The sweep service: what the CLI (`statelab sweep`) and the app's Sweep view call. Plain Node, no
// Electron. Every call takes a sweep file path; runs live under `runsDir` with the sweep's state file in
// `<runsDir>/sweeps/<name>.state.json`.
//
//   listSweeps(dirs?)                 → SweepListing[]   the bundled sweeps (assets/sweeps) and any folders given
//   readSweep(path, options?)         → SweepOverview    the checked plan: points, parameters, state, memory
//                                                       (throws SweepError naming file/field/graph/node on bad input)
//   startSweep(path, options, cb?)    → SweepHandle      runs pending points in order; { done, stop() }
//   sweepStatus(path, runsDir)        → SweepStatus      counts and per-point status, without touching the GPU
//   sweepResults(path, runsDir)       → SweepResults     rows, best-of marks, per-configuration mean/spread
//   sweepChart(path, runsDir, xAxis)  → ChartSeries[]    metric against an axis, one series per family
//   sweepCsv(path, runsDir)           → string           the results table as CSV

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { AxisValue } from '../../../shared/sweeps/expand.js';
import type { SweepFile } from '../../../shared/sweeps/schema.js';
import { resultsCsv } from './csv.js';
import { loadSweep, type PlannedSweep } from './plan.js';
import { chartSeries, sweepResults as resultsOf, type ChartSeries, type SweepResults } from './results.js';
import { startSweep as start, type SweepCallbacks, type SweepHandle } from './runner.js';

export { SweepError } from '../../../shared/sweeps/schema.js';
export type { SweepFile, SweepMetric } from '../../../shared/sweeps/schema.js';
export type { SweepResults, SweepRow, ConfigSummary, ChartSeries } from './results.js';
export type { SweepCallbacks, SweepHandle, SweepSummary } from './runner.js';
export type { PointState } from './state.js';
export { loadSweep, planSweep, type PlannedSweep, type PlannedPoint } from './plan.js';
export { resultsCsv, parseCsv } from './csv.js';

export const BUNDLED_SWEEP_DIR = fileURLToPath(new URL('../../../assets/sweeps/', import.meta.url));

export interface SweepListing {
  path: string;
  name: string;
  description?: string;
  bundled: boolean;
}

export interface SweepOverview {
  path: string;
  name: string;
  description?: string;
  metric: SweepFile['metric'];
  axes: Record<string, AxisValue[]>;
  bestOf?: string;
  families: string[];
  seeds: number[];
  memoryBudgetBytes: number;
  points: {
    index: number;
    id: string;
    family: string;
    axes: Record<string, AxisValue>;
    seed: number;
    params: number;
    stateBytes: number;
    memoryBytes: number;
  }[];
}

export interface SweepStatus {
  name: string;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  pending: number;
  points: { id: string; status: SweepResults['rows'][number]['status']; metric?: number; run?: string }[];
}

/** Sweep files in the bundled folder and in `dirs`; unreadable files are listed by name only. */
export function listSweeps(dirs: string[] = []): SweepListing[] {
  const listing: SweepListing[] = [];
  for (const [dir, bundled] of [[BUNDLED_SWEEP_DIR, true] as const, ...dirs.map((d) => [d, false] as const)]) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const path = join(dir, file);
      let name = file.slice(0, -5);
      let description: string | undefined;
      try {
        const doc = JSON.parse(readFileSync(path, 'utf8')) as { format?: string; name?: string; description?: string };
        if (doc.format !== 'statelab-sweep') continue;
        name = doc.name ?? name;
        description = doc.description;
      } catch {
        // listed by its file name; readSweep reports what is wrong
      }
      listing.push({ path, name, description, bundled });
    }
  }
  return listing;
}

/** A bundled sweep's path by name (`zoology-mqar`), or the path itself when it is a file. */
export function sweepPath(ref: string): string {
  if (existsSync(ref)) return ref;
  const bundled = join(BUNDLED_SWEEP_DIR, `${ref}.json`);
  if (/^[A-Za-z0-9._-]+$/.test(ref) && existsSync(bundled)) return bundled;
  const names = listSweeps().map((s) => s.name);
  throw new Error(`"${ref}" is neither a sweep file nor a bundled sweep (bundled: ${names.join(', ') || 'none'})`);
}

export function readSweep(path: string, options: { memoryBudgetMB?: number } = {}): SweepOverview {
  return overview(loadSweep(path, options));
}

export function overview(planned: PlannedSweep): SweepOverview {
  const { sweep } = planned;
  return {
    path: planned.path,
    name: sweep.name,
    description: sweep.description,
    metric: sweep.metric,
    axes: sweep.axes,
    bestOf: sweep.bestOf?.axis,
    families: sweep.graphs.map((g) => g.family),
    seeds: sweep.seeds,
    memoryBudgetBytes: planned.budgetBytes,
    points: planned.points.map((p) => ({
      index: p.index,
      id: p.id,
      family: p.family,
      axes: p.axes,
      seed: p.seed,
      params: p.params,
      stateBytes: p.stateBytes,
      memoryBytes: p.memory.totalBytes,
    })),
  };
}

export function startSweep(
  path: string,
  options: { runsDir: string; only?: number; memoryBudgetMB?: number },
  callbacks: SweepCallbacks = {},
): SweepHandle {
  return start(loadSweep(path, options), options, callbacks);
}

export function sweepStatus(path: string, runsDir: string): SweepStatus {
  const results = resultsOf(loadSweep(path), runsDir);
  const count = (s: string) => results.rows.filter((r) => r.status === s).length;
  return {
    name: results.sweep,
    total: results.rows.length,
    done: count('done'),
    skipped: count('skipped'),
    failed: count('failed'),
    pending: count('pending') + count('partial'),
    points: results.rows.map((r) => ({ id: r.id, status: r.status, metric: r.metric, run: r.run })),
  };
}

export function sweepResults(path: string, runsDir: string): SweepResults {
  return resultsOf(loadSweep(path), runsDir);
}

export function sweepChart(path: string, runsDir: string, xAxis: string): ChartSeries[] {
  return chartSeries(sweepResults(path, runsDir), xAxis);
}

export function sweepCsv(path: string, runsDir: string): string {
  return resultsCsv(sweepResults(path, runsDir));
}
