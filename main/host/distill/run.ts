// The distillation service, as one story: plan (everything checked on the CPU) → data → teacher and student
// on the GPU (the student initialized by the transfer table) → run folder → stages, each a Trainer over the
// student's parameters with its own objective, freeze mask, learning rate and schedule → done.
//
// A distill run is an ordinary run folder — graph.json is the student, checkpoints hold the student's
// parameters, so generate/inspect/export/eval read it like any run — plus distill.json (the resolved
// config), transfer.json (the table used), and metric rows that carry the stage, every loss term and the
// per-layer values. Checkpoints are numbered by global step and record their stage, so a stopped run resumes
// in the stage it was in.

import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { GraphDoc } from '../../../shared/graph/schema.js';
import { parameter } from '../../../gpu/autograd.js';
import type { Engine } from '../../../gpu/engine.js';
import { compileGraph } from '../../../gpu/graph/compile.js';
import { uploadParams } from '../../../gpu/generate/load-params.js';
import { initialValues, type ParamMap } from '../../../gpu/nn/module.js';
import { distillObjective, modelLoss, type DistillModels } from '../../../gpu/distill/objective.js';
import { activeTerms, stageSchedule, trainableNames, type DistillStage } from '../../../gpu/distill/stages.js';
import { DistillError, type StudentMap } from '../../../gpu/distill/student.js';
import { applyTransfer, type TensorData } from '../../../gpu/distill/transfer.js';
import type { Batch } from '../../../gpu/train/step.js';
import {
  Trainer,
  type Checkpoint,
  type MetricsRow,
  type TrainerConfig,
  type TrainOutcome,
} from '../../../gpu/train/trainer.js';
import type { Tensor } from '../../../gpu/tensor.js';
import { writeFileAtomic } from '../atomic-file.js';
import { openDataSource, type DataSource, type DataSpec } from '../data-source.js';
import { createNodeEngine } from '../node-gpu.js';
import { RunStore, type Run, type RunInfo } from '../runs/run-store.js';
import { hfConfig } from '../train-run.js';
import { openTeacher, planDistill, type DistillPlan, type DistillRequest } from './config.js';

const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

/** A metrics row of a distill run: the trainer's row plus the stage, each term and each layer. */
export interface DistillMetricsRow extends MetricsRow {
  stage: string;
  stage_index: number;
  kl?: number;
  ce?: number;
  attention?: number;
  hidden?: number;
  /** Attention-transfer MSE per converted layer (student module name). */
  attention_layers?: Record<string, number>;
  /** Hidden-state MSE per block output (student module name). */
  hidden_layers?: Record<string, number>;
  /** exp(val_loss): the student's validation perplexity where val_loss is reported. */
  val_ppl?: number;
  teacher_val_loss?: number;
  teacher_val_ppl?: number;
}

export interface DistillStageRecord {
  name: string;
  index: number;
  /** Global steps [start, end). */
  start: number;
  end: number;
}

/** The `distill` section of run.json. */
export interface DistillInfo {
  teacher: { run: string; dir: string; step: number };
  student: string;
  stages: DistillStageRecord[];
  layers: StudentMap['layers'];
  /** The teacher's validation loss on the same batches the student is evaluated on (null: no held-out data). */
  teacher_val_loss: number | null;
}

/** The resolved config saved as distill.json: what resume needs besides graph.json and the checkpoints. */
export interface SavedDistillConfig {
  format: 'statelab-distill-run';
  teacher: { dir: string; step: number };
  data: DataSpec;
  stages: DistillStage[];
  map: StudentMap;
  settings: DistillPlan['settings'];
}

export type DistillOutcome =
  | { status: 'completed' | 'stopped' | 'target-reached'; step: number; lastLoss: number; stage: string }
  | { status: 'non-finite'; step: number; message: string; stage: string };

export interface DistillCallbacks {
  onRun?: (run: Run) => void;
  onStage?: (stage: DistillStageRecord) => void;
  onMetrics?: (row: DistillMetricsRow) => void;
  onLog?: (message: string) => void;
}

/** Lets a caller stop the run after the current step (SIGINT, the app's Stop button). */
export class DistillControl {
  stopped = false;
  trainer: Trainer | null = null;
  stop(): void {
    this.stopped = true;
    this.trainer?.stop();
  }
}

function stageRecords(stages: readonly DistillStage[]): DistillStageRecord[] {
  let start = 0;
  return stages.map((s, index) => ({ name: s.name, index, start, end: (start += s.steps) }));
}

function float32(values: Float64Array): Float32Array {
  return Float32Array.from(values);
}

/** Student parameters: the family's initialization overwritten by the transfer table, then uploaded. */
function transferredValues(plan: DistillPlan, seed: number, teacher: ReadonlyMap<string, TensorData>) {
  const values = new Map<string, TensorData>(
    plan.studentModel.specs.map((s) => [s.name, { shape: s.shape, data: float32(initialValues(s, seed).data) }]),
  );
  applyTransfer(plan.table, teacher, values);
  return values;
}

function trainableParams(engine: Engine, values: ReadonlyMap<string, TensorData>): ParamMap {
  const params: ParamMap = new Map();
  for (const [name, t] of values) params.set(name, parameter(engine.keep(engine.fromArray(t.data, t.shape)), name));
  return params;
}

interface Session {
  engine: Engine;
  run: Run;
  models: DistillModels;
  data: DataSource;
  validation: Batch[] | null;
  stages: DistillStage[];
  records: DistillStageRecord[];
  settings: DistillPlan['settings'];
  teacherValLoss: number | null;
  control: DistillControl;
  callbacks: DistillCallbacks;
}

/** Mean validation loss of the teacher over the held-out batches (once: the teacher does not change). */
async function teacherValidation(s: Omit<Session, 'teacherValLoss'>): Promise<number | null> {
  if (!s.validation?.length) return null;
  const { engine, models } = s;
  const losses = s.validation.map((b) =>
    engine.tidy(() => {
      const ids = engine.fromArray(b.inputs, [b.batch, b.seqLen], 'i32');
      const targets = engine.fromArray(b.targets, [b.batch, b.seqLen], 'i32');
      return engine.readLater(modelLoss(engine, models.teacher, models.teacherParams, ids, targets));
    }),
  );
  engine.flush();
  const values = await Promise.all(losses);
  return values.reduce((sum, v) => sum + v[0], 0) / values.length;
}

/** Runs stage `index` (from its step 0, or from a checkpoint of it) to its end. */
async function runStage(s: Session, index: number, resumeFrom?: Checkpoint): Promise<TrainOutcome> {
  const { engine, models, run, callbacks } = s;
  const stage = s.stages[index];
  const record = s.records[index];
  const trained = trainableNames([...models.studentParams.keys()], stage.train);
  for (const [name, p] of models.studentParams) p.requiresGrad = trained.has(name);
  const objective = distillObjective(engine, models, stage.losses);
  const terms = activeTerms(stage.losses);
  /** Term values of each step, read back with the step's metrics (by the stage's step). */
  const pending = new Map<number, Promise<Partial<DistillMetricsRow>>>();
  let trainer: Trainer | null = null;

  const lossFn = (_: ParamMap, ids: Tensor, targets: Tensor): Tensor => {
    // The trainer's validation runs without gradients: it measures the student's plain next-token loss.
    if (!engine.isGradEnabled) return modelLoss(engine, models.student, models.studentParams, ids, targets);
    const out = objective(ids, targets);
    const reads = terms.map((t) => engine.readLater(out.terms[t]!));
    const layerReads = (values: Record<string, Tensor>) =>
      Object.entries(values).map(([name, t]) => engine.readLater(t).then((v) => [name, v[0]] as const));
    const attention = Promise.all(layerReads(out.layers.attention));
    const hidden = Promise.all(layerReads(out.layers.hidden));
    pending.set(
      trainer!.executor.step - 1,
      Promise.all([Promise.all(reads), attention, hidden]).then(([values, a, h]) => ({
        ...Object.fromEntries(terms.map((t, i) => [t, values[i][0]])),
        ...(a.length ? { attention_layers: Object.fromEntries(a) } : {}),
        ...(h.length ? { hidden_layers: Object.fromEntries(h) } : {}),
      })),
    );
    return out.total;
  };
  const config: TrainerConfig = {
    steps: stage.steps,
    lr: stage.lr,
    schedule: stageSchedule(stage),
    weightDecay: stage.weightDecay ?? 0,
    clipNorm: stage.clipNorm ?? 1,
    evalEvery: s.settings.evalEvery,
    // Every stage ends with a checkpoint: its student is loadable whatever the interval.
    checkpointEvery: s.settings.checkpointEvery > 0 ? s.settings.checkpointEvery : stage.steps,
    noDecay: models.student.specs.filter((p) => p.noDecay || p.shape.length === 1).map((p) => p.name),
  };
  trainer = new Trainer(engine, models.studentParams, lossFn, config, s.data.train, s.validation, {
    metrics: async (row) => {
      const extra = (await pending.get(row.step)) ?? {};
      pending.delete(row.step);
      const full: DistillMetricsRow = {
        ...row,
        step: record.start + row.step,
        stage: stage.name,
        stage_index: index,
        ...extra,
        ...(row.val_loss !== undefined
          ? {
              val_ppl: Math.exp(row.val_loss),
              ...(s.teacherValLoss !== null
                ? { teacher_val_loss: s.teacherValLoss, teacher_val_ppl: Math.exp(s.teacherValLoss) }
                : {}),
            }
          : {}),
      };
      run.appendMetrics(full);
      callbacks.onMetrics?.(full);
    },
    checkpoint: async (checkpoint) => {
      run.saveCheckpoint(
        {
          ...checkpoint,
          step: record.start + checkpoint.step,
          state: { ...checkpoint.state, stage: index } as Checkpoint['state'],
        },
        { distill_stage: stage.name },
      );
    },
    rewind: (step) => run.rewindTo(record.start + step),
    log: callbacks.onLog,
  });
  s.control.trainer = trainer;
  try {
    if (resumeFrom) trainer.resume({ ...resumeFrom, step: resumeFrom.state.step });
    return await trainer.run();
  } finally {
    s.control.trainer = null;
    trainer.destroy();
  }
}

/** Runs the stages from `firstStage` (resuming inside it when a checkpoint of it is given). */
async function runStages(s: Session, firstStage: number, resumeFrom?: Checkpoint): Promise<DistillOutcome> {
  let last: DistillOutcome = { status: 'completed', step: 0, lastLoss: NaN, stage: s.stages[0].name };
  for (let index = firstStage; index < s.stages.length; index++) {
    if (s.control.stopped) return { ...last, status: 'stopped' } as DistillOutcome;
    const record = s.records[index];
    s.callbacks.onStage?.(record);
    s.callbacks.onLog?.(
      `stage ${index + 1}/${s.stages.length} "${record.name}": steps ${record.start}…${record.end - 1}`,
    );
    const outcome = await runStage(s, index, index === firstStage ? resumeFrom : undefined);
    const step = record.start + outcome.step;
    if (outcome.status === 'non-finite') return { ...outcome, step, stage: record.name };
    last = { status: outcome.status, step, lastLoss: outcome.lastLoss, stage: record.name };
    if (outcome.status === 'stopped') return last;
  }
  return last;
}

async function withSession<T>(
  plan: Pick<DistillPlan, 'teacherModel' | 'studentModel' | 'map' | 'data' | 'stages' | 'settings'> & {
    teacherParams: ReadonlyMap<string, TensorData>;
  },
  studentValues: (engine: Engine) => ReadonlyMap<string, TensorData>,
  run: (engine: Engine) => Run,
  body: (s: Session) => Promise<T>,
  control: DistillControl,
  callbacks: DistillCallbacks,
  data: DataSource,
): Promise<T> {
  const engine = await createNodeEngine();
  let teacherParams: ParamMap | undefined;
  let studentParams: ParamMap | undefined;
  try {
    teacherParams = uploadParams(engine, plan.teacherModel.specs, plan.teacherParams, 'the teacher checkpoint');
    studentParams = trainableParams(engine, studentValues(engine));
    const folder = run(engine);
    const partial = {
      engine,
      run: folder,
      models: {
        teacher: plan.teacherModel,
        teacherParams,
        student: plan.studentModel,
        studentParams,
        map: plan.map,
      },
      data,
      validation: data.validation(plan.settings.evalBatches),
      stages: plan.stages,
      records: stageRecords(plan.stages),
      settings: plan.settings,
      control,
      callbacks,
    };
    const session: Session = { ...partial, teacherValLoss: await teacherValidation(partial) };
    try {
      return await body(session);
    } catch (error) {
      try {
        folder.updateInfo({ status: 'failed', message: (error as Error).message });
      } catch {
        // a full or read-only disk: the error below says what happened
      }
      throw error;
    }
  } finally {
    try {
      for (const p of teacherParams?.values() ?? []) p.release();
      for (const p of studentParams?.values() ?? []) p.release();
    } catch {
      // the device is lost; its memory went with it
    }
    data.close();
    engine.destroy();
  }
}

function finishInfo(run: Run, outcome: DistillOutcome): void {
  run.updateInfo({
    status: outcome.status,
    ...(outcome.status === 'non-finite' ? { message: outcome.message } : {}),
  });
}

async function openData(
  plan: Pick<DistillPlan, 'data' | 'settings'>,
  runsDir: string,
  vocab: number,
  callbacks: DistillCallbacks,
) {
  try {
    return await openDataSource(
      plan.data,
      { vocabSize: vocab, batch: plan.settings.batch, seqLen: plan.settings.seqLen, seed: plan.settings.seed },
      { cacheDir: join(runsDir, '.cache', 'tokens'), onLog: callbacks.onLog },
    );
  } catch (error) {
    // The teacher's vocabulary is fixed: data tokenized another way cannot be distilled on.
    const message = (error as Error).message;
    if (!/needs a vocabulary of/.test(message)) throw error;
    throw new DistillError(
      `${message.replace(/; raise model\.vocab_size$/, '')}: the teacher's vocabulary is fixed — tokenize the data the teacher's way (its tokenizer.json)`,
    );
  }
}

/** Distills a teacher into a new student run. */
export async function distillRun(
  request: DistillRequest,
  callbacks: DistillCallbacks = {},
  control = new DistillControl(),
): Promise<{ run: Run; outcome: DistillOutcome; plan: DistillPlan }> {
  const plan = planDistill(request);
  const teacherCheckpoint = plan.teacherRun.loadCheckpoint(plan.teacherStep);
  const data = await openData(plan, request.runsDir, plan.teacherGraph.model.vocab_size, callbacks);
  let created: Run | undefined;
  const outcome = await withSession(
    { ...plan, teacherParams: teacherCheckpoint.params },
    () => transferredValues(plan, plan.settings.seed, teacherCheckpoint.params),
    (engine) => (created = createRunFolder(plan, request, engine, data, callbacks)),
    async (s) => {
      const info = s.run.info() as RunInfo & { distill: DistillInfo };
      s.run.writeInfo({ ...info, distill: { ...info.distill, teacher_val_loss: s.teacherValLoss } } as RunInfo);
      if (s.teacherValLoss !== null)
        callbacks.onLog?.(
          `teacher validation loss ${s.teacherValLoss.toFixed(4)} (perplexity ${Math.exp(s.teacherValLoss).toFixed(2)})`,
        );
      const outcome = await runStages(s, 0);
      finishInfo(s.run, outcome);
      return outcome;
    },
    control,
    callbacks,
    data,
  );
  return { run: created!, outcome, plan };
}

function createRunFolder(
  plan: DistillPlan,
  request: DistillRequest,
  engine: Engine,
  data: DataSource,
  callbacks: DistillCallbacks,
): Run {
  const records = stageRecords(plan.stages);
  const total = records[records.length - 1].end;
  const distill: DistillInfo = {
    teacher: { run: plan.teacherRun.id, dir: plan.teacherRun.dir, step: plan.teacherStep },
    student: plan.studentLabel,
    stages: records,
    layers: plan.map.layers,
    teacher_val_loss: null,
  };
  const info = {
    name: request.name ?? `${plan.teacherGraph.name} → ${plan.studentLabel}`,
    data: plan.data as unknown as Record<string, unknown>,
    // What `statelab eval` and the run list read.
    train: {
      steps: total,
      batch: plan.settings.batch,
      seqLen: plan.settings.seqLen,
      lr: plan.stages[0].lr,
      evalEvery: plan.settings.evalEvery,
      evalBatches: plan.settings.evalBatches,
      checkpointEvery: plan.settings.checkpointEvery,
    },
    seed: plan.settings.seed,
    versions: { statelab: VERSION, node: process.version },
    device: { ...engine.ctx.adapter, features: undefined },
    kind: 'distill',
    distill,
  };
  const config = {
    ...hfConfig(plan.studentModel, plan.studentGraph),
    num_hidden_layers: plan.map.layers.length,
  };
  const run = new RunStore(request.runsDir).create(info, plan.studentGraph, config);
  const saved: SavedDistillConfig = {
    format: 'statelab-distill-run',
    teacher: { dir: plan.teacherRun.dir, step: plan.teacherStep },
    data: plan.data,
    stages: plan.stages,
    map: plan.map,
    settings: plan.settings,
  };
  writeFileAtomic(join(run.dir, 'distill.json'), `${JSON.stringify(saved, null, 2)}\n`);
  writeFileAtomic(join(run.dir, 'transfer.json'), `${JSON.stringify(plan.table, null, 2)}\n`);
  const teacherTokenizer = join(plan.teacherRun.dir, 'tokenizer.json');
  if (existsSync(teacherTokenizer)) copyFileSync(teacherTokenizer, join(run.dir, 'tokenizer.json'));
  else if (data.tokenizer && plan.data.kind === 'text' && plan.data.tokenizer !== 'byte')
    writeFileAtomic(join(run.dir, 'tokenizer.json'), `${JSON.stringify(data.tokenizer.toJSON())}\n`);
  callbacks.onRun?.(run);
  return run;
}

/** The distill sections of a run folder; throws naming the run when it is not a distill run. */
export function readDistillRun(run: Run): { info: RunInfo & { distill: DistillInfo }; config: SavedDistillConfig } {
  const info = run.info() as RunInfo & { kind?: string; distill?: DistillInfo };
  const path = join(run.dir, 'distill.json');
  if (info.kind !== 'distill' || !info.distill || !existsSync(path))
    throw new Error(`run ${run.id} is not a distill run (no "distill" in run.json or no distill.json)`);
  return {
    info: info as RunInfo & { distill: DistillInfo },
    config: JSON.parse(readFileSync(path, 'utf8')) as SavedDistillConfig,
  };
}

/** Continues a distill run from its latest checkpoint (or `fromStep`), in the stage that checkpoint was in. */
export async function resumeDistill(
  runRef: string,
  runsDir: string,
  options: { fromStep?: number } = {},
  callbacks: DistillCallbacks = {},
  control = new DistillControl(),
): Promise<{ run: Run; outcome: DistillOutcome }> {
  const run = new RunStore(runsDir).open(runRef);
  const { config } = readDistillRun(run);
  const teacherRun = openTeacher(config.teacher.dir, runsDir);
  const teacherGraph: GraphDoc = teacherRun.graph();
  const studentGraph = run.graph();
  const checkpoint = run.loadCheckpoint(options.fromStep);
  const records = stageRecords(config.stages);
  const state = checkpoint.state as Checkpoint['state'] & { stage?: number };
  let stage = state.stage ?? 0;
  let resumeFrom: Checkpoint | undefined = checkpoint;
  if (state.step >= config.stages[stage].steps) {
    // The checkpoint closed its stage: the next one starts fresh from these parameters.
    stage++;
    resumeFrom = undefined;
  }
  const plan = {
    teacherModel: compileGraph(teacherGraph),
    studentModel: compileGraph(studentGraph),
    map: config.map,
    data: config.data,
    stages: config.stages,
    settings: config.settings,
    teacherParams: teacherRun.loadCheckpoint(config.teacher.step).params,
  };
  const data = await openData(plan, runsDir, teacherGraph.model.vocab_size, callbacks);
  if (!resumeFrom) data.train.restore(state.dataPosition);
  run.rewindTo(checkpoint.step);
  run.updateInfo({ status: 'running' });
  if (stage >= config.stages.length) {
    data.close();
    return { run, outcome: { status: 'completed', step: checkpoint.step, lastLoss: NaN, stage: records.at(-1)!.name } };
  }
  const outcome = await withSession(
    plan,
    () => checkpoint.params,
    () => run,
    async (s) => {
      const outcome = await runStages(s, stage, resumeFrom);
      finishInfo(s.run, outcome);
      return outcome;
    },
    control,
    callbacks,
    data,
  );
  return { run, outcome };
}
