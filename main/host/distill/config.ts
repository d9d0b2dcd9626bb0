// What a distillation run is asked to do (a request from the CLI, the app, or a distill.json file) and the
// plan it resolves to before anything runs: the teacher run and checkpoint, the student graph and how it
// lines up with the teacher, the transfer table (validated), the stages (checked), and the data. Every
// refusal happens here, on the CPU, naming what was wrong — a bad table never reaches the GPU.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseGraph } from '../../../shared/graph/parse.js';
import type { GraphDoc } from '../../../shared/graph/schema.js';
import { compileGraph, type CompiledModel } from '../../../gpu/graph/compile.js';
import type { MixerOptions } from '../../../gpu/nn/mixer.js';
import { checkStages, defaultStages, parseStages, type DistillStage } from '../../../gpu/distill/stages.js';
import {
  deriveStudent,
  DistillError,
  formatHybrid,
  mapStudent,
  parseHybrid,
  STUDENT_FAMILIES,
  type StudentFamily,
  type StudentMap,
} from '../../../gpu/distill/student.js';
import {
  buildTransferTable,
  parseTransferTable,
  shapesOf,
  validateTransfer,
  type TransferTable,
} from '../../../gpu/distill/transfer.js';
import type { DataSpec } from '../data-source.js';
import { RunStore, type Run } from '../runs/run-store.js';

export const DISTILL_FORMAT = 'statelab-distill';

export type StudentRequest =
  | { family: StudentFamily; options?: MixerOptions; hybrid?: string }
  /** A student graph: a file path, or the document itself (the app). */
  | { graph: string | GraphDoc };

export interface DistillRequest {
  /** A teacher run id (under runsDir) or run folder, and its checkpoint step (default: the latest). */
  teacher: { run: string; step?: number };
  student: StudentRequest;
  /** 'auto' (default), a table file, or the table itself (edited in the app). */
  transfer?: 'auto' | string | TransferTable;
  /** Training data (the same specs as `statelab train`); default: the teacher's own data. */
  data?: DataSpec;
  runsDir: string;
  name?: string;
  batch?: number;
  seqLen?: number;
  seed?: number;
  evalEvery?: number;
  evalBatches?: number;
  checkpointEvery?: number;
  /** Explicit stages; without them the default recipe over `steps` steps at peak `lr`. */
  stages?: DistillStage[];
  steps?: number;
  lr?: number;
}

export const DISTILL_DEFAULTS = {
  batch: 8,
  seqLen: 128,
  seed: 1,
  evalEvery: 50,
  evalBatches: 4,
  checkpointEvery: 100,
  steps: 200,
  lr: 3e-3,
};

/** Everything a run needs, resolved and checked. */
export interface DistillPlan {
  teacherRun: Run;
  teacherStep: number;
  teacherGraph: GraphDoc;
  teacherModel: CompiledModel;
  studentGraph: GraphDoc;
  studentModel: CompiledModel;
  map: StudentMap;
  table: TransferTable;
  stages: DistillStage[];
  data: DataSpec;
  /** A short description of the student ("gla, hybrid every:2", or the graph's name). */
  studentLabel: string;
  settings: Required<
    Pick<DistillRequest, 'batch' | 'seqLen' | 'seed' | 'evalEvery' | 'evalBatches' | 'checkpointEvery'>
  >;
}

/** Opens the teacher run, or says why the reference is not one (an un-imported Hugging Face folder, …). */
export function openTeacher(ref: string, runsDir: string): Run {
  const store = new RunStore(runsDir);
  try {
    return store.open(ref);
  } catch {
    if (existsSync(join(ref, 'config.json')) && !existsSync(join(ref, 'run.json')))
      throw new DistillError(
        `teacher "${ref}" is a Hugging Face folder, not a StateLab run: import it first with \`statelab import ${ref}\``,
      );
    throw new DistillError(
      `teacher "${ref}" is not a run (looked for ${join(ref, 'run.json')} and ${join(runsDir, ref, 'run.json')})`,
    );
  }
}

/** The data to distill on: the request's, else the teacher's own (with the teacher's tokenizer file). */
export function teacherData(run: Run, given: DataSpec | undefined): DataSpec {
  const ownTokenizer = join(run.dir, 'tokenizer.json');
  if (given) {
    if (given.kind === 'text' && !given.tokenizer)
      return { ...given, tokenizer: existsSync(ownTokenizer) ? ownTokenizer : 'byte' };
    return given;
  }
  const data = run.info().data as unknown as DataSpec | { kind: string };
  if (data.kind === 'task') return data as DataSpec;
  if (data.kind === 'text') {
    const text = data as Extract<DataSpec, { kind: 'text' }>;
    return text.tokenizer !== 'byte' && existsSync(ownTokenizer) ? { ...text, tokenizer: ownTokenizer } : text;
  }
  throw new DistillError(
    `teacher run ${run.id} records no training data (${data.kind}): give the data to distill on (--data)`,
  );
}

function loadStudentGraph(ref: string | GraphDoc): GraphDoc {
  if (typeof ref !== 'string') return ref;
  if (!existsSync(ref)) throw new DistillError(`student graph "${ref}" does not exist`);
  return parseGraph(readFileSync(ref, 'utf8'), ref);
}

function loadTable(ref: DistillRequest['transfer'], build: () => TransferTable): TransferTable {
  if (ref === undefined || ref === 'auto') return build();
  if (typeof ref !== 'string') return ref;
  if (!existsSync(ref)) throw new DistillError(`transfer table "${ref}" does not exist`);
  return parseTransferTable(readFileSync(ref, 'utf8'), ref);
}

/** Resolves and checks a request; throws a DistillError (or TransferError) naming the problem. */
export function planDistill(request: DistillRequest): DistillPlan {
  const teacherRun = openTeacher(request.teacher.run, request.runsDir);
  const steps = teacherRun.checkpointSteps();
  const teacherStep = request.teacher.step ?? steps[steps.length - 1];
  if (teacherStep === undefined)
    throw new DistillError(`teacher run ${teacherRun.id} has no checkpoint: train it (or import it) first`);
  if (!steps.includes(teacherStep))
    throw new DistillError(
      `teacher run ${teacherRun.id} has no checkpoint at step ${teacherStep} (have: ${steps.join(', ')})`,
    );
  const teacherGraph = teacherRun.graph();
  let studentGraph: GraphDoc;
  let map: StudentMap;
  let studentLabel: string;
  if ('graph' in request.student) {
    studentGraph = loadStudentGraph(request.student.graph);
    map = mapStudent(teacherGraph, studentGraph);
    studentLabel = studentGraph.name;
    if (studentGraph.model.vocab_size !== teacherGraph.model.vocab_size)
      throw new DistillError(
        `student graph "${studentGraph.name}": vocab_size ${studentGraph.model.vocab_size} differs from the teacher's ${teacherGraph.model.vocab_size}`,
      );
  } else {
    const { family, options, hybrid = 'none' } = request.student;
    if (!STUDENT_FAMILIES.includes(family))
      throw new DistillError(
        `student family "${family}" is not supported (use ${STUDENT_FAMILIES.join(', ')}, or a graph file)`,
      );
    const spec = parseHybrid(hybrid);
    ({ graph: studentGraph, map } = deriveStudent(teacherGraph, { family, options, hybrid: spec }));
    studentLabel = spec.kind === 'none' ? family : `${family}, hybrid ${formatHybrid(spec)}`;
  }
  const teacherModel = compileGraph(teacherGraph);
  const studentModel = compileGraph(studentGraph);
  const table = loadTable(request.transfer, () => buildTransferTable(teacherModel, studentModel, map));
  validateTransfer(table, shapesOf(teacherModel.specs), shapesOf(studentModel.specs));
  const stages =
    request.stages ??
    defaultStages(map, { steps: request.steps ?? DISTILL_DEFAULTS.steps, lr: request.lr ?? DISTILL_DEFAULTS.lr });
  checkStages(
    stages,
    map,
    studentModel.specs.map((s) => s.name),
  );
  return {
    teacherRun,
    teacherStep,
    teacherGraph,
    teacherModel,
    studentGraph,
    studentModel,
    map,
    table,
    stages,
    data: teacherData(teacherRun, request.data),
    studentLabel,
    settings: {
      batch: request.batch ?? DISTILL_DEFAULTS.batch,
      seqLen: request.seqLen ?? DISTILL_DEFAULTS.seqLen,
      seed: request.seed ?? DISTILL_DEFAULTS.seed,
      evalEvery: request.evalEvery ?? DISTILL_DEFAULTS.evalEvery,
      evalBatches: request.evalBatches ?? DISTILL_DEFAULTS.evalBatches,
      checkpointEvery: request.checkpointEvery ?? DISTILL_DEFAULTS.checkpointEvery,
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Reads a distill.json: `{"format": "statelab-distill", "teacher": {"run": …, "step": …}, "student": {…},
 * "transfer": "auto" | "table.json", "data": {…}, "stages": [...], …}`. Relative paths are relative to the
 * file. Errors name the file and the field.
 */
export function loadDistillConfig(path: string, runsDir: string): DistillRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new DistillError(
      `${path}: ${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`.trim(),
    );
  }
  if (!isRecord(doc) || doc.format !== DISTILL_FORMAT)
    throw new DistillError(`${path}: not a distill config (needs "format": "${DISTILL_FORMAT}")`);
  const here = (p: string) => (isAbsolute(p) ? p : resolve(dirname(path), p));
  const teacher = doc.teacher;
  if (!isRecord(teacher) || typeof teacher.run !== 'string')
    throw new DistillError(`${path}: teacher must be {"run": "<run id or folder>", "step"?: N}`);
  if (teacher.step !== undefined && !Number.isInteger(teacher.step))
    throw new DistillError(`${path}: teacher.step must be an integer`);
  const request: DistillRequest = {
    teacher: {
      run: existsSync(here(teacher.run)) ? here(teacher.run) : teacher.run,
      ...(teacher.step !== undefined ? { step: teacher.step as number } : {}),
    },
    student: { family: 'gla' },
    runsDir,
  };
  const student = doc.student ?? { family: 'gla' };
  if (!isRecord(student)) throw new DistillError(`${path}: student must be an object`);
  if (typeof student.graph === 'string') request.student = { graph: here(student.graph) };
  else if (typeof student.family === 'string')
    request.student = {
      family: student.family as StudentFamily,
      ...(isRecord(student.options) ? { options: student.options as MixerOptions } : {}),
      ...(typeof student.hybrid === 'string' ? { hybrid: student.hybrid } : {}),
    };
  else throw new DistillError(`${path}: student needs "family" (${STUDENT_FAMILIES.join(', ')}) or "graph" (a file)`);
  if (doc.transfer !== undefined) {
    if (typeof doc.transfer !== 'string') throw new DistillError(`${path}: transfer must be "auto" or a table file`);
    request.transfer = doc.transfer === 'auto' ? 'auto' : here(doc.transfer);
  }
  if (doc.data !== undefined) {
    const data = doc.data;
    if (!isRecord(data) || (data.kind !== 'text' && data.kind !== 'task'))
      throw new DistillError(`${path}: data must be {"kind": "text", "path": …} or {"kind": "task", "task": …}`);
    request.data = (data.kind === 'text' ? { ...data, path: here(String(data.path)) } : data) as unknown as DataSpec;
  }
  for (const field of [
    'batch',
    'seqLen',
    'seed',
    'evalEvery',
    'evalBatches',
    'checkpointEvery',
    'steps',
    'lr',
  ] as const) {
    const value = doc[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0)) throw new DistillError(`${path}: ${field} must be a number ≥ 0`);
    request[field] = value;
  }
  if (doc.name !== undefined) request.name = String(doc.name);
  if (doc.stages !== undefined) request.stages = parseStages(doc.stages, path);
  return request;
}
