// `statelab inspect <run> --analysis <name> [options]`: runs one analysis on a run's checkpoint and writes
// runs/<id>/analyses/<name>.json; prints a short summary (or, with --json, the whole document). Exit codes:
// 0 done, 64 bad usage, 1 anything else (unknown run, no checkpoint, over the memory budget, …), each
// with a message naming it.

import type { Engine } from '../../gpu/engine.js';
import { createNodeEngine } from '../host/node-gpu.js';
import type { AnalysisDocument } from '../host/analyses/run-model.js';
import { runExtrapolation, type ProbeResult } from '../host/analyses/extrapolation.js';
import { PROBES, type ProbeKind } from '../host/analyses/probes.js';
import { runStates, type StatesResult } from '../host/analyses/states.js';
import { runCapacity, type CapacityMetric } from '../host/analyses/capacity.js';
import { runImplicitAttention } from '../host/analyses/implicit-attention.js';
import { runMqar } from '../host/analyses/mqar.js';
import { runPasskey } from '../host/analyses/passkey.js';
import { runStateTracking } from '../host/analyses/state-tracking.js';
import { numberOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js';
import type { CommandIo } from './generate.js';

export const INSPECT_USAGE = `statelab inspect <run> --analysis <name> [options] [--json]
  analyses:
    extrapolation  per-position loss to --factor × the training length, streamed with the carried state
                   --factor K (16) --chunk N (T) --bucket N (T/8) --probe validation,repeat,data-free
                   --prompt "…" (repeat) --token ID (data-free) --tolerance ε (0.1) --factor-window N (T)
    states         per layer/head state RMS, mean, variance and decay over time; flags heads that explode
                   or vanish past T   --factor K (16) --every N (T/8) --probe P (validation) --ratio R (4)
                   --max-heads H (16)
    implicit-attention  per layer the T×T matrices of one sequence (exact for every linear family, Jacobian-
                   based for LSTM/GRU/Elman/sLSTM/ParaRNN) and their rollout   --length N (min(T, 64))
                   --heads 0,1 --layers NAME,… --probe P --residual R (0.5)
    passkey        depth × length accuracy of a passkey-task run   --lengths N,… (0.5…16 × T)
                   --depths D (10) --samples S (20) --threshold A (0.9)
    mqar           accuracy by number of key-value pairs of an MQAR-task run   --kv 1,2,4,… --length N (T)
                   --samples S (100)
    state-tracking accuracy by test length of a task run (parity, modular arithmetic, …)
                   --lengths N,… (1, 2, 4, 8 × T) --samples S (100)
    capacity       recall against state size across runs: statelab inspect RUN RUN … --analysis capacity
                   --metric mqar|passkey (their saved analyses) [--kv K] [--out FILE (<runs>/capacity-<metric>.json)]
  common: --runs DIR (runs) --step N (latest checkpoint) --batch B --seed S (1)
          --memory-budget MiB (4096: the GPU memory a streamed analysis may use)
  Writes runs/<id>/analyses/<analysis>.json.`;

const VALUES = [
  'analysis',
  'runs',
  'step',
  'batch',
  'seed',
  'memory-budget',
  'factor',
  'chunk',
  'bucket',
  'probe',
  'prompt',
  'token',
  'tolerance',
  'factor-window',
  'every',
  'ratio',
  'max-heads',
  'length',
  'heads',
  'layers',
  'residual',
  'lengths',
  'depths',
  'samples',
  'threshold',
  'kv',
  'metric',
  'out',
];

interface Common {
  runsDir: string;
  run: string;
  step?: number;
  batch?: number;
  seed: number;
  memoryBudgetBytes: number;
}

const optional = (args: ParsedArgs, name: string, o: { integer?: boolean; min?: number } = {}) =>
  args.options.has(name) ? numberOption(args, name, 0, o) : undefined;

function probeList(args: ParsedArgs): ProbeKind[] | undefined {
  const raw = stringOption(args, 'probe');
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((p) => p.trim());
  for (const p of list)
    if (!(PROBES as readonly string[]).includes(p))
      throw new UsageError(`--probe "${p}" is not one of ${PROBES.join(', ')}`);
  return list as ProbeKind[];
}

/** A comma-separated list of non-negative integers. */
function integers(args: ParsedArgs, name: string): number[] | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((v) => !Number.isInteger(v) || v < 0))
    throw new UsageError(`--${name} must be a comma-separated list of integers (got ${raw})`);
  return list;
}

type Analysis = (
  engine: Engine,
  common: Common,
  args: ParsedArgs,
) => Promise<{ path: string; doc: AnalysisDocument; summary: string }>;

const ANALYSES: Record<string, Analysis> = {
  async extrapolation(engine, common, args) {
    const { path, doc, results } = await runExtrapolation(engine, {
      ...common,
      factor: optional(args, 'factor', { min: 1 }),
      chunk: optional(args, 'chunk', { integer: true, min: 1 }),
      bucket: optional(args, 'bucket', { integer: true, min: 1 }),
      probes: probeList(args),
      prompt: stringOption(args, 'prompt'),
      token: optional(args, 'token', { integer: true, min: 0 }),
      tolerance: optional(args, 'tolerance', { min: 0 }),
      factorWindow: optional(args, 'factor-window', { integer: true, min: 1 }),
    });
    return { path, doc, summary: results.map((r) => extrapolationLine(r, doc.trainLength)).join('\n') };
  },
  async states(engine, common, args) {
    const probes = probeList(args);
    if (probes && probes.length !== 1) throw new UsageError('states takes one --probe');
    const { path, doc, result } = await runStates(engine, {
      ...common,
      factor: optional(args, 'factor', { min: 1 }),
      every: optional(args, 'every', { integer: true, min: 1 }),
      probe: probes?.[0],
      prompt: stringOption(args, 'prompt'),
      token: optional(args, 'token', { integer: true, min: 0 }),
      ratio: optional(args, 'ratio', { min: 1 }),
      maxHeads: optional(args, 'max-heads', { integer: true, min: 1 }),
    });
    return { path, doc, summary: statesSummary(result, doc.trainLength) };
  },
  async 'implicit-attention'(engine, common, args) {
    const probes = probeList(args);
    if (probes && probes.length !== 1) throw new UsageError('implicit-attention takes one --probe');
    const { path, doc, result } = await runImplicitAttention(engine, {
      ...common,
      length: optional(args, 'length', { integer: true, min: 1 }),
      heads: integers(args, 'heads'),
      layers: stringOption(args, 'layers')?.split(','),
      probe: probes?.[0],
      prompt: stringOption(args, 'prompt'),
      token: optional(args, 'token', { integer: true, min: 0 }),
      residual: optional(args, 'residual', { min: 0 }),
    });
    const lines = result.layers.map((l) =>
      !l.supported
        ? `  ${l.name} (${l.kind}): ${l.reason}`
        : `  ${l.name} (${l.kind}, ${l.method}, ${l.units} ${l.unit}s): ` +
          (l.reconstructionError === null
            ? 'Jacobian-based attribution'
            : `reconstruction error ${fmt(l.reconstructionError, 8)}`),
    );
    return { path, doc, summary: `implicit attention over ${result.tokens.length} tokens:\n${lines.join('\n')}` };
  },
  async passkey(engine, common, args) {
    const { path, doc, result } = await runPasskey(engine, {
      ...common,
      lengths: integers(args, 'lengths'),
      depths: optional(args, 'depths', { integer: true, min: 1 }),
      samples: optional(args, 'samples', { integer: true, min: 1 }),
      threshold: optional(args, 'threshold', { min: 0 }),
    });
    const rows = result.lengths.map((l, i) => `  length ${l}: mean accuracy ${fmt(result.meanAccuracy[i], 2)}`);
    return {
      path,
      doc,
      summary: `passkey (${result.depths.length} depths × ${result.samples} samples):\n${rows.join('\n')}\n  capacity (≥ ${result.threshold}): ${result.capacity} tokens`,
    };
  },
  async mqar(engine, common, args) {
    const { path, doc, result } = await runMqar(engine, {
      ...common,
      kv: integers(args, 'kv'),
      length: optional(args, 'length', { integer: true, min: 2 }),
      samples: optional(args, 'samples', { integer: true, min: 1 }),
    });
    const rows = result.points.map(
      (p) => `  ${p.kv} pairs: accuracy ${fmt(p.accuracy)} (all queries right in ${fmt(p.exampleAccuracy, 2)})`,
    );
    const skipped = result.skipped.map((s) => `  ${s.kv} pairs skipped: ${s.reason}`);
    return { path, doc, summary: `MQAR at length ${result.length}:\n${[...rows, ...skipped].join('\n')}` };
  },
  async 'state-tracking'(engine, common, args) {
    const { path, doc, result } = await runStateTracking(engine, {
      ...common,
      lengths: integers(args, 'lengths'),
      samples: optional(args, 'samples', { integer: true, min: 1 }),
    });
    const rows = result.points.map(
      (p) =>
        `  length ${p.seqLen}: token ${fmt(p.tokenAccuracy)}  sequence ${fmt(p.sequenceAccuracy)}  last ${fmt(p.lastAccuracy)}`,
    );
    return { path, doc, summary: `${result.task} trained at ${doc.trainLength}:\n${rows.join('\n')}` };
  },
};

const fmt = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);

function extrapolationLine(r: ProbeResult, T: number): string {
  const at = r.multiples.map((m) => `${m.multiple}×T ${fmt(m.loss)}`).join('  ');
  const f = r.extrapolation;
  const factor = !f
    ? 'no extrapolation factor (nothing scored up to T)'
    : f.lowerBound
      ? `extrapolates to at least ${fmt(f.factor, 1)}×T (ppl within ${f.tolerance * 100}% of ${fmt(f.referencePerplexity, 2)})`
      : `extrapolation factor ${fmt(f.factor, 2)}×T (bucket at ${f.breaksAt} exceeds ppl ${fmt(f.referencePerplexity, 2)} by ${f.tolerance * 100}%)`;
  return `${r.probe} (T = ${T}): loss ${at}\n  ${factor}${r.notes.map((n) => `\n  note: ${n}`).join('')}`;
}

function statesSummary(r: StatesResult, T: number): string {
  const heads = r.layers.reduce((n, l) => n + l.entries.reduce((m, e) => m + e.heads, 0), 0);
  if (r.flagged.length === 0)
    return `${heads} state heads over ${r.positions.at(-1)} tokens (T = ${T}): none explodes or vanishes past T`;
  const lines = r.flagged.map(
    (f) =>
      `  ${f.layer} ${f.entry} head ${f.head}: ${f.statistic} ${f.status} (leaves its band after ${f.onset}, flagged at ${f.flaggedAt})`,
  );
  return `${r.flagged.length} flagged of ${heads} state heads × 2 statistics (T = ${T}):\n${lines.join('\n')}`;
}

async function run(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: VALUES, flags: ['json'] });
  const [runRef, extra] = args.positionals;
  if (!runRef) throw new UsageError('inspect needs a run id or folder');
  const name = stringOption(args, 'analysis');
  const known = [...Object.keys(ANALYSES), 'capacity'].join(', ');
  if (!name) throw new UsageError(`--analysis is required (${known})`);
  if (name === 'capacity') return capacity(args, io);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const analysis = ANALYSES[name];
  if (!analysis) throw new UsageError(`unknown analysis "${name}" (${known})`);
  const common: Common = {
    runsDir: stringOption(args, 'runs', 'runs')!,
    run: runRef,
    step: optional(args, 'step', { integer: true, min: 0 }),
    batch: optional(args, 'batch', { integer: true, min: 1 }),
    seed: numberOption(args, 'seed', 1, { integer: true, min: 0 }),
    memoryBudgetBytes: numberOption(args, 'memory-budget', 4096, { min: 0 }) * 2 ** 20,
  };
  if (!(common.memoryBudgetBytes > 0)) throw new UsageError('--memory-budget must be above 0 MiB');
  const engine = await createNodeEngine();
  try {
    const { path, doc, summary } = await analysis(engine, common, args);
    if (args.options.has('json'))
      io.stdout.write(
        `${JSON.stringify({ path, ...doc }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`,
      );
    else io.stdout.write(`${summary}\nwrote ${path}\n`);
    return 0;
  } finally {
    engine.destroy();
  }
}

/** Capacity against state size reads saved analyses of several runs: no GPU needed. */
function capacity(args: ParsedArgs, io: CommandIo): number {
  const metric = stringOption(args, 'metric', 'mqar') as CapacityMetric;
  if (metric !== 'mqar' && metric !== 'passkey')
    throw new UsageError(`--metric must be mqar or passkey (got ${metric})`);
  const { path, result } = runCapacity({
    runsDir: stringOption(args, 'runs', 'runs')!,
    runs: args.positionals,
    metric,
    kv: optional(args, 'kv', { integer: true, min: 1 }),
    out: stringOption(args, 'out'),
  });
  if (args.options.has('json')) io.stdout.write(`${JSON.stringify({ path, ...result })}\n`);
  else {
    const rows = result.points.map(
      (p) =>
        `  ${p.name} (${p.mixers.join('+')}, d ${p.dModel}): ${p.stateBytes} state bytes → ${fmt(p.value)} ${result.unit}`,
    );
    io.stdout.write(`${metric} against state size:\n${rows.join('\n')}\nwrote ${path}\n`);
  }
  return 0;
}

/** The `inspect` command; the CLI's dispatcher calls it with the arguments after the command name. */
export async function inspectCommand(argv: string[], io: CommandIo = process): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`statelab inspect: ${error.message}\n\n${INSPECT_USAGE}\n`);
      return 64;
    }
    io.stderr.write(`statelab inspect: ${(error as Error).message}\n`);
    return 1;
  }
}
