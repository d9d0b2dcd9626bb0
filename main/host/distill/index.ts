// The distillation host API: what the CLI calls and what the app's Distill view will call through the
// LabApi. Plan (CPU only: the student, the transfer table with both shapes, the stages — what the view
// shows and lets the user edit before starting), start (a handle to observe and stop), resume, and read a
// distill run folder back.

import { shapesOf, type TransferTable } from '../../../gpu/distill/transfer.js';
import { RunStore, type Run } from '../runs/run-store.js';
import { planDistill, type DistillPlan, type DistillRequest } from './config.js';
import {
  distillRun,
  DistillControl,
  readDistillRun,
  type DistillCallbacks,
  type DistillMetricsRow,
  type DistillOutcome,
} from './run.js';

export {
  DISTILL_DEFAULTS,
  DISTILL_FORMAT,
  loadDistillConfig,
  openTeacher,
  planDistill,
  teacherData,
} from './config.js';
export type { DistillPlan, DistillRequest, StudentRequest } from './config.js';
export { distillRun, DistillControl, readDistillRun, resumeDistill } from './run.js';
export type {
  DistillCallbacks,
  DistillInfo,
  DistillMetricsRow,
  DistillOutcome,
  DistillStageRecord,
  SavedDistillConfig,
} from './run.js';
export {
  DistillError,
  STUDENT_FAMILIES,
  parseHybrid,
  type StudentFamily,
  type StudentLayer,
} from '../../../gpu/distill/student.js';
export {
  TransferError,
  compatibleSources,
  formatTransferTable,
  shapesOf,
  transferProblems,
  type TransferRow,
  type TransferTable,
} from '../../../gpu/distill/transfer.js';
export {
  LOSS_TERMS,
  checkStages,
  parseStage,
  type DistillStage,
  type StageLosses,
} from '../../../gpu/distill/stages.js';

/** A plan as plain JSON (for a view): the student graph, the layers, the table with shapes, the stages. */
export interface DistillPlanSummary {
  teacher: { run: string; dir: string; step: number; name: string };
  student: { label: string; graph: DistillPlan['studentGraph']; params: number; stateBytes: number };
  teacherParams: number;
  layers: DistillPlan['map']['layers'];
  table: TransferTable;
  shapes: { teacher: Record<string, number[]>; student: Record<string, number[]> };
  stages: DistillPlan['stages'];
  data: DistillPlan['data'];
  settings: DistillPlan['settings'];
}

export function summarizePlan(plan: DistillPlan): DistillPlanSummary {
  const plain = (specs: DistillPlan['teacherModel']['specs']) =>
    Object.fromEntries([...shapesOf(specs)].map(([n, s]) => [n, [...s]]));
  return {
    teacher: {
      run: plan.teacherRun.id,
      dir: plan.teacherRun.dir,
      step: plan.teacherStep,
      name: plan.teacherGraph.name,
    },
    student: {
      label: plan.studentLabel,
      graph: plan.studentGraph,
      params: plan.studentModel.totals.params,
      stateBytes: plan.studentModel.totals.stateBytes,
    },
    teacherParams: plan.teacherModel.totals.params,
    layers: plan.map.layers,
    table: plan.table,
    shapes: { teacher: plain(plan.teacherModel.specs), student: plain(plan.studentModel.specs) },
    stages: plan.stages,
    data: plan.data,
    settings: plan.settings,
  };
}

/** Checks a request without running it: the summary, or the error that would stop it. */
export function previewDistill(request: DistillRequest): DistillPlanSummary {
  return summarizePlan(planDistill(request));
}

export interface DistillHandle {
  /** Resolves with the run folder once it exists (after the plan, the data and the GPU are ready). */
  run: Promise<Run>;
  /** Resolves when the run ends (completed, stopped, non-finite) or rejects with what failed. */
  done: Promise<{ run: Run; outcome: DistillOutcome }>;
  /** Stops after the current step; later stages do not start. */
  stop(): void;
}

/** Starts a distill run in the background; `onMetrics` sees every row as it is written. */
export function startDistill(request: DistillRequest, callbacks: DistillCallbacks = {}): DistillHandle {
  const control = new DistillControl();
  let created: (run: Run) => void = () => {};
  let failed: (error: unknown) => void = () => {};
  const run = new Promise<Run>((resolve, reject) => {
    created = resolve;
    failed = reject;
  });
  const done = distillRun(request, { ...callbacks, onRun: (r) => (created(r), callbacks.onRun?.(r)) }, control).then(
    ({ run: r, outcome }) => ({ run: r, outcome }),
    (error) => {
      failed(error);
      throw error;
    },
  );
  // A caller awaiting only `done` must not see an unhandled rejection of `run`.
  run.catch(() => undefined);
  return { run, done, stop: () => control.stop() };
}

/** A distill run folder read back: its distill sections and metric rows (for charts). */
export function readDistill(runRef: string, runsDir: string) {
  const run = new RunStore(runsDir).open(runRef);
  const { info, config } = readDistillRun(run);
  return {
    run: run.id,
    dir: run.dir,
    status: info.status,
    distill: info.distill,
    config,
    checkpoints: run.checkpointSteps(),
    metrics: run.metrics() as DistillMetricsRow[],
  };
}

export type { Run };
