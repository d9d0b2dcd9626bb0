// The sweep runner: the planned grid's runs one after another on the local GPU, each a normal run folder
// (trainRun), then its metric. Resumable: points the state file marks finished are never repeated; a
// run folder left by a stopped sweep (found by its run.json name) is resumed from its latest checkpoint
// or, when it finished training, only evaluated. Early stopping: a validation-loss target stops a run
// (the trainer's target loss); a metric target skips a configuration's remaining best-of candidates.

import type { MetricsRow, Trainer } from '../../../gpu/train/trainer.js';
import { metricDirection } from '../../../shared/sweeps/schema.js';
import { RunStore, type Run } from '../runs/run-store.js';
import { resumeRun, trainRun } from '../train-run.js';
import { evaluatePoint, type PointMetrics } from './evaluate.js';
import type { PlannedPoint, PlannedSweep } from './plan.js';
import { readState, sweepRunName, writeState, type PointState, type SweepState } from './state.js';

export interface SweepCallbacks {
  /** Before each point: its position among the points this call will visit. */
  onRunStart?: (point: PlannedPoint, position: number, count: number) => void;
  onMetrics?: (point: PlannedPoint, row: MetricsRow) => void;
  onRunEnd?: (point: PlannedPoint, state: PointState, position: number, count: number) => void;
  /** A point already finished (or skipped) by an earlier call. */
  onSkip?: (point: PlannedPoint, state: PointState) => void;
  onLog?: (message: string) => void;
}

export interface SweepRunOptions {
  runsDir: string;
  /** Visit only the first N points of the grid (the rest stay pending). */
  only?: number;
}

export interface SweepSummary {
  status: 'finished' | 'stopped';
  ran: number;
  skipped: number;
  failed: number;
  state: SweepState;
}

export interface SweepHandle {
  done: Promise<SweepSummary>;
  /** Stops the current run at its next step; the sweep then ends (resumable). */
  stop(): void;
}

const FINISHED: ReadonlySet<string> = new Set(['done', 'skipped']);
const DEFAULT_EVAL_SAMPLES = 256;

export function startSweep(
  planned: PlannedSweep,
  options: SweepRunOptions,
  callbacks: SweepCallbacks = {},
): SweepHandle {
  let stopRequested = false;
  let trainer: Trainer | null = null;
  const done = runAll(planned, options, callbacks, {
    stopped: () => stopRequested,
    setTrainer: (t) => (trainer = t),
  });
  return {
    done,
    stop() {
      stopRequested = true;
      trainer?.stop();
    },
  };
}

export function runSweep(planned: PlannedSweep, options: SweepRunOptions, callbacks: SweepCallbacks = {}) {
  return startSweep(planned, options, callbacks).done;
}

async function runAll(
  planned: PlannedSweep,
  options: SweepRunOptions,
  callbacks: SweepCallbacks,
  control: { stopped(): boolean; setTrainer(t: Trainer | null): void },
): Promise<SweepSummary> {
  const { sweep } = planned;
  const state = readState(options.runsDir, sweep.name);
  const points = planned.points.slice(0, options.only ?? planned.points.length);
  const summary: SweepSummary = { status: 'finished', ran: 0, skipped: 0, failed: 0, state };
  const save = (point: PlannedPoint, entry: PointState) => {
    state.points[point.id] = entry;
    writeState(options.runsDir, state);
  };
  for (const [position, point] of points.entries()) {
    if (control.stopped()) {
      summary.status = 'stopped';
      break;
    }
    const previous = state.points[point.id];
    if (previous && FINISHED.has(previous.status)) {
      summary.skipped++;
      callbacks.onSkip?.(point, previous);
      continue;
    }
    const reachedBy = targetReachedInGroup(planned, point, state);
    if (reachedBy) {
      const entry: PointState = {
        status: 'skipped',
        message: `${reachedBy} already reached the target ${sweep.earlyStop!.metric} of ${sweep.metric}`,
        finished: new Date().toISOString(),
      };
      save(point, entry);
      summary.skipped++;
      callbacks.onSkip?.(point, entry);
      continue;
    }
    callbacks.onRunStart?.(point, position, points.length);
    const started = performance.now();
    let entry: PointState;
    try {
      const trained = await trainPoint(planned, point, options.runsDir, callbacks, control);
      if (trained.outcome === 'stopped' && !trained.capped) {
        summary.status = 'stopped'; // the user stopped it: leave the point pending, resumable
        break;
      }
      const metrics = await evaluatePoint(
        point,
        trained.run,
        options.runsDir,
        sweep.metric,
        sweep.evalSamples ?? DEFAULT_EVAL_SAMPLES,
      );
      entry = finishedEntry(planned, trained, metrics, (performance.now() - started) / 1000);
      summary.ran++;
    } catch (error) {
      entry = { status: 'failed', message: (error as Error).message, finished: new Date().toISOString() };
      summary.failed++;
      callbacks.onLog?.(`run ${point.id} failed: ${(error as Error).message}`);
    }
    save(point, entry);
    callbacks.onRunEnd?.(point, entry, position, points.length);
  }
  return summary;
}

interface Trained {
  run: Run;
  outcome: string;
  /** Stopped by the sweep's per-run time cap (a finished point), not by the user. */
  capped: boolean;
}

async function trainPoint(
  planned: PlannedSweep,
  point: PlannedPoint,
  runsDir: string,
  callbacks: SweepCallbacks,
  control: { stopped(): boolean; setTrainer(t: Trainer | null): void },
): Promise<Trained> {
  const { sweep } = planned;
  const name = sweepRunName(sweep.name, point.id);
  const t = point.train;
  let capped = false;
  let timer: NodeJS.Timeout | undefined;
  const trainCallbacks = {
    onMetrics: (row: MetricsRow) => callbacks.onMetrics?.(point, row),
    onLog: callbacks.onLog,
    onTrainer: (trainer: Trainer) => {
      control.setTrainer(trainer);
      if (control.stopped()) trainer.stop();
      if (t.maxSeconds !== undefined)
        timer = setTimeout(() => {
          capped = true;
          trainer.stop();
        }, t.maxSeconds * 1000);
    },
  };
  try {
    const existing = findRun(runsDir, name);
    if (existing) {
      const info = existing.info();
      const steps = existing.checkpointSteps();
      const last = steps[steps.length - 1];
      if (info.status === 'completed' || info.status === 'target-reached' || info.status === 'non-finite')
        return { run: existing, outcome: info.status, capped: false };
      if (last !== undefined) {
        callbacks.onLog?.(`run ${point.id}: resuming ${existing.id} from step ${last}`);
        const { run, outcome } = await resumeRun(existing.dir, runsDir, {}, trainCallbacks);
        return { run, outcome: capped ? 'time-cap' : outcome.status, capped };
      }
      callbacks.onLog?.(`run ${point.id}: ${existing.id} has no checkpoint; training again`);
    }
    // A time cap stops a run between checkpoints: checkpoint often enough that little is lost.
    const checkpointEvery =
      t.checkpointEvery ?? (t.maxSeconds !== undefined ? Math.max(1, Math.floor(t.steps / 20)) : t.steps);
    const { run, outcome } = await trainRun(
      {
        graph: point.graph,
        data: point.dataSpec,
        runsDir,
        name,
        steps: t.steps,
        batch: t.batch,
        seqLen: point.seqLen,
        lr: t.lr,
        seed: point.seed,
        warmupSteps: t.warmupSteps,
        weightDecay: t.weightDecay,
        evalEvery: t.evalEvery ?? t.steps,
        evalBatches: t.evalBatches,
        checkpointEvery,
        targetLoss: sweep.earlyStop?.valLoss,
      },
      trainCallbacks,
    );
    return { run, outcome: capped ? 'time-cap' : outcome.status, capped };
  } finally {
    clearTimeout(timer);
    control.setTrainer(null);
  }
}

/** The latest run folder that carries this run name (several exist when a run restarted without a checkpoint). */
export function findRun(runsDir: string, name: string): Run | undefined {
  const matches = new RunStore(runsDir).list().filter((run) => {
    try {
      return run.info().name === name;
    } catch {
      return false;
    }
  });
  return matches[matches.length - 1];
}

function finishedEntry(planned: PlannedSweep, trained: Trained, metrics: PointMetrics, seconds: number): PointState {
  const metric = planned.sweep.metric === 'mqar_accuracy' ? metrics.accuracy : metrics.valLoss;
  return {
    status: 'done',
    run: trained.run.id,
    outcome: trained.outcome,
    ...(metric !== undefined && Number.isFinite(metric) ? { metric } : {}),
    ...(metrics.valLoss !== undefined ? { valLoss: metrics.valLoss } : {}),
    ...(metrics.accuracy !== undefined ? { accuracy: metrics.accuracy } : {}),
    steps: metrics.steps,
    seconds: Math.round(seconds * 10) / 10,
    finished: new Date().toISOString(),
  };
}

/** The id of a finished run of the same best-of group whose metric reached the sweep's target, if any. */
function targetReachedInGroup(planned: PlannedSweep, point: PlannedPoint, state: SweepState): string | undefined {
  const target = planned.sweep.earlyStop?.metric;
  if (target === undefined || !planned.sweep.bestOf) return undefined;
  const better =
    metricDirection(planned.sweep.metric) === 'max' ? (m: number) => m >= target : (m: number) => m <= target;
  return planned.points.find((p) => {
    if (p.group !== point.group || p.id === point.id) return false;
    const s = state.points[p.id];
    return s?.status === 'done' && s.metric !== undefined && better(s.metric);
  })?.id;
}
