// Draws the worked examples' figures from the analyses the runs wrote (runs/<id>/analyses/*.json):
// SVG by svg-chart.ts, then PNG through headless Chromium (playwright-core with the system's chromium).
//
//   npx tsx docs/examples/figures.ts <out dir of worked-examples> <figure dir>

import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { heatmap, lineChart, row, type Series } from './svg-chart.js';

const [out, figures] = process.argv.slice(2);
if (!out || !figures) throw new Error('usage: figures <worked-examples out dir> <figure dir>');
const runsDir = join(out, 'runs');
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

interface Doc {
  run: string;
  trainLength: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  results: any;
}

const runs = readdirSync(runsDir)
  .filter((id) => existsSync(join(runsDir, id, 'run.json')))
  .sort();
const nameOf = (id: string) => JSON.parse(readFileSync(join(runsDir, id, 'run.json'), 'utf8')).name as string;
const analysis = (id: string, name: string): Doc | null => {
  const path = join(runsDir, id, 'analyses', `${name}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Doc) : null;
};
const byName = (prefix: string) => runs.filter((id) => nameOf(id).startsWith(prefix));

const charts: Record<string, string> = {};

// 1. Per-position loss (bucketed) to 16×T, both probes, both models.
{
  const series: Series[] = [];
  let T = 0;
  byName('linear-attention')
    .concat(byName('gla-T'))
    .forEach((id, i) => {
      const doc = analysis(id, 'extrapolation');
      if (!doc) return;
      T = doc.trainLength;
      for (const r of doc.results)
        series.push({
          label: `${nameOf(id)} · ${r.probe}`,
          color: COLORS[i],
          dashed: r.probe !== 'validation',
          points: r.buckets.map((b: { start: number; end: number; loss: number }) => [(b.start + b.end) / 2, b.loss]),
        });
    });
  charts.extrapolation = lineChart({
    title: 'Per-position loss past the training length (buckets of T/8)',
    xLabel: 'position (tokens, log)',
    yLabel: 'loss (nats/byte)',
    series,
    xLog: true,
    markers: [{ x: T, label: `T = ${T}` }],
  });
}

// 2. State RMS per head of the first layer under the data-free probe.
{
  const panels: string[] = [];
  byName('linear-attention')
    .concat(byName('gla-T'))
    .forEach((id) => {
      const doc = analysis(id, 'states');
      if (!doc) return;
      const layer = doc.results.layers[0];
      const entry = layer.entries.find((e: { entry: string }) => e.entry === 'S') ?? layer.entries[0];
      panels.push(
        lineChart({
          title: `${nameOf(id)}: ${layer.name} state RMS per head`,
          xLabel: 'tokens absorbed (log)',
          yLabel: 'RMS of S (log)',
          xLog: true,
          yLog: true,
          width: 560,
          series: entry.series.rms.map((values: number[], h: number) => ({
            label: `head ${h}${doc.results.flagged.some((f: { layer: string; head: number; statistic: string }) => f.layer === layer.name && f.head === h && f.statistic === 'rms') ? ' (flagged)' : ''}`,
            color: COLORS[h % COLORS.length],
            points: values.map((v, k) => [doc.results.positions[k], v] as [number, number]),
          })),
          markers: [{ x: doc.trainLength, label: `T = ${doc.trainLength}` }],
        }),
      );
    });
  if (panels.length) charts.states = row(panels);
}

// 3. Passkey heatmaps.
for (const id of byName('passkey')) {
  const doc = analysis(id, 'passkey');
  if (!doc) continue;
  const r = doc.results;
  charts[`passkey-${nameOf(id).replace('passkey-', '')}`] = heatmap({
    title: `${nameOf(id)}: passkey accuracy (trained at ${doc.trainLength})`,
    values: r.accuracy,
    rowLabels: r.depths.map((d: number) => d.toFixed(2)),
    colLabels: r.lengths.map(String),
    xLabel: 'context length (tokens)',
    yLabel: 'needle depth',
    range: [0, 1],
    annotate: true,
    cell: 44,
  });
}

// 4. MQAR accuracy by number of pairs, and against state size.
{
  const mqar = byName('mqar');
  // One colour per family (runs of the parallel script are created in any order), dashed at d = 32.
  const familyOf = (id: string) =>
    nameOf(id)
      .replace(/^mqar-/, '')
      .replace(/-d\d+$/, '');
  const families = [...new Set(mqar.map(familyOf))].sort();
  const series: Series[] = mqar.map((id) => ({
    label: nameOf(id).replace('mqar-', ''),
    color: COLORS[families.indexOf(familyOf(id)) % COLORS.length],
    dashed: nameOf(id).endsWith('d32'),
    points: (analysis(id, 'mqar')?.results.points ?? []).map((p: { kv: number; accuracy: number }) => [
      p.kv,
      p.accuracy,
    ]),
  }));
  const first = mqar.length ? analysis(mqar[0], 'mqar') : null;
  const trained = first?.results.trainedKv ?? 0;
  charts.mqar = lineChart({
    title: `MQAR accuracy by key-value pairs (${first?.results.length} tokens, trained with ${trained})`,
    xLabel: 'key-value pairs (log)',
    yLabel: 'accuracy',
    series,
    xLog: true,
    yMin: 0,
    yMax: 1,
    markers: [{ x: trained, label: 'trained' }],
  });
  const capacityPath = join(runsDir, 'capacity-mqar.json');
  if (existsSync(capacityPath)) {
    const cap = JSON.parse(readFileSync(capacityPath, 'utf8'));
    // Family by run name (the hybrids' first mixer is their short convolution).
    const family = (p: { name: string }) => p.name.replace(/^mqar-/, '').replace(/-d\d+/, '');
    const families = [...new Set(cap.points.map(family))].sort() as string[];
    charts.capacity = lineChart({
      title: 'MQAR accuracy (mean over 1–16 pairs) against state size',
      xLabel: 'recurrent state per sequence (bytes, fp32, log)',
      yLabel: 'accuracy',
      xLog: true,
      yMin: 0,
      yMax: 1,
      series: families.map((f, i) => ({
        label: f,
        color: COLORS[i],
        points: cap.points
          .filter((p: { name: string }) => family(p) === f)
          .map((p: { stateBytes: number; value: number }) => [p.stateBytes, p.value]),
      })),
    });
  }
}

// 5. Implicit attention of the GLA MQAR model: head 0 per layer and the rollout.
for (const id of byName('mqar-gla-d64')) {
  const doc = analysis(id, 'implicit-attention');
  if (!doc) continue;
  const labels = doc.results.tokens.map(String);
  const panels = doc.results.layers
    .filter((l: { supported: boolean }) => l.supported)
    .map((l: { name: string; matrices: Record<string, number[][]> }) =>
      heatmap({
        title: `${l.name} head 0 |A|`,
        values: l.matrices['0'].map((r) => r.map(Math.abs)),
        rowLabels: labels,
        colLabels: labels,
        xLabel: 'input token s',
        yLabel: 'output token t',
        palette: 'blues',
        cell: 6,
      }),
    );
  // The diagonal (a token's own residual share) would saturate the scale: range by the off-diagonal.
  const offDiagonal = Math.max(...doc.results.rollout.flatMap((r: number[], t: number) => r.filter((_, s) => s !== t)));
  panels.push(
    heatmap({
      title: 'rollout over both layers',
      values: doc.results.rollout,
      range: [0, offDiagonal],
      rowLabels: labels,
      colLabels: labels,
      xLabel: 'input token s',
      yLabel: 'output token t',
      palette: 'blues',
      cell: 6,
    }),
  );
  charts['implicit-attention'] = row(panels);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  for (const [name, svgText] of Object.entries(charts)) {
    writeFileSync(join(figures, `${name}.svg`), svgText);
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svgText)!.map(Number);
    await page.setViewportSize({ width: w, height: h });
    await page.setContent(`<html><body style="margin:0">${svgText}</body></html>`);
    await page.screenshot({ path: join(figures, `${name}.png`), clip: { x: 0, y: 0, width: w, height: h } });
    console.log(`wrote ${name}.png`);
  }
} finally {
  await browser.close();
}
