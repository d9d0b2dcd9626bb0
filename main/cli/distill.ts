// `statelab distill <teacher-run> --student gla|…|<graph.json>`: turn an attention teacher into a recurrent
// (or hybrid) student run. `--print-transfer` shows the weight-transfer table (with --json: the editable
// file) and exits; `--resume <run>` continues a stopped distill run. Exit codes: 0 done, 64 bad usage,
// 3 a non-finite loss, 1 anything else (a teacher that is not a run, a refused table, …), each with a
// message naming it.

import { resolve } from 'node:path';
import { shapesOf } from '../../gpu/distill/transfer.js';
import type { DataSpec } from '../host/data-source.js';
import {
  DistillControl,
  DISTILL_DEFAULTS,
  distillRun,
  formatTransferTable,
  loadDistillConfig,
  planDistill,
  resumeDistill,
  STUDENT_FAMILIES,
  type DistillCallbacks,
  type DistillOutcome,
  type DistillRequest,
  type StudentFamily,
} from '../host/distill/index.js';
import { numberOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js';
import type { CommandIo } from './generate.js';
import { progressLine } from './progress.js';

export const DISTILL_USAGE = `statelab distill <teacher-run> --student ${STUDENT_FAMILIES.join('|')}|<graph.json> [options]
      --hybrid none|every:K|layers:i,j (which attention layers stay attention; every:2 keeps 1, 3, …)
      --student-options name=value,… (e.g. gate_low_rank_dim=8)  --teacher-step N (latest)
      --config distill.json (teacher, student, transfer, data, stages)  --transfer table.json (auto)
      --print-transfer (show the weight-transfer table and exit; with --json, the editable file)
      --data <file | task:NAME> (the teacher's)  --tokenizer … (the teacher's)  --field NAME  --task-params …
      --steps N (${DISTILL_DEFAULTS.steps}: half attention transfer, half end-to-end KL + CE)  --lr X (${DISTILL_DEFAULTS.lr}; stage 2: X/3)
      --batch B (${DISTILL_DEFAULTS.batch})  --seq T (${DISTILL_DEFAULTS.seqLen})  --seed S (1)  --eval-every N (${DISTILL_DEFAULTS.evalEvery})
      --checkpoint-every N (${DISTILL_DEFAULTS.checkpointEvery})  --runs DIR (runs)  --name NAME  --json
  statelab distill --resume <run> [--runs DIR] [--json]   continue a stopped distill run`;

const VALUES = [
  'student',
  'hybrid',
  'student-options',
  'teacher-step',
  'config',
  'transfer',
  'data',
  'tokenizer',
  'field',
  'task-params',
  'steps',
  'lr',
  'batch',
  'seq',
  'seed',
  'eval-every',
  'checkpoint-every',
  'runs',
  'name',
  'resume',
];

/** `a=1,b=true,c=x` → { a: 1, b: true, c: 'x' }. */
function pairs(text: string | undefined, option: string): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const pair of text ? text.split(',') : []) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined) throw new UsageError(`--${option}: "${pair}" is not name=value`);
    out[key.trim()] =
      value === 'true' ? true : value === 'false' ? false : Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

function dataSpec(args: ParsedArgs): DataSpec | undefined {
  const ref = stringOption(args, 'data');
  if (!ref) return undefined;
  if (ref.startsWith('task:')) {
    const params = pairs(stringOption(args, 'task-params'), 'task-params');
    if (Object.values(params).some((v) => typeof v !== 'number'))
      throw new UsageError('--task-params takes name=number pairs');
    return { kind: 'task', task: ref.slice(5), params: params as Record<string, number> };
  }
  const field = stringOption(args, 'field');
  const tokenizer = stringOption(args, 'tokenizer');
  // Without --tokenizer the teacher's own tokenizer is used (planDistill fills it in).
  return {
    kind: 'text',
    path: resolve(ref),
    ...(tokenizer ? { tokenizer } : {}),
    ...(field ? { field } : {}),
  } as DataSpec;
}

function request(args: ParsedArgs): DistillRequest {
  const runsDir = stringOption(args, 'runs', 'runs')!;
  const config = stringOption(args, 'config');
  const base: DistillRequest = config
    ? loadDistillConfig(config, runsDir)
    : { teacher: { run: '' }, student: { family: 'gla' }, runsDir };
  const [teacher, extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (teacher) base.teacher = { run: teacher };
  if (!base.teacher.run) throw new UsageError('distill needs a teacher run (or --config with "teacher")');
  if (args.options.has('teacher-step'))
    base.teacher.step = numberOption(args, 'teacher-step', 0, { integer: true, min: 0 });
  const student = stringOption(args, 'student');
  const hybrid = stringOption(args, 'hybrid');
  const options = stringOption(args, 'student-options');
  if (student) {
    if ((STUDENT_FAMILIES as readonly string[]).includes(student))
      base.student = {
        family: student as StudentFamily,
        ...(options ? { options: pairs(options, 'student-options') } : {}),
        ...(hybrid ? { hybrid } : {}),
      };
    else if (student.endsWith('.json')) base.student = { graph: resolve(student) };
    else
      throw new UsageError(`--student "${student}": use one of ${STUDENT_FAMILIES.join(', ')}, or a graph .json file`);
  } else if (!config) throw new UsageError(`--student is required (${STUDENT_FAMILIES.join(', ')}, or a graph file)`);
  else if (hybrid && 'family' in base.student) base.student.hybrid = hybrid;
  if ((hybrid || options) && 'graph' in base.student)
    throw new UsageError('--hybrid and --student-options apply to a family, not to a student graph file');
  const transfer = stringOption(args, 'transfer');
  if (transfer) base.transfer = resolve(transfer);
  const data = dataSpec(args);
  if (data) base.data = data;
  const numbers: [string, keyof DistillRequest, boolean][] = [
    ['steps', 'steps', true],
    ['lr', 'lr', false],
    ['batch', 'batch', true],
    ['seq', 'seqLen', true],
    ['seed', 'seed', true],
    ['eval-every', 'evalEvery', true],
    ['checkpoint-every', 'checkpointEvery', true],
  ];
  for (const [option, field, integer] of numbers)
    if (args.options.has(option))
      (base as unknown as Record<string, number>)[field] = numberOption(args, option, 0, {
        integer,
        min: option === 'steps' || option === 'batch' || option === 'seq' ? 1 : 0,
      });
  if ((args.options.has('steps') || args.options.has('lr')) && config && base.stages)
    throw new UsageError('--steps and --lr shape the default recipe; the config file lists its own stages');
  const name = stringOption(args, 'name');
  if (name) base.name = name;
  return base;
}

function reporter(args: ParsedArgs, io: CommandIo, total: () => number): DistillCallbacks {
  const json = args.options.has('json');
  const started = performance.now();
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const emit = (event: Record<string, unknown>) => io.stdout.write(`${JSON.stringify(event)}\n`);
  return {
    onRun: (run) => (json ? emit({ event: 'run', run: run.dir }) : io.stderr.write(`distilling into ${run.dir}\n`)),
    onStage: (stage) => json && emit({ event: 'stage', ...stage }),
    onMetrics: (row) => {
      if (json) return void emit({ event: 'metrics', ...row });
      const seconds = (performance.now() - started) / 1000;
      const terms = (['attention', 'hidden', 'kl', 'ce'] as const)
        .filter((t) => row[t] !== undefined)
        .map((t) => `${t} ${row[t]!.toExponential(3)}`)
        .join(' · ');
      const line = `${progressLine(row.step + 1, total(), row.loss, row.tokens_per_s, seconds)} · ${row.stage}: ${terms}`;
      const val =
        row.val_ppl !== undefined
          ? ` · val ppl ${row.val_ppl.toFixed(2)}${row.teacher_val_ppl !== undefined ? ` (teacher ${row.teacher_val_ppl.toFixed(2)})` : ''}`
          : '';
      if (tty) io.stderr.write(`\r${line}${val}\x1b[K`);
      else if (val || row.step + 1 === total()) io.stderr.write(`${line}${val}\n`);
    },
    onLog: (message) => (json ? emit({ event: 'log', message }) : io.stderr.write(`${tty ? '\n' : ''}${message}\n`)),
  };
}

function finish(args: ParsedArgs, io: CommandIo, dir: string, outcome: DistillOutcome): number {
  if (args.options.has('json')) io.stdout.write(`${JSON.stringify({ event: 'done', run: dir, ...outcome })}\n`);
  else
    io.stderr.write(
      `\n${outcome.status} at step ${outcome.step} (stage "${outcome.stage}")` +
        `${outcome.status !== 'non-finite' && Number.isFinite(outcome.lastLoss) ? `, loss ${outcome.lastLoss.toFixed(4)}` : ''}: ${dir}\n`,
    );
  if (outcome.status === 'non-finite') {
    if (!args.options.has('json')) io.stderr.write(`${outcome.message}\n`);
    return 3;
  }
  return 0;
}

async function run(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: VALUES, flags: ['json', 'print-transfer', 'help'] });
  if (args.options.has('help')) {
    io.stdout.write(`${DISTILL_USAGE}\n`);
    return 0;
  }
  const control = new DistillControl();
  const onSigint = () => control.stop();
  const resumeRef = stringOption(args, 'resume');
  if (resumeRef) {
    if (args.positionals.length) throw new UsageError('--resume takes the distill run; no teacher argument');
    let total = 0;
    process.once('SIGINT', onSigint);
    try {
      const { run, outcome } = await resumeDistill(
        resumeRef,
        stringOption(args, 'runs', 'runs')!,
        {},
        {
          ...reporter(args, io, () => total),
          onStage: (s) => {
            total = Math.max(total, s.end);
            if (args.options.has('json')) io.stdout.write(`${JSON.stringify({ event: 'stage', ...s })}\n`);
          },
        },
        control,
      );
      return finish(args, io, run.dir, outcome);
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  }
  const req = request(args);
  if (args.options.has('print-transfer')) {
    const plan = planDistill(req);
    if (args.options.has('json')) io.stdout.write(`${JSON.stringify(plan.table, null, 2)}\n`);
    else {
      io.stdout.write(`teacher ${plan.teacherRun.id} (step ${plan.teacherStep}) → student ${plan.studentLabel}\n`);
      for (const l of plan.map.layers)
        io.stdout.write(
          `  layer ${l.index}: ${l.teacher} → ${l.student} (${l.converted ? l.kind : 'attention kept'})\n`,
        );
      io.stdout.write(
        `${formatTransferTable(plan.table, shapesOf(plan.teacherModel.specs), shapesOf(plan.studentModel.specs))}\n`,
      );
    }
    return 0;
  }
  let total = 0;
  process.once('SIGINT', onSigint);
  try {
    const callbacks = reporter(args, io, () => total);
    const { run: folder, outcome } = await distillRun(
      req,
      {
        ...callbacks,
        onRun: (r) => {
          const info = r.info() as unknown as { train: { steps: number } };
          total = info.train.steps;
          callbacks.onRun?.(r);
        },
      },
      control,
    );
    return finish(args, io, folder.dir, outcome);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

export async function distillCommand(argv: string[], io: CommandIo = process): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`statelab distill: ${error.message}\n\n${DISTILL_USAGE}\n`);
      return 64;
    }
    io.stderr.write(`statelab distill: ${(error as Error).message}\n`);
    return 1;
  }
}
