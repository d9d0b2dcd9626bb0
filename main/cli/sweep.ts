// `statelab sweep` — run a sweep file's grid of runs one after another (resumable: run it again to
// continue), or print its results table / write it as CSV. Bad sweeps are refused before any run starts.

import { writeFileAtomic } from '../host/atomic-file.js';
import {
  loadSweep,
  overview,
  resultsCsv,
  sweepPath,
  type PlannedSweep,
  type SweepResults,
} from '../host/sweeps/index.js';
import { sweepResults } from '../host/sweeps/results.js';
import { startSweep } from '../host/sweeps/runner.js';
import { numberOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js';
import type { CommandIo } from './generate.js';
import { formatDuration, progressLine } from './progress.js';

export const SWEEP_USAGE = `statelab sweep <sweep.json | bundled name> [--runs DIR] [--dry-run] [--only N] [--memory-budget MB]
    runs the grid one run after another; run it again to continue a stopped sweep
statelab sweep results <sweep.json | name> [--runs DIR] [--csv out.csv]   the table of all runs, best-of marked`;

export async function sweepCommand(argv: string[], io: CommandIo = process): Promise<number> {
  try {
    const args = parseArgs(argv, { values: ['runs', 'only', 'csv', 'memory-budget'], flags: ['json', 'dry-run'] });
    if (args.positionals[0] === 'results') return results(args, io);
    return await run(args, io);
  } catch (error) {
    const usage = error instanceof UsageError ? `\n\nusage:\n  ${SWEEP_USAGE.replace(/\n/g, '\n  ')}` : '';
    io.stderr.write(`statelab sweep: ${(error as Error).message}${usage}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

function plan(args: ParsedArgs, ref: string | undefined): PlannedSweep {
  if (!ref) throw new UsageError('sweep needs a sweep file or a bundled sweep name');
  const budget = args.options.has('memory-budget')
    ? numberOption(args, 'memory-budget', 0, { integer: true, min: 1 })
    : undefined;
  return loadSweep(sweepPath(ref), { memoryBudgetMB: budget });
}

async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  const only = args.options.has('only') ? numberOption(args, 'only', 0, { integer: true, min: 1 }) : undefined;
  const planned = plan(args, args.positionals[0]);
  const runsDir = stringOption(args, 'runs', 'runs')!;
  const json = args.options.has('json');
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  if (args.options.has('dry-run')) {
    const view = overview(planned);
    if (json) io.stdout.write(`${JSON.stringify(view)}\n`);
    else {
      io.stdout.write(
        `${view.name}: ${view.points.length} runs (metric ${view.metric}${view.bestOf ? `, best of ${view.bestOf}` : ''})\n`,
      );
      for (const p of view.points.slice(0, only ?? view.points.length))
        io.stdout.write(
          `  ${String(p.index + 1).padStart(3)}  ${p.id.padEnd(44)} ${String(p.params).padStart(10)} params  state ${String(p.stateBytes).padStart(9)} B  memory ≈ ${mib(p.memoryBytes)}\n`,
        );
    }
    return 0;
  }
  const tty = 'isTTY' in io.stderr && Boolean((io.stderr as { isTTY?: boolean }).isTTY);
  const sweepStarted = performance.now();
  let runStarted = performance.now();
  let finished = 0;
  let label = '';
  const handle = startSweep(
    planned,
    { runsDir, only },
    {
      onRunStart(point, position, count) {
        runStarted = performance.now();
        label = `[${position + 1}/${count}] ${point.id}`;
        if (json) io.stdout.write(`${JSON.stringify({ event: 'run-start', id: point.id, position, count })}\n`);
        else io.stderr.write(`${label}\n`);
      },
      onMetrics(point, row) {
        if (json) return;
        const line = progressLine(
          row.step + 1,
          point.train.steps,
          row.loss,
          row.tokens_per_s,
          (performance.now() - runStarted) / 1000,
        );
        if (tty) io.stderr.write(`\r  ${line}\x1b[K`);
      },
      onRunEnd(point, entry, position, count) {
        finished++;
        const elapsed = (performance.now() - sweepStarted) / 1000;
        const eta = (elapsed / finished) * (count - position - 1);
        if (json) io.stdout.write(`${JSON.stringify({ event: 'run-end', id: point.id, ...entry })}\n`);
        else {
          const metric =
            entry.metric !== undefined
              ? `${planned.sweep.metric} ${entry.metric.toFixed(4)}`
              : (entry.message ?? 'no metric');
          io.stderr.write(
            `${tty ? '\r\x1b[K' : ''}  ${entry.status}: ${metric} (${entry.outcome ?? '-'}, ${entry.steps ?? 0} steps, ${entry.seconds ?? 0} s) · sweep ETA ${formatDuration(eta)}\n`,
          );
        }
      },
      onSkip(point, entry) {
        if (json) io.stdout.write(`${JSON.stringify({ event: 'skip', id: point.id, ...entry })}\n`);
        else
          io.stderr.write(
            `  ${point.id}: ${entry.status === 'skipped' ? `skipped (${entry.message})` : 'finished earlier'}\n`,
          );
      },
      onLog(message) {
        if (json) io.stdout.write(`${JSON.stringify({ event: 'log', message })}\n`);
        else io.stderr.write(`${tty ? '\n' : ''}  ${message}\n`);
      },
    },
  );
  const onSigint = () => handle.stop();
  process.once('SIGINT', onSigint);
  const summary = await handle.done.finally(() => process.off('SIGINT', onSigint));
  const line = `${planned.sweep.name}: ${summary.status} — ${summary.ran} trained, ${summary.skipped} skipped, ${summary.failed} failed`;
  if (json)
    io.stdout.write(
      `${JSON.stringify({ event: 'sweep-end', status: summary.status, ran: summary.ran, skipped: summary.skipped, failed: summary.failed })}\n`,
    );
  else io.stderr.write(`${line}${summary.status === 'stopped' ? ' (run the same command to continue)' : ''}\n`);
  return summary.failed > 0 ? 1 : 0;
}

function results(args: ParsedArgs, io: CommandIo): number {
  const planned = plan(args, args.positionals[1]);
  const table = sweepResults(planned, stringOption(args, 'runs', 'runs')!);
  const csvPath = stringOption(args, 'csv');
  if (csvPath) {
    writeFileAtomic(csvPath, resultsCsv(table));
    io.stderr.write(`wrote ${table.rows.length} rows to ${csvPath}\n`);
  }
  if (args.options.has('json')) io.stdout.write(`${JSON.stringify(table)}\n`);
  else io.stdout.write(formatTable(table));
  return 0;
}

/** The per-configuration summary (mean ± spread over seeds, after best-of), then the counts. */
export function formatTable(results: SweepResults): string {
  const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '-');
  const lines = [`${results.sweep}: ${results.metric}${results.bestOf ? `, best of ${results.bestOf}` : ''}`];
  const axes = results.axes.filter((a) => a !== results.bestOf);
  lines.push(
    [
      'family',
      ...axes,
      'params',
      'state B',
      'n',
      'mean',
      '± std',
      results.bestOf ? `chosen ${results.bestOf}` : '',
    ].join('\t'),
  );
  for (const c of results.configs)
    lines.push(
      [
        c.family,
        ...axes.map((a) => String(c.axes[a])),
        c.params,
        c.stateBytes,
        c.n,
        fmt(c.mean),
        fmt(c.std),
        c.chosen.join(' '),
      ].join('\t'),
    );
  const count = (s: string) => results.rows.filter((r) => r.status === s).length;
  lines.push(
    `${results.rows.length} runs: ${count('done')} done, ${count('skipped')} skipped, ${count('failed')} failed, ${count('pending') + count('partial')} pending`,
  );
  return `${lines.join('\n')}\n`;
}
