// The Export, Sweep and Distill views in Debian's Chromium (browser mode, SwiftShader WebGPU), each on tiny
// models the host prepares directly in the workspace. Screenshots go to test-results/ (look at them).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import { initialValues } from '../../gpu/nn/module.js';
import { importHfToRun, writeHfFolder } from '../../main/export/hf.js';
import { SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import type { TensorMap } from '../../main/host/runs/checkpoint-file.js';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { RESULTS, startUi, type UiHarness } from './harness.js';

let ui: UiHarness;
const scratch = mkdtempSync(join(tmpdir(), 'statelab-ui-views-'));

/** A run with a step-0 checkpoint of a template at width 16, written straight into the workspace. */
function tinyRun(template: string, name: string, edit: (g: GraphDoc) => GraphDoc = (g) => g): string {
  const path = join(SOURCE_ASSETS_DIR, 'templates', `${template}.json`);
  const doc = parseGraph(readFileSync(path, 'utf8'), path);
  const graph = edit({ ...doc, model: { ...doc.model, d_model: 16 } });
  const params: TensorMap = new Map();
  for (const spec of compileGraph(graph).specs) {
    params.set(spec.name, { shape: spec.shape, data: Float32Array.from(initialValues(spec, 5).data) });
  }
  const folder = join(scratch, name.replace(/\W+/g, '-'));
  writeHfFolder({ graph, params }, folder);
  return importHfToRun(folder, join(ui.workspaceDir, 'runs'), name).id;
}

/** An attention layer with an output bias (a GPT-2 teacher's): the HF layout stores it, PyTorch/ONNX cannot. */
function withOutputBias(graph: GraphDoc): GraphDoc {
  const block = graph.blocks!.block;
  const nodes = block.nodes.map((n) => (n.id === 'attn' ? { ...n, params: { ...n.params, o_bias: true } } : n));
  return { ...graph, blocks: { ...graph.blocks, block: { ...block, nodes } } };
}

beforeAll(async () => {
  ui = await startUi();
}, 240_000);

afterAll(async () => {
  await ui?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function downloadOf(name: string): Promise<Uint8Array> {
  const { page } = ui;
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-download="${name}"]`)]);
  expect(download.suggestedFilename()).toBe(name);
  const path = join(RESULTS, `views-export-${name}`);
  await download.saveAs(path);
  return new Uint8Array(readFileSync(path));
}

describe('Export view', () => {
  it('exports a tiny run as a PyTorch package and as ONNX, and says why a run with an attention output bias cannot be', async () => {
    const conv = tinyRun('short-conv', 'tiny conv');
    const biased = tinyRun('llama', 'tiny biased attention', withOutputBias);
    const { page } = ui;
    await page.goto(ui.server.url);
    await page.click('[data-nav="export"]');
    await page.waitForSelector('[data-testid="format-picker"]');

    // The biased run: the HF layout stores it; PyTorch and ONNX cannot express the bias and say where it is.
    await page.selectOption('[data-setting="export-run"]', biased);
    await expect.poll(() => page.getAttribute('[data-format="onnx"]', 'data-supported')).toBe('false');
    expect(await page.getAttribute('[data-format="hf"]', 'data-supported')).toBe('true');
    expect(await page.textContent('[data-format="pytorch"] [data-testid="format-reason"]')).toMatch(
      /pytorch export cannot express node "block:block\/attn" \(attention with o_bias\)/,
    );
    expect(await page.isDisabled('[data-format="onnx"] input')).toBe(true);
    await page.screenshot({ path: `${RESULTS}/ui-export-formats.png`, fullPage: true });

    // The short-convolution run: every format.
    await page.selectOption('[data-setting="export-run"]', conv);
    await expect.poll(() => page.getAttribute('[data-format="pytorch"]', 'data-supported')).toBe('true');
    expect(await page.textContent('[data-testid="export-families"]')).toMatch(/uses shortconv/);
    await page.check('[data-format="pytorch"] input');
    await page.click('[data-action="export-download"]');
    await expect
      .poll(() => page.getAttribute('[data-testid="export-files"]', 'data-folder'))
      .toBe(`${conv}-step-0-pytorch`);
    const names = await page
      .locator('[data-download]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-download')));
    expect(names).toEqual([
      'README.md',
      '__init__.py',
      'config.json',
      'load.py',
      'model.py',
      'model.safetensors',
      'train.py',
    ]);
    const modelPy = new TextDecoder().decode(await downloadOf('model.py'));
    expect(modelPy).toMatch(/class ShortConvMixer/);
    expect(modelPy).toMatch(/"shortconv": ShortConvMixer/);
    const weights = decodeSafetensors(await downloadOf('model.safetensors'), 'model.safetensors');
    expect(weights.tensors.find((t) => t.name === 'embeddings.weight')?.shape).toEqual([256, 16]);

    await page.check('[data-format="onnx"] input');
    expect(await page.locator('[data-testid="export-files"]').count()).toBe(0); // the old list is gone
    await page.click('[data-action="export-download"]');
    await expect
      .poll(() => page.getAttribute('[data-testid="export-files"]', 'data-folder'))
      .toBe(`${conv}-step-0-onnx`);
    const onnxNames = await page
      .locator('[data-download]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-download')));
    expect(onnxNames).toEqual(['config.json', 'model.onnx', 'model.onnx.data', 'model_step.onnx', 'onnx.json']);
    const manifest = JSON.parse(new TextDecoder().decode(await downloadOf('onnx.json')));
    expect(manifest).toMatchObject({ families: ['shortconv'], external_data: 'model.onnx.data' });
    const step = await downloadOf('model_step.onnx');
    expect(new TextDecoder().decode(step)).toMatch(/input_ids/);
    await page.screenshot({ path: `${RESULTS}/ui-export-onnx.png`, fullPage: true });
    expect(ui.problems).toEqual([]);
  });
});

describe('Sweep view', () => {
  it('expands a tiny sweep, runs it with progress across runs, and shows, sorts and exports the results', async () => {
    const { page } = ui;
    const sweep = {
      format: 'statelab-sweep',
      version: 1,
      name: 'ui-tiny',
      description: 'three widths × two seeds of a one-layer short-convolution model on MQAR',
      graphs: [{ family: 'shortconv', template: 'short-conv', set: { 'layers.count': 1 } }],
      data: { task: 'mqar', params: { vocab_size: 32, seq_len: 16, num_kv_pairs: 2 } },
      axes: { d_model: [8, 16, 32] },
      train: { lr: 0.01, steps: 8, seqLen: 16, batch: 4, evalBatches: 2, warmupSteps: 0 },
      seeds: [1, 2],
      metric: 'val_loss',
    };
    await page.click('[data-nav="sweep"]');
    await page.waitForSelector('[data-sweep="bundled:ci-tiny.json"]');
    // A broken file is refused with the field named; a good one is added to the workspace and opened.
    await page.setInputFiles('[data-action="sweep-import"]', {
      name: 'broken.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ ...sweep, train: { ...sweep.train, lr: 'fast' } })),
    });
    await expect.poll(() => page.textContent('[data-testid="sweep-error"]')).toMatch(/broken\.json: train\.lr/);
    expect(await page.locator('[data-sweep="workspace:broken.json"]').count()).toBe(0);
    // The refusal is an HTTP 400, which Chromium logs; it is the only problem so far.
    expect(ui.problems.splice(0)).toEqual([expect.stringMatching(/status of 400/)]);
    await page.setInputFiles('[data-action="sweep-import"]', {
      name: 'tiny.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(sweep)),
    });
    await expect.poll(() => page.getAttribute('[data-sweep="workspace:tiny.json"]', 'aria-pressed')).toBe('true');
    expect(readFileSync(join(ui.workspaceDir, 'sweeps', 'tiny.json'), 'utf8')).toBe(JSON.stringify(sweep));
    await expect.poll(() => page.textContent('[data-testid="sweep-name"]')).toBe('ui-tiny');
    expect(await page.getAttribute('[data-testid="sweep-grid"]', 'data-points')).toBe('6');
    expect(await page.textContent('[data-testid="sweep-grid"]')).toMatch(/6 runs = 1 family × 3 d_model × 2 seeds/);
    expect(await page.locator('[data-result]').count()).toBe(6); // all pending
    expect(await page.textContent('[data-action="sweep-start"]')).toMatch(/Start the sweep/);

    await page.click('[data-action="sweep-start"]');
    // While it runs: which run of the grid, its step and loss, and a stop button.
    await page.waitForSelector('[data-testid="sweep-current"]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid="sweep-current"]')).toMatch(/Run [1-6] of 6: .* step \d+ \/ 8/);
    await page.screenshot({ path: `${RESULTS}/ui-sweep-running.png` });
    await expect
      .poll(() => page.getAttribute('[data-testid="sweep-run"]', 'data-state'), { timeout: 120_000 })
      .toBe('finished');
    await expect.poll(() => page.textContent('[data-testid="sweep-finished"]')).toBe('6 / 6 runs finished');
    expect(await page.textContent('[data-testid="sweep-log"]')).toMatch(/ui-tiny: finished — 6 trained/);
    const statuses = await page.locator('[data-result] [data-col="status"]').allTextContents();
    expect(statuses).toEqual(Array(6).fill('done'));
    await expect.poll(() => page.getAttribute('[data-testid="sweep-chart"]', 'data-points')).toBe('3');
    expect(await page.getAttribute('[data-testid="sweep-chart"]', 'data-groups')).toBe('shortconv');

    // Sort by the metric, both ways.
    const metricCells = () => page.locator('[data-result] [data-col="val_loss"]').allTextContents();
    await page.click('[data-sort="val_loss"] button');
    const ascending = (await metricCells()).map(Number);
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    await page.click('[data-sort="val_loss"] button');
    expect((await metricCells()).map(Number)).toEqual([...ascending].reverse());

    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-action="sweep-csv"]')]);
    const csvPath = join(RESULTS, 'views-sweep.csv');
    await csv.saveAs(csvPath);
    const lines = readFileSync(csvPath, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(7);
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('[data-action="sweep-png"]')]);
    expect(png.suggestedFilename()).toBe('ui-tiny-val_loss-by-d_model.png');
    const pngPath = join(RESULTS, 'views-sweep-chart.png');
    await png.saveAs(pngPath);
    expect([...readFileSync(pngPath).subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    await page.setViewportSize({ width: 1400, height: 1500 }); // the whole view in one picture
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${RESULTS}/ui-sweep.png` });
    await page.click('[data-action="theme"]');
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${RESULTS}/ui-sweep-dark.png` });
    await page.click('[data-action="theme"]');
    await page.setViewportSize({ width: 1400, height: 900 });

    // A run of the sweep opens in the Runs view with its curves.
    const firstRun = (await page.getAttribute('[data-result] [data-open]', 'data-open'))!;
    await page.click(`[data-open="${firstRun}"]`);
    await expect.poll(() => page.getAttribute('main.view', 'data-view')).toBe('runs');
    expect(await page.isChecked(`[data-run="${firstRun}"] input[type="checkbox"]`)).toBe(true);
    await expect.poll(() => page.getAttribute('[data-testid="chart-loss"]', 'data-points')).toBe('8');
    expect(ui.problems).toEqual([]);
  }, 240_000);
});
