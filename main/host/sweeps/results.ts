// A sweep's results, read back from its run folders (metrics.jsonl, analyses/mqar.json, run.json) with
// the plan's figures (parameters, state bytes): the table of all runs, the best-of reduction, and per
// configuration the mean and spread over seeds — the data behind "metric against an axis, by family".

import { metricDirection, type SweepFile } from '../../../shared/sweeps/schema.js';
import type { AxisValue } from '../../../shared/sweeps/expand.js';
import { RunStore, type Run } from '../runs/run-store.js';
import { metricsFromRows, savedAccuracy, trainedKv } from './evaluate.js';
import type { PlannedSweep } from './plan.js';
import { readState, sweepRunName } from './state.js';

export type RowStatus = 'done' | 'skipped' | 'failed' | 'pending' | 'partial';

export interface SweepRow {
  index: number;
  id: string;
  family: string;
  axes: Record<string, AxisValue>;
  seed: number;
  /** done / skipped / failed from the state file; partial: a run folder without a finished point; else pending. */
  status: RowStatus;
  /** Run folder id under the runs directory. */
  run?: string;
  /** How training ended (run.json status, or time-cap). */
  outcome?: string;
  params: number;
  stateBytes: number;
  steps?: number;
  trainLoss?: number;
  valLoss?: number;
  accuracy?: number;
  /** The sweep's metric for this run (val_loss or mqar_accuracy). */
  metric?: number;
  /** Chosen by best-of within its group (every scored run when the sweep has no best-of). */
  best: boolean;
  seconds?: number;
  message?: string;
}

export interface ConfigSummary {
  family: string;
  /** Axis values, the best-of axis left out. */
  axes: Record<string, AxisValue>;
  params: number;
  stateBytes: number;
  /** Scored runs (one per seed after best-of). */
  n: number;
  mean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  std: number;
  min: number;
  max: number;
  /** The best-of axis value each seed's chosen run had (e.g. the winning learning rates). */
  chosen: AxisValue[];
}

export interface SweepResults {
  sweep: string;
  metric: SweepFile['metric'];
  axes: string[];
  bestOf?: string;
  rows: SweepRow[];
  configs: ConfigSummary[];
}

export function sweepResults(planned: PlannedSweep, runsDir: string): SweepResults {
  const { sweep } = planned;
  const state = readState(runsDir, sweep.name);
  const byName = runsByName(runsDir);
  const store = new RunStore(runsDir);
  const rows: SweepRow[] = planned.points.map((point) => {
    const entry = state.points[point.id];
    let run: Run | undefined = byName.get(sweepRunName(sweep.name, point.id));
    if (entry?.run) {
      try {
        run = store.open(entry.run);
      } catch {
        run = undefined;
      }
    }
    const row: SweepRow = {
      index: point.index,
      id: point.id,
      family: point.family,
      axes: point.axes,
      seed: point.seed,
      status: entry?.status ?? (run ? 'partial' : 'pending'),
      params: point.params,
      stateBytes: point.stateBytes,
      best: false,
      ...(entry?.seconds !== undefined ? { seconds: entry.seconds } : {}),
      ...(entry?.message ? { message: entry.message } : {}),
    };
    if (!run) return row;
    const metrics = metricsFromRows(run.metrics());
    const accuracy = sweep.metric === 'mqar_accuracy' ? savedAccuracy(run, trainedKv(point)) : undefined;
    const metric = sweep.metric === 'mqar_accuracy' ? accuracy : metrics.valLoss;
    return {
      ...row,
      run: run.id,
      outcome: entry?.outcome ?? run.info().status,
      steps: metrics.steps,
      trainLoss: metrics.trainLoss,
      valLoss: metrics.valLoss,
      accuracy,
      metric: row.status === 'done' && metric !== undefined && Number.isFinite(metric) ? metric : undefined,
    };
  });
  markBest(rows, planned);
  return {
    sweep: sweep.name,
    metric: sweep.metric,
    axes: Object.keys(sweep.axes),
    bestOf: sweep.bestOf?.axis,
    rows,
    configs: summarize(rows, planned),
  };
}

/** Best-of: within each group (same everything but the best-of axis), the run with the best metric. */
export function markBest(rows: SweepRow[], planned: PlannedSweep): void {
  const sign = metricDirection(planned.sweep.metric) === 'max' ? 1 : -1;
  const groups = new Map<string, SweepRow[]>();
  const groupOf = new Map(planned.points.map((p) => [p.id, p.group]));
  for (const row of rows) {
    if (row.metric === undefined) continue;
    const key = groupOf.get(row.id)!;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  for (const members of groups.values()) {
    if (!planned.sweep.bestOf) {
      for (const m of members) m.best = true;
      continue;
    }
    // Ties go to the earlier grid point, so the choice never depends on run order.
    const best = members.reduce((a, b) => (sign * (b.metric! - a.metric!) > 0 ? b : a));
    best.best = true;
  }
}

/** Per configuration (best-of applied): mean, sample std, min, max over seeds. */
export function summarize(rows: SweepRow[], planned: PlannedSweep): ConfigSummary[] {
  const bestAxis = planned.sweep.bestOf?.axis;
  const configOf = new Map(planned.points.map((p) => [p.id, p.config]));
  const groups = new Map<string, SweepRow[]>();
  for (const row of rows) {
    if (!row.best) continue;
    const key = configOf.get(row.id)!;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((members) => {
    const values = members.map((m) => m.metric!);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std =
      values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
    const axes = { ...members[0].axes };
    if (bestAxis) delete axes[bestAxis];
    return {
      family: members[0].family,
      axes,
      params: members[0].params,
      stateBytes: members[0].stateBytes,
      n: values.length,
      mean,
      std,
      min: Math.min(...values),
      max: Math.max(...values),
      chosen: bestAxis ? members.map((m) => m.axes[bestAxis]) : [],
    };
  });
}

export interface ChartSeries {
  /** Family, plus the other axes' values when more than one axis varies. */
  label: string;
  family: string;
  points: { x: AxisValue; mean: number; std: number; min: number; max: number; n: number }[];
}

/**
 * Metric against one axis: one series per family (and per value of the other non-best-of axes); against
 * `params` or `stateBytes`, one series per family through all its configurations.
 */
export function chartSeries(results: SweepResults, xAxis: string): ChartSeries[] {
  if (!results.axes.includes(xAxis) && xAxis !== 'params' && xAxis !== 'stateBytes')
    throw new Error(
      `no axis "${xAxis}" in sweep ${results.sweep} (axes: ${results.axes.join(', ')}; also params, stateBytes)`,
    );
  const series = new Map<string, ChartSeries>();
  for (const c of results.configs) {
    // Against a figure of the model (params, state bytes) every configuration of a family is one line.
    const byFigure = xAxis === 'params' || xAxis === 'stateBytes';
    const others = Object.entries(c.axes)
      .filter(([name]) => name !== xAxis && !byFigure)
      .map(([name, v]) => `${name}=${String(v)}`);
    const label = [c.family, ...others].join(' ');
    const s = series.get(label) ?? { label, family: c.family, points: [] };
    const x = xAxis === 'params' ? c.params : xAxis === 'stateBytes' ? c.stateBytes : c.axes[xAxis];
    s.points.push({ x, mean: c.mean, std: c.std, min: c.min, max: c.max, n: c.n });
    series.set(label, s);
  }
  for (const s of series.values()) s.points.sort((a, b) => (Number(a.x) > Number(b.x) ? 1 : -1));
  return [...series.values()];
}

function runsByName(runsDir: string): Map<string, Run> {
  const map = new Map<string, Run>();
  for (const run of new RunStore(runsDir).list()) {
    try {
      map.set(run.info().name, run); // list() is sorted by id (time stamp first): the latest wins
    } catch {
      // an unreadable run.json belongs to no sweep point
    }
  }
  return map;
}
