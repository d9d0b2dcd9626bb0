// The sweep's chart and table from a results.json written by run-on-gpu.ts (or `statelab sweep results
// --json`): MQAR accuracy against d_model and against state size, one line per family, through the
// sweep service's chartSeries; and table.md with every configuration's figures.
//   npx tsx docs/examples/sweep-mqar/chart.ts docs/examples/sweep-mqar/data/results.json docs/examples/sweep-mqar

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { join } from 'node:path';
import { chartSeries, type SweepResults } from '../../../main/host/sweeps/results.js';
import { lineChart, type Series } from '../svg-chart.js';

const [input, outDir] = process.argv.slice(2);
if (!input || !outDir) throw new Error('usage: chart.ts <results.json> <out dir>');
const results = JSON.parse(readFileSync(input, 'utf8')) as SweepResults;

const COLORS: Record<string, string> = {
  attention: '#000000',
  gla: '#1f77b4',
  mamba2: '#ff7f0e',
  deltanet: '#2ca02c',
  'gated-deltanet': '#17becf',
  hgrn2: '#9467bd',
  rwkv7: '#d62728',
  shortconv: '#7f7f7f',
};

function series(x: 'd_model' | 'stateBytes'): Series[] {
  return chartSeries(results, x).map((s) => ({
    label: s.label,
    color: COLORS[s.family] ?? '#8c564b',
    dashed: s.family === 'shortconv',
    points: s.points.map((p) => [Number(p.x), p.mean] as [number, number]),
  }));
}

const title = `MQAR accuracy (${results.sweep}: 16 pairs, 256 tokens, vocabulary 8192)`;
const charts: Record<string, string> = {};
// On Zoology's 0–1 scale, so the figures compare at a glance
charts['accuracy-vs-width'] = lineChart({
  title,
  xLabel: 'd_model',
  yLabel: 'accuracy',
  series: series('d_model'),
  xLog: true,
  yMin: 0,
  yMax: 1,
});
// Scaled to the data, so small differences show
charts['accuracy-vs-state'] = lineChart({
  title,
  xLabel: 'recurrent state bytes per sequence at 256 tokens (attention: KV cache)',
  yLabel: 'accuracy',
  series: series('stateBytes'),
  xLog: true,
  yMin: 0,
});
for (const [name, svg] of Object.entries(charts)) writeFileSync(join(outDir, `${name}.svg`), svg);

const byKey = new Map(results.rows.map((r) => [`${r.family}|${r.axes.d_model}`, r]));
const lines = [
  '| family | d_model | params | state bytes | steps | val loss | MQAR accuracy | outcome |',
  '|---|---|---|---|---|---|---|---|',
];
for (const c of results.configs) {
  const row =
    results.rows.find((r) => r.best && r.family === c.family && r.axes.d_model === c.axes.d_model) ??
    byKey.get(`${c.family}|${c.axes.d_model}`)!;
  lines.push(
    `| ${c.family} | ${c.axes.d_model} | ${c.params.toLocaleString('en')} | ${c.stateBytes.toLocaleString('en')} | ${row.steps ?? '-'} | ${row.valLoss?.toFixed(3) ?? '-'} | ${c.mean.toFixed(3)} | ${row.outcome ?? '-'} |`,
  );
}
const missing = results.rows.filter((r) => r.status !== 'done');
if (missing.length)
  lines.push(
    '',
    `Not finished: ${missing.map((r) => `${r.id} (${r.status}${r.message ? `: ${r.message}` : ''})`).join('; ')}`,
  );
writeFileSync(join(outDir, 'table.md'), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\n`);

// PNG copies through headless Chromium where it is installed (as docs/examples/figures.ts does)
if (existsSync('/usr/bin/chromium')) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    for (const [name, svg] of Object.entries(charts)) {
      const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
      await page.setViewportSize({ width: w, height: h });
      await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
      await page.screenshot({ path: join(outDir, `${name}.png`), clip: { x: 0, y: 0, width: w, height: h } });
    }
  } finally {
    await browser.close();
  }
}
