// `statelab` — the headless CLI: train, resume, eval, runs, validate. Every command exits non-zero on
// failure with a message naming what was wrong; `--json` prints machine-readable lines for scripts.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { validateGraph } from '../../shared/graph/validate.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { mixerWidthCheck, nodeCatalogue } from '../../gpu/graph/catalogue.js';
import type { MetricsRow } from '../../gpu/train/trainer.js';
import type { DataSpec } from '../host/data-source.js';
import { RunStore } from '../host/runs/run-store.js';
import { evalRun, resumeRun, trainRun } from '../host/train-run.js';
import { templatePath, templateNames } from '../host/templates.js';
import { numberOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js';
import { progressLine } from './progress.js';
import { runDemo } from './demo.js';
import { GENERATE_USAGE, generateCommand } from './generate.js';
import { EXPORT_USAGE, exportCommand } from './export.js';
import { INSPECT_USAGE, inspectCommand } from './inspect.js';
import { SWEEP_USAGE, sweepCommand } from './sweep.js';
import { DISTILL_USAGE, distillCommand } from './distill.js';
import { importFolderCommand, TEACHER_IMPORT_USAGE } from '../import/cli.js';

const USAGE = `statelab — train and inspect recurrent sequence models on your GPU (WebGPU)

  statelab train <graph.json | template> --data <file | task:NAME> [options]
      --tokenizer byte|char|bpe:<vocab>|<tokenizer.json> (byte)  --field NAME (JSONL/CSV/Parquet text column)
      --task-params name=value,… (e.g. num_kv_pairs=8,seq_len=128)
      --steps N (200)  --batch B (8)  --seq T (128)  --lr X (3e-3)  --seed S (1)
      --eval-every N (50)  --checkpoint-every N (100)  --target-loss X  --runs DIR (runs)  --name NAME
  statelab resume <run> [--steps N] [--runs DIR]
  statelab eval <run> [--step N] [--data …] [--runs DIR]
  statelab runs [--runs DIR]                 list runs (latest loss, status)
  statelab validate <graph.json | template>  check a graph; print parameters, state size and FLOPs
  ${GENERATE_USAGE.replace(/\n/g, '\n  ')}
  ${EXPORT_USAGE.replace(/\n/g, '\n  ')}
  ${TEACHER_IMPORT_USAGE.replace(/\n/g, '\n  ')}
  ${INSPECT_USAGE.replace(/\n/g, '\n  ')}
  ${SWEEP_USAGE.replace(/\n/g, '\n  ')}
  ${DISTILL_USAGE.replace(/\n/g, '\n  ')}
  statelab templates                         list the bundled architecture templates
  statelab demo                              train the tiny model on the bundled text
Every command takes --json for machine-readable output.`;

const VALUE_OPTIONS = [
  'data',
  'tokenizer',
  'field',
  'task-params',
  'steps',
  'batch',
  'seq',
  'lr',
  'seed',
  'eval-every',
  'checkpoint-every',
  'target-loss',
  'runs',
  'name',
  'step',
];

function loadGraph(ref: string): GraphDoc {
  const path = existsSync(ref) ? ref : templatePath(ref);
  if (!path)
    throw new UsageError(`"${ref}" is neither a graph file nor a template (templates: ${templateNames().join(', ')})`);
  return parseGraph(readFileSync(path, 'utf8'), path);
}

function dataSpec(args: ParsedArgs, defaultTokenizer = 'byte'): DataSpec {
  const ref = stringOption(args, 'data');
  if (!ref) throw new UsageError('--data is required (a .txt/.jsonl/.csv/.tsv/.parquet file, or task:NAME)');
  if (ref.startsWith('task:'))
    return { kind: 'task', task: ref.slice(5), params: taskParams(stringOption(args, 'task-params')) };
  const field = stringOption(args, 'field');
  return {
    kind: 'text',
    path: resolve(ref),
    tokenizer: stringOption(args, 'tokenizer', defaultTokenizer)!,
    ...(field ? { field } : {}),
  };
}

/** `--task-params num_kv_pairs=8,seq_len=128` → { num_kv_pairs: 8, seq_len: 128 }. */
function taskParams(text: string | undefined): Record<string, number> {
  const params: Record<string, number> = {};
  for (const pair of text ? text.split(',') : []) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined || !Number.isFinite(Number(value))) {
      throw new UsageError(`--task-params: "${pair}" is not name=number`);
    }
    params[key.trim()] = Number(value);
  }
  return params;
}

function reporter(args: ParsedArgs, total: number) {
  const json = args.options.has('json');
  const started = performance.now();
  const tty = process.stderr.isTTY;
  return {
    metrics(row: MetricsRow) {
      if (json) return void process.stdout.write(`${JSON.stringify({ event: 'metrics', ...row })}\n`);
      const line = progressLine(row.step + 1, total, row.loss, row.tokens_per_s, (performance.now() - started) / 1000);
      const val = row.val_loss !== undefined ? ` · val ${row.val_loss.toFixed(4)}` : '';
      if (tty) process.stderr.write(`\r${line}${val}\x1b[K`);
      else if (row.val_loss !== undefined || row.step + 1 === total) process.stderr.write(`${line}${val}\n`);
    },
    log(message: string) {
      if (json) process.stdout.write(`${JSON.stringify({ event: 'log', message })}\n`);
      else process.stderr.write(`${tty ? '\n' : ''}${message}\n`);
    },
  };
}

async function train(args: ParsedArgs): Promise<number> {
  const [graphRef] = args.positionals;
  if (!graphRef) throw new UsageError('train needs a graph file or a template name');
  const graph = loadGraph(graphRef);
  const steps = numberOption(args, 'steps', 200, { integer: true, min: 1 });
  const report = reporter(args, steps);
  const { run, outcome } = await trainRun(
    {
      graph,
      data: dataSpec(args),
      runsDir: stringOption(args, 'runs', 'runs')!,
      name: stringOption(args, 'name'),
      steps,
      batch: numberOption(args, 'batch', 8, { integer: true, min: 1 }),
      seqLen: numberOption(args, 'seq', 128, { integer: true, min: 1 }),
      lr: numberOption(args, 'lr', 3e-3, { min: 0 }),
      seed: numberOption(args, 'seed', 1, { integer: true, min: 0 }),
      evalEvery: numberOption(args, 'eval-every', 50, { integer: true, min: 0 }),
      checkpointEvery: numberOption(args, 'checkpoint-every', 100, { integer: true, min: 0 }),
      targetLoss: args.options.has('target-loss') ? numberOption(args, 'target-loss', 0) : undefined,
    },
    {
      onMetrics: report.metrics,
      onLog: report.log,
      onTrainer: (trainer) => process.once('SIGINT', () => trainer.stop()),
    },
  );
  return finish(args, run.dir, outcome);
}

function finish(
  args: ParsedArgs,
  dir: string,
  outcome: { status: string; step: number; message?: string; lastLoss?: number },
): number {
  if (args.options.has('json')) process.stdout.write(`${JSON.stringify({ event: 'done', run: dir, ...outcome })}\n`);
  else
    process.stderr.write(
      `\n${outcome.status} at step ${outcome.step}${outcome.lastLoss !== undefined ? `, loss ${outcome.lastLoss.toFixed(4)}` : ''}: ${dir}\n`,
    );
  if (outcome.status === 'non-finite') {
    if (!args.options.has('json')) process.stderr.write(`${outcome.message}\n`);
    return 3;
  }
  return 0;
}

async function resume(args: ParsedArgs): Promise<number> {
  const [runRef] = args.positionals;
  if (!runRef) throw new UsageError('resume needs a run id or folder');
  const runsDir = stringOption(args, 'runs', 'runs')!;
  const store = new RunStore(runsDir);
  const total = args.options.has('steps')
    ? numberOption(args, 'steps', 0, { integer: true, min: 1 })
    : (store.open(runRef).info().train.steps as number);
  const report = reporter(args, total);
  const { run, outcome } = await resumeRun(
    runRef,
    runsDir,
    { steps: total },
    { onMetrics: report.metrics, onLog: report.log },
  );
  return finish(args, run.dir, outcome);
}

async function evaluate(args: ParsedArgs): Promise<number> {
  const [runRef] = args.positionals;
  if (!runRef) throw new UsageError('eval needs a run id or folder');
  const runsDir = stringOption(args, 'runs', 'runs')!;
  // A run that carries its own tokenizer.json (an imported teacher) reads new text with it by default.
  const ownTokenizer = join(new RunStore(runsDir).open(runRef).dir, 'tokenizer.json');
  const result = await evalRun(runRef, runsDir, {
    step: args.options.has('step') ? numberOption(args, 'step', 0, { integer: true, min: 0 }) : undefined,
    data: args.options.has('data') ? dataSpec(args, existsSync(ownTokenizer) ? ownTokenizer : 'byte') : undefined,
  });
  if (args.options.has('json'))
    process.stdout.write(
      `${JSON.stringify({ event: 'eval', run: result.run.dir, step: result.step, loss: result.loss })}\n`,
    );
  else process.stdout.write(`${result.run.id} step ${result.step}: validation loss ${result.loss.toFixed(4)}\n`);
  return 0;
}

function runs(args: ParsedArgs): number {
  const list = new RunStore(stringOption(args, 'runs', 'runs')!).list().map((run) => {
    const info = run.info();
    const metrics = run.metrics();
    const last = metrics[metrics.length - 1];
    const val = [...metrics].reverse().find((m) => m.val_loss !== undefined)?.val_loss;
    return {
      id: run.id,
      name: info.name,
      status: info.status,
      steps: last ? last.step + 1 : 0,
      loss: last?.loss,
      val_loss: val,
      checkpoints: run.checkpointSteps().length,
    };
  });
  if (args.options.has('json')) process.stdout.write(`${JSON.stringify(list)}\n`);
  else if (list.length === 0) process.stdout.write('no runs yet\n');
  else
    for (const r of list)
      process.stdout.write(
        `${r.id}  ${r.status.padEnd(14)} step ${String(r.steps).padStart(6)}  loss ${r.loss?.toFixed(4) ?? '—'}  val ${r.val_loss?.toFixed(4) ?? '—'}\n`,
      );
  return 0;
}

function validate(args: ParsedArgs): number {
  const [graphRef] = args.positionals;
  if (!graphRef) throw new UsageError('validate needs a graph file or a template name');
  const graph = loadGraph(graphRef);
  const result = validateGraph(graph, nodeCatalogue(), mixerWidthCheck);
  const json = args.options.has('json');
  if (result.errors.length) {
    if (json)
      process.stdout.write(`${JSON.stringify({ valid: false, errors: result.errors.map((e) => e.message) })}\n`);
    else for (const e of result.errors) process.stderr.write(`error: ${e.message}\n`);
    return 2;
  }
  const model = compileGraph(graph);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ valid: true, warnings: result.warnings.map((w) => w.message), totals: model.totals, modules: model.modules })}\n`,
    );
    return 0;
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${w.message}\n`);
  process.stdout.write(`${graph.name}: valid\n`);
  process.stdout.write(
    `${'module'.padEnd(32)} ${'kind'.padEnd(22)} ${'params'.padStart(10)} ${'state B'.padStart(10)} ${'FLOPs/tok'.padStart(12)}\n`,
  );
  for (const m of model.modules) {
    process.stdout.write(
      `${m.name.padEnd(32)} ${m.kind.padEnd(22)} ${String(m.params).padStart(10)} ${String(4 * m.stateFloats).padStart(10)} ${String(m.flopsPerToken).padStart(12)}\n`,
    );
  }
  const t = model.totals;
  process.stdout.write(
    `${'total'.padEnd(55)} ${String(t.params).padStart(10)} ${String(t.stateBytes).padStart(10)} ${String(t.flopsPerToken).padStart(12)}\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // These commands parse their own options (generate has repeatable --prompt/--stop).
  if (command === 'generate') return generateCommand(rest);
  if (command === 'export') return exportCommand(rest);
  if (command === 'import') return importFolderCommand(rest);
  if (command === 'inspect') return inspectCommand(rest);
  if (command === 'sweep') return sweepCommand(rest);
  if (command === 'distill') return distillCommand(rest);
  try {
    const args = parseArgs(rest, { values: VALUE_OPTIONS, flags: ['json', 'help'] });
    switch (command) {
      case 'train':
        return await train(args);
      case 'resume':
        return await resume(args);
      case 'eval':
        return await evaluate(args);
      case 'runs':
        return runs(args);
      case 'validate':
        return validate(args);
      case 'templates':
        process.stdout.write(`${templateNames().join('\n')}\n`);
        return 0;
      case 'demo':
        await runDemo();
        return 0;
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`statelab: ${error.message}\n\n${USAGE}\n`);
      return 64;
    }
    process.stderr.write(`statelab: ${(error as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
