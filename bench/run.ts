// Benchmark driver: `npm run bench -- --suite ops[,other] [--quick] [--out file.json] [--torch torch.json]
// [--toggles disable_robustness,…] [--label text]`. Runs suites from bench/suites/<name>.ts on dawn.node,
// prints one table per suite (with the PyTorch column and ratio when --torch is given) and writes JSON
// to bench/results/<suite>-<device>-<date>.json (or --out). Protocol: ../shared/handbook/benchmarks.md.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeEngine } from '../main/host/node-gpu.js';
import type { BenchRow, BenchSuite } from './suite.js';

interface Args {
  suites: string[];
  quick: boolean;
  out?: string;
  torch?: string;
  toggles: string[];
  label?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { suites: [], quick: false, toggles: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value`);
      return v;
    };
    if (flag === '--suite') args.suites.push(...value().split(','));
    else if (flag === '--quick') args.quick = true;
    else if (flag === '--out') args.out = value();
    else if (flag === '--torch') args.torch = value();
    else if (flag === '--toggles') args.toggles = value().split(',').filter(Boolean);
    else if (flag === '--label') args.label = value();
    else throw new Error(`bench: unknown argument ${flag}`);
  }
  if (args.suites.length === 0) throw new Error('bench: pass --suite <name> (a file in bench/suites/)');
  return args;
}

async function loadSuite(name: string): Promise<BenchSuite> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bench: bad suite name ${name}`);
  // A template-literal import: tsx resolves it at run time and esbuild bundles every bench/suites/*.ts.
  const module = (await import(`./suites/${name}.ts`)) as { default?: BenchSuite };
  if (!module.default) throw new Error(`bench: bench/suites/${name}.ts has no default export`);
  return module.default;
}

interface TorchRow {
  name: string;
  ms: number | null;
  tflops?: number;
  note?: string;
}

function loadTorch(path: string | undefined): Map<string, TorchRow> {
  const rows = new Map<string, TorchRow>();
  if (!path) return rows;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as TorchRow[] | { rows: TorchRow[] };
  for (const row of Array.isArray(parsed) ? parsed : parsed.rows) rows.set(row.name, row);
  return rows;
}

const fmt = (v: number | undefined | null, digits = 3) =>
  v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(digits);

function printTable(rows: BenchRow[], torch: Map<string, TorchRow>): void {
  const header = [
    'row',
    'ms',
    'TFLOP/s',
    'GB/s',
    'peak MiB',
    'check err',
    'torch ms',
    'torch TFLOP/s',
    'speed vs torch',
    'clock / note',
  ];
  const lines = rows.map((r) => {
    const t = torch.get(r.name);
    const ratio = t?.ms ? t.ms / r.ms : undefined;
    return [
      r.name,
      fmt(r.ms, 4),
      fmt(r.tflops, 2),
      fmt(r.gbPerSec, 0),
      r.peakBytes ? (r.peakBytes / 2 ** 20).toFixed(0) : '—',
      r.checkError === undefined ? '—' : r.checkError.toExponential(1),
      fmt(t?.ms, 4),
      fmt(t?.tflops, 2),
      ratio === undefined ? '—' : `${(100 * ratio).toFixed(1)}%`,
      [r.clock, r.note].filter(Boolean).join('; '),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const show = (cells: string[]) => '| ' + cells.map((cell, c) => cell.padEnd(widths[c])).join(' | ') + ' |';
  console.log(show(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const l of lines) console.log(show(l));
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'unknown'
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const flags: string[] = [];
  if (args.toggles.length) flags.push(`enable-dawn-features=${args.toggles.join(',')}`);
  // Timestamps at full resolution (Dawn quantizes them by default); this changes no kernel.
  flags.push('disable-dawn-features=timestamp_quantization');
  const engine = await createNodeEngine({ flags });
  const adapter = engine.ctx.adapter;
  const device = slug(adapter.device || adapter.description || adapter.vendor);
  if (adapter.isSoftware)
    console.log(`NOTE: software adapter (${adapter.description}): smoke run only, not performance.`);
  const torch = loadTorch(args.torch);
  const date = new Date().toISOString();
  const commit = process.env.STATELAB_COMMIT ?? 'unknown';
  try {
    for (const name of args.suites) {
      const suite = await loadSuite(name);
      console.log(
        `\n## ${suite.name} on ${adapter.vendor} ${adapter.device || adapter.description} (${args.quick ? 'quick' : 'full'}, toggles: ${args.toggles.join(',') || 'none'})`,
      );
      const rows = await suite.run(engine, { quick: args.quick });
      printTable(rows, torch);
      const result = {
        suite: suite.name,
        device,
        adapter,
        date,
        commit,
        quick: args.quick,
        toggles: args.toggles,
        label: args.label,
        rows: rows.map((r) => {
          const t = torch.get(r.name);
          return t ? { ...r, torch: t, speedVsTorch: t.ms ? t.ms / r.ms : null } : r;
        }),
      };
      const here = dirname(fileURLToPath(import.meta.url));
      const out =
        args.out && args.suites.length === 1
          ? args.out
          : args.out
            ? args.out.replace(/\.json$/, `-${suite.name}.json`)
            : join(here, 'results', `${suite.name}-${device}-${date.slice(0, 10)}${args.quick ? '-quick' : ''}.json`);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
      console.log(`wrote ${out}`);
    }
  } finally {
    engine.destroy();
  }
  console.log('BENCH-DONE');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
