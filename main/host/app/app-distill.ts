// The Distill view's host side, over the distillation service that `statelab distill` runs
// (main/host/distill): which runs can teach (an attention graph with a checkpoint), a request checked into
// a plan without running anything (the student, the transfer table with both shapes, the stages), one
// distillation at a time on the host's GPU — its metric rows kept for the page to poll — stop, and a
// finished run read back. Like sweeps and analyses, distilling needs dawn.node, which the desktop app's
// main process cannot load: there the view still previews, and names the CLI command to run.

import { basename, dirname } from 'node:path';
import { compileGraph } from '../../../gpu/graph/compile.js';
import { mixerInstances } from '../../../gpu/distill/student.js';
import {
  DISTILL_FAMILIES,
  LabApiError,
  type DistillChoices,
  type DistillDataChoice,
  type DistillMetricRow,
  type DistillPreview,
  type DistillProgress,
  type DistillRunView,
  type DistillStageEdit,
  type DistillStageView,
  type DistillViewRequest,
} from '../../../shared/lab-api.js';
import type { DataSpec } from '../data-source.js';
import {
  checkStages,
  compatibleSources,
  parseHybrid,
  parseStage,
  planDistill,
  readDistill,
  startDistill,
  STUDENT_FAMILIES,
  shapesOf,
  summarizePlan,
  TransferError,
  transferProblems,
  type DistillHandle,
  type DistillMetricsRow,
  type DistillPlan,
  type DistillRequest,
  type DistillStage,
  type TransferTable,
} from '../distill/index.js';
import { RunStore, type Run } from '../runs/run-store.js';
import { resolveDataSpec } from './app-data.js';
import { openRun } from './app-runs.js';
import { isInside } from './confine.js';
import type { Workspace } from './workspace.js';

// The page's list of families and stage type must be the service's (shared/ cannot import gpu/).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export type ContractChecks = [
  Same<(typeof DISTILL_FAMILIES)[number], (typeof STUDENT_FAMILIES)[number]>,
  Same<DistillStage extends DistillStageView ? true : false, true>,
];

/** Log lines kept for the page. */
const LOG_LINES = 50;

/** Metric row fields the charts read (the trainer's other fields stay in metrics.jsonl). */
const ROW_FIELDS = [
  'kl',
  'ce',
  'attention',
  'hidden',
  'attention_layers',
  'hidden_layers',
  'val_loss',
  'val_ppl',
  'teacher_val_loss',
  'teacher_val_ppl',
] as const;

export function viewRow(row: DistillMetricsRow): DistillMetricRow {
  const out: DistillMetricRow = {
    step: row.step,
    stage: row.stage,
    stage_index: row.stage_index,
    loss: row.loss,
    lr: row.lr,
  };
  for (const key of ROW_FIELDS) if (row[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = row[key];
  return out;
}

function describeData(data: DistillPlan['data'], own: boolean): string {
  const whose = own ? " (the teacher's own data)" : '';
  if (data.kind === 'task') return `task ${data.task}${whose}`;
  const tokenizer = /tokenizer\.json$/.test(data.tokenizer) ? "the teacher's tokenizer" : data.tokenizer;
  return `text ${basename(data.path)} (${tokenizer})${whose}`;
}

/** A request checked into a plan, with the service request that runs it and the automatic table. */
interface Planned {
  plan: DistillPlan;
  request: DistillRequest;
  automatic: TransferTable;
}

/** The attention mixer instances of a run's graph (0 when it has none, or does not compile). */
function attentionLayers(run: Run): number {
  try {
    return mixerInstances(compileGraph(run.graph()).graph).filter((m) => m.node.spec.kind === 'mixer.attention').length;
  } catch {
    return 0; // a graph this build cannot compile cannot teach either
  }
}

export class AppDistill {
  private active: {
    progress: DistillProgress;
    rows: DistillMetricRow[];
    handle: DistillHandle;
    startedAt: number;
  } | null = null;
  private last: { progress: DistillProgress; rows: DistillMetricRow[] } | null = null;

  /** `canRun`: whether this process can open dawn.node (browser mode and tests; not Electron's main). */
  /** `textDir`: the bundled texts, which the view may pick as the data to distill on. */
  constructor(
    private readonly workspace: (method: string) => Workspace,
    private readonly canRun = true,
    private readonly textDir: string | null = null,
  ) {}

  choices(): DistillChoices {
    const runsDir = this.workspace('distillChoices').runsDir;
    const choices: DistillChoices = { teachers: [], families: [...DISTILL_FAMILIES], runs: [], canRun: this.canRun };
    for (const run of new RunStore(runsDir).list().reverse()) {
      if (!isInside(dirname(runsDir), run.dir)) continue;
      try {
        const info = run.info() as ReturnType<Run['info']> & {
          kind?: string;
          distill?: { teacher: { run: string }; student: string };
        };
        if (info.kind === 'distill' && info.distill) {
          choices.runs.push({
            run: run.id,
            name: info.name,
            status: info.status,
            teacher: info.distill.teacher.run,
            student: info.distill.student,
          });
          continue;
        }
        const checkpoints = run.checkpointSteps();
        const layers = checkpoints.length ? attentionLayers(run) : 0;
        if (layers > 0) choices.teachers.push({ run: run.id, name: info.name, attentionLayers: layers, checkpoints });
      } catch {
        // a folder with a broken run.json is not offered, as in the run list
      }
    }
    return choices;
  }

  preview(request: DistillViewRequest): DistillPreview {
    const { plan, automatic } = this.plan('previewDistill', request);
    const summary = summarizePlan(plan);
    const shape = (side: Record<string, number[]>, name: string | null) =>
      name === null ? null : (side[name] ?? null);
    const teacherShapes = shapesOf(plan.teacherModel.specs);
    const studentShapes = shapesOf(plan.studentModel.specs);
    const edited = (row: TransferTable['rows'][number], i: number) => {
      const auto = automatic.rows[i];
      return !auto || auto.teacher !== row.teacher || auto.student !== row.student || auto.transform !== row.transform;
    };
    return {
      teacher: {
        run: summary.teacher.run,
        name: summary.teacher.name,
        step: summary.teacher.step,
        params: summary.teacherParams,
      },
      student: { label: summary.student.label, params: summary.student.params, stateBytes: summary.student.stateBytes },
      layers: summary.layers.map((l) => ({ ...l })),
      transfer: summary.table.rows.map((row, i) => ({
        teacher: row.teacher,
        teacherShape: shape(summary.shapes.teacher, row.teacher),
        student: row.student,
        studentShape: shape(summary.shapes.student, row.student),
        transform: row.transform,
        ...(row.rows ? { rows: [...row.rows] as [number, number] } : {}),
        ...(row.repeat !== undefined ? { repeat: row.repeat } : {}),
        ...(row.headDim !== undefined ? { headDim: row.headDim } : {}),
        note: row.note,
        sources: compatibleSources(row, teacherShapes, studentShapes),
        edited: edited(row, i),
      })),
      stages: structuredClone(summary.stages),
      data: describeData(summary.data, request.data === undefined),
      settings: {
        batch: summary.settings.batch,
        seqLen: summary.settings.seqLen,
        seed: summary.settings.seed,
        evalEvery: summary.settings.evalEvery,
        evalBatches: summary.settings.evalBatches,
      },
    };
  }

  start(request: DistillViewRequest): DistillProgress {
    if (this.active && !this.finished(this.active.progress)) {
      const p = this.active.progress;
      throw new LabApiError(
        'unsupported',
        `startDistill: distilling ${p.teacher} into ${p.student} is still running; stop it or wait for it to finish`,
      );
    }
    const runsDir = this.workspace('startDistill').runsDir;
    // Planned here, synchronously, so a bad request is refused before anything starts.
    const { plan, request: checked } = this.plan('startDistill', request);
    if (!this.canRun) {
      const hybrid = request.hybrid === 'none' ? '' : ` --hybrid ${request.hybrid}`;
      throw new LabApiError(
        'unsupported',
        `startDistill: the desktop app cannot distill on the host's GPU yet; run \`statelab distill "${plan.teacherRun.dir}" --student ${request.family}${hybrid} --runs "${runsDir}"\` and open its run here`,
      );
    }
    let start = 0;
    const progress: DistillProgress = {
      teacher: request.teacher,
      student: plan.studentLabel,
      run: null,
      state: 'starting',
      stages: plan.stages.map((s, index) => ({ name: s.name, index, start, end: (start += s.steps) })),
      stage: null,
      totalSteps: start,
      rowCount: 0,
      rows: [],
      log: [],
      started: new Date().toISOString(),
      seconds: 0,
    };
    const rows: DistillMetricRow[] = [];
    const log = (line: string) => (progress.log = [...progress.log, line].slice(-LOG_LINES));
    const handle = startDistill(checked, {
      onRun: (run) => {
        progress.run = run.id;
        if (progress.state === 'starting') progress.state = 'running';
      },
      onStage: (stage) => (progress.stage = stage.index),
      onMetrics: (row) => {
        rows.push(viewRow(row));
        progress.rowCount = rows.length;
      },
      onLog: log,
    });
    const startedAt = performance.now();
    const active = { progress, rows, handle, startedAt };
    this.active = active;
    handle.done
      .then(
        ({ outcome }) => {
          progress.state = outcome.status;
          if (outcome.status === 'non-finite') progress.message = outcome.message;
        },
        (error: Error) => {
          progress.state = 'failed';
          progress.message = error.message;
          log(`failed: ${error.message}`);
        },
      )
      .finally(() => {
        progress.seconds = (performance.now() - startedAt) / 1000;
        this.last = { progress, rows };
        if (this.active === active) this.active = null;
      });
    return this.snapshot(progress, rows, 0, startedAt);
  }

  progress(since: number): DistillProgress | null {
    if (this.active) return this.snapshot(this.active.progress, this.active.rows, since, this.active.startedAt);
    return this.last ? this.snapshot(this.last.progress, this.last.rows, since) : null;
  }

  stop(): DistillProgress | null {
    if (!this.active) return null;
    const { progress, rows, handle, startedAt } = this.active;
    if (!this.finished(progress)) progress.state = 'stopping';
    handle.stop();
    return this.snapshot(progress, rows, rows.length, startedAt);
  }

  read(runId: string): DistillRunView {
    const runsDir = this.workspace('readDistill').runsDir;
    openRun(runsDir, runId); // not-found and links out of the workspace are refused here
    let read: ReturnType<typeof readDistill>;
    try {
      read = readDistill(runId, runsDir);
    } catch (error) {
      throw new LabApiError('bad-arguments', `readDistill: ${(error as Error).message}`);
    }
    const info = new RunStore(runsDir).open(runId).info();
    return {
      run: read.run,
      name: info.name,
      status: read.status,
      ...(typeof info.message === 'string' ? { message: info.message } : {}),
      teacher: { run: read.distill.teacher.run, step: read.distill.teacher.step },
      student: read.distill.student,
      stages: read.distill.stages,
      layers: read.distill.layers,
      teacherValLoss: read.distill.teacher_val_loss,
      checkpoints: read.checkpoints,
      rows: read.metrics.map(viewRow),
    };
  }

  private finished(p: DistillProgress): boolean {
    return p.state !== 'starting' && p.state !== 'running' && p.state !== 'stopping';
  }

  private snapshot(p: DistillProgress, rows: DistillMetricRow[], since: number, startedAt?: number): DistillProgress {
    return {
      ...structuredClone({ ...p, rows: [] }),
      rows: structuredClone(rows.slice(since)),
      ...(startedAt !== undefined && !this.finished(p) ? { seconds: (performance.now() - startedAt) / 1000 } : {}),
    };
  }

  /** The service's request: the teacher by its folder, the recipe's settings, the data the view chose. */
  private request(r: DistillViewRequest, runsDir: string, data: DataSpec | undefined): DistillRequest {
    const teacher = openRun(runsDir, r.teacher);
    return {
      teacher: { run: teacher.dir },
      student: { family: r.family, hybrid: r.hybrid },
      runsDir,
      ...(r.name !== undefined ? { name: r.name } : {}),
      ...(r.steps !== undefined ? { steps: r.steps } : {}),
      ...(r.lr !== undefined ? { lr: r.lr } : {}),
      ...(r.batch !== undefined ? { batch: r.batch } : {}),
      ...(r.seqLen !== undefined ? { seqLen: r.seqLen } : {}),
      ...(r.evalEvery !== undefined ? { evalEvery: r.evalEvery } : {}),
      ...(r.evalBatches !== undefined ? { evalBatches: r.evalBatches } : {}),
      ...(r.seed !== undefined ? { seed: r.seed } : {}),
      ...(data ? { data } : {}),
    };
  }

  /** A bundled text or a data/ file as the service's text spec; the tokenizer is left to the teacher's. */
  private data(method: string, choice: DistillDataChoice): DataSpec {
    const root = this.workspace(method).root;
    if (choice.kind === 'bundled-text' && !this.textDir)
      throw new LabApiError('unsupported', `${method}: request.data: this host has no bundled texts`);
    try {
      const spec =
        choice.kind === 'bundled-text'
          ? { kind: choice.kind, id: choice.id, validationFraction: 0.1 }
          : { kind: choice.kind, name: choice.name, tokenizer: 'byte', validationFraction: 0.1 };
      const { path, format } = resolveDataSpec(spec, this.textDir ?? '', root);
      // An empty tokenizer is filled in with the teacher's (teacherData): its vocabulary is fixed.
      return {
        kind: 'text',
        path,
        format,
        tokenizer: '',
        ...(choice.kind === 'file' && choice.field ? { field: choice.field } : {}),
      };
    } catch (error) {
      if (error instanceof LabApiError) throw new LabApiError(error.code, `${method}: request.data: ${error.message}`);
      throw new LabApiError('bad-arguments', `${method}: request.data: ${(error as Error).message}`);
    }
  }

  /**
   * A recipe stage with the view's edits: a named loss term's weight (and KL's temperature) replaced, a term
   * not in the recipe added, the freeze patterns, steps and lr replaced; checked as a distill.json stage is.
   */
  private editedStage(method: string, stage: DistillStage, edit: DistillStageEdit, i: number): DistillStage {
    if (Object.keys(edit).length === 0) return stage;
    const losses = structuredClone(stage.losses) as Record<string, { weight?: number; temperature?: number }>;
    for (const [term, l] of Object.entries(edit.losses ?? {}))
      losses[term] = { ...(losses[term] ?? { weight: 0 }), ...l };
    const raw = {
      ...stage,
      losses,
      train: edit.train ?? stage.train,
      steps: edit.steps ?? stage.steps,
      lr: edit.lr ?? stage.lr,
    };
    try {
      return parseStage(raw, `request.stages[${i}]`, stage.name);
    } catch (error) {
      throw new LabApiError('bad-arguments', `${method}: stage ${i + 1} "${stage.name}": ${(error as Error).message}`);
    }
  }

  /**
   * Checks a request into a plan; every refusal is a `bad-arguments` error naming the method and the field —
   * a stage's (with the stage's number and name) or the edited transfer table's row (the table's validator).
   */
  private plan(method: string, r: DistillViewRequest): Planned {
    const runsDir = this.workspace(method).runsDir;
    const teacher = openRun(runsDir, r.teacher);
    try {
      parseHybrid(r.hybrid);
    } catch (error) {
      throw new LabApiError('bad-arguments', `${method}: request.hybrid: ${(error as Error).message}`);
    }
    const data = r.data ? this.data(method, r.data) : undefined;
    const planned = (request: DistillRequest) => {
      try {
        return planDistill(request);
      } catch (error) {
        throw new LabApiError('bad-arguments', `${method}: teacher ${teacher.id}: ${(error as Error).message}`);
      }
    };
    const base = this.request(r, runsDir, data);
    const recipe = planned(base);
    const overrides = r.stages ?? [];
    if (overrides.length > recipe.stages.length)
      throw new LabApiError(
        'bad-arguments',
        `${method}: request.stages has ${overrides.length} entries; the recipe has ${recipe.stages.length} stages (${recipe.stages.map((s) => s.name).join(', ')})`,
      );
    const request: DistillRequest = { ...base };
    if (overrides.length) {
      request.stages = recipe.stages.map((s, i) => this.editedStage(method, s, overrides[i] ?? {}, i));
      try {
        checkStages(
          request.stages,
          recipe.map,
          recipe.studentModel.specs.map((s) => s.name),
        );
      } catch (error) {
        throw new LabApiError('bad-arguments', `${method}: ${(error as Error).message}`);
      }
    }
    if (r.transfer) {
      const table: TransferTable = { ...recipe.table, rows: r.transfer.map((row) => ({ ...row })) };
      const problems = transferProblems(
        table,
        shapesOf(recipe.teacherModel.specs),
        shapesOf(recipe.studentModel.specs),
      );
      if (problems.length)
        throw new LabApiError('bad-arguments', `${method}: request.transfer: ${new TransferError(problems).message}`);
      request.transfer = table;
    }
    const plan = request.stages || request.transfer ? planned(request) : recipe;
    return { plan, request, automatic: recipe.table };
  }
}
