// Draws the distillation example's figures from what run.sh copied out (metrics-*.jsonl and
// extrapolation-*.json): validation perplexity by step, stage-1 attention MSE per layer, and the
// per-position loss past the training length. SVG by ../svg-chart.ts, PNG through headless Chromium.
//
//   npx tsx docs/examples/distill/figures.ts docs/examples/distill/data docs/examples/distill/figures

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { lineChart, type Series } from '../svg-chart.js';

const [data, figures] = process.argv.slice(2);
if (!data || !figures) throw new Error('usage: figures <data dir> <figure dir>');
mkdirSync(figures, { recursive: true });

const MODELS = [
  { name: 'teacher', label: 'teacher (attention)', color: '#1f77b4' },
  { name: 'student-gla', label: 'GLA, distilled', color: '#ff7f0e' },
  { name: 'hybrid-mamba2', label: 'Mamba-2 + attention, distilled', color: '#2ca02c' },
  { name: 'scratch-gla', label: 'GLA, from scratch', color: '#d62728' },
];

interface Row {
  step: number;
  val_loss?: number;
  stage_index?: number;
  attention_layers?: Record<string, number>;
}
const metrics = (name: string): Row[] =>
  readFileSync(join(data, `metrics-${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Row);

const charts: Record<string, string> = {};

// 1. Validation perplexity by step (the teacher's last 2000 steps are shown on the same axis, shifted).
{
  const series: Series[] = MODELS.map((m) => {
    const rows = metrics(m.name).filter((r) => r.val_loss !== undefined);
    const last = rows.at(-1)!.step + 1;
    const shift = m.name === 'teacher' ? last - 2000 : 0;
    return {
      label: m.name === 'teacher' ? `${m.label}, steps ${shift}–${last}` : m.label,
      color: m.color,
      dashed: m.name === 'teacher',
      points: rows.filter((r) => r.step + 1 > shift).map((r) => [r.step + 1 - shift, Math.exp(r.val_loss!)]),
    };
  });
  charts['val-perplexity'] = lineChart({
    title: 'Validation perplexity (bytes) by step',
    xLabel: 'step (students) / teacher step − 4000',
    yLabel: 'perplexity (log)',
    yLog: true,
    series,
    markers: [{ x: 1000, label: 'stage 2' }],
  });
}

// 2. Stage 1: attention-output MSE per converted layer of each student (log).
{
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  const series: Series[] = [];
  for (const name of ['student-gla', 'hybrid-mamba2']) {
    const rows = metrics(name).filter((r) => r.stage_index === 0 && r.attention_layers);
    const layers = Object.keys(rows[0].attention_layers!);
    layers.forEach((layer, i) =>
      series.push({
        label: `${name}: ${layer}`,
        color: colors[i % colors.length],
        dashed: name !== 'student-gla',
        points: rows.map((r) => [r.step + 1, r.attention_layers![layer]]),
      }),
    );
  }
  charts['stage1-attention-mse'] = lineChart({
    title: 'Stage 1: MSE of each converted mixer against the teacher attention',
    xLabel: 'step',
    yLabel: 'MSE (log)',
    yLog: true,
    series,
  });
}

// 3. Per-position validation loss to 8× the training length.
{
  let T = 0;
  const series: Series[] = MODELS.map((m) => {
    const doc = JSON.parse(readFileSync(join(data, `extrapolation-${m.name}.json`), 'utf8'));
    T = doc.trainLength;
    const validation = doc.results.find((r: { probe: string }) => r.probe === 'validation');
    return {
      label: m.label,
      color: m.color,
      points: validation.buckets.map((b: { start: number; end: number; loss: number }) => [
        (b.start + b.end) / 2,
        b.loss,
      ]),
    };
  });
  charts.extrapolation = lineChart({
    title: 'Held-out loss by position, trained at T = 128',
    xLabel: 'position (tokens, log)',
    yLabel: 'loss (nats/byte)',
    xLog: true,
    series,
    markers: [{ x: T, label: `T = ${T}` }],
  });
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  for (const [name, svgText] of Object.entries(charts)) {
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svgText)!.map(Number);
    await page.setViewportSize({ width: w, height: h });
    await page.setContent(`<html><body style="margin:0">${svgText}</body></html>`);
    await page.screenshot({ path: join(figures, `${name}.png`), clip: { x: 0, y: 0, width: w, height: h } });
    console.log(`wrote ${name}.png`);
  }
} finally {
  await browser.close();
}
