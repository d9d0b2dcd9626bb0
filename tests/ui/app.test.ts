// The path a new user takes, in Debian's Chromium (browser mode, SwiftShader WebGPU): start from a
// template, edit it (drag a node from the palette, see the validation error, wire it to fix it), undo and
// redo, copy and paste, save; pick a bundled text, train a few steps while the loss curve updates, pause
// and resume, find the run, export a checkpoint and read the downloaded file. Bad input along the way: a
// corrupted graph file, an unsupported dropped file, leaving with unsaved changes, a lost GPU device.
// Screenshots of each view go to test-results/ (look at them).

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import { SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { resumeRun } from '../../main/host/train-run.js';
import { formatCompact } from '../../renderer/src/format.js';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { parseGraph } from '../../shared/graph/parse.js';
import { centerOf, RESULTS, startUi, type UiHarness } from './harness.js';

let ui: UiHarness;
const nodes = () => ui.page.locator('.vue-flow__node');
const problems = () => ui.page.locator('[data-testid="problems"]');
const errorCount = async () => Number(await problems().getAttribute('data-errors'));
const status = () => ui.page.locator('[data-testid="train-status"]');

beforeAll(async () => {
  ui = await startUi();
}, 240_000);

afterAll(async () => {
  await ui?.close();
});

describe('StateLab in Chromium (browser mode)', () => {
  it('opens on the graph editor with a palette generated from the node catalogue', async () => {
    const { page } = ui;
    // Stands in for the desktop app's preload, to drive the page's side of the menu (see the last tests).
    await page.addInitScript(() => {
      const w = window as unknown as { labMenu: unknown; menu: (command: unknown) => void };
      w.labMenu = { on: (listener: (command: unknown) => void) => (w.menu = listener) };
    });
    await page.goto(`${ui.server.url}?debug`);
    await expect.poll(() => page.locator('[data-nav]').count()).toBe(10);
    await expect.poll(() => page.locator('.app-info').textContent()).toMatch(/browser mode/);
    expect(await page.getAttribute('main.view', 'data-view')).toBe('build');
    expect(await page.locator('[data-kind="mixer.gla"]').count()).toBe(1);
    expect(await page.locator('[data-kind="mixer.mamba"]').count()).toBe(1);
    expect(await page.locator('[data-group^="mixers"]').count()).toBeGreaterThanOrEqual(4);
    await page.fill('[data-testid="palette-search"]', 'delta');
    await expect.poll(() => page.locator('.palette-item').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('.palette-item[data-kind="norm"]').count()).toBe(0);
    await page.fill('[data-testid="palette-search"]', '');
    await expect.poll(() => nodes().count()).toBe(4); // the starter graph
    expect(await errorCount()).toBe(0);
  });

  it('starts from a template and shows its figures', async () => {
    const { page } = ui;
    await page.click('[data-action="templates"]');
    await page.click('[data-template="short-conv"]');
    await expect.poll(() => nodes().count()).toBe(5);
    expect(await page.textContent('[data-testid="file-label"]')).toMatch(/Short-convolution LM/);
    expect(await errorCount()).toBe(0);
    expect(await page.textContent('[data-testid="total-params"]')).toMatch(/K/);
    // A small model trains quickly on a software GPU: width 16.
    await page.fill('[data-option="d_model"] input', '16');
    await page.press('[data-option="d_model"] input', 'Enter');
    const small = parseGraph(readFileSync(join(SOURCE_ASSETS_DIR, 'templates', 'short-conv.json'), 'utf8'));
    small.model.d_model = 16;
    const expected = formatCompact(compileGraph(small).totals.params);
    await expect.poll(() => page.textContent('[data-testid="total-params"]')).toBe(expected);
    await page.screenshot({ path: `${RESULTS}/ui-build-template.png` });
  });

  it('edits a block: drop a node, see the error, undo/redo it, wire it to fix it', async () => {
    const { page } = ui;
    await page.click('[data-node="layers"] button.link'); // "open" on the Repeat card
    await expect.poll(() => nodes().count()).toBe(8); // input, norm, mixer, add, norm, MLP, add, output
    const inBlock = await nodes().count();
    await page.dragAndDrop('.palette-item[data-kind="norm"]', '[data-testid="canvas"]', {
      targetPosition: { x: 120, y: 80 },
    });
    await expect.poll(() => nodes().count()).toBe(inBlock + 1);
    await expect.poll(errorCount).toBe(1);
    expect(await page.textContent('[data-testid="problems"]')).toMatch(/input "x" is not connected/);
    expect(await page.getAttribute('[data-node="norm"]', 'data-status')).toBe('error');

    await page.keyboard.press('Control+z');
    await expect.poll(() => nodes().count()).toBe(inBlock);
    await expect.poll(errorCount).toBe(0);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => nodes().count()).toBe(inBlock + 1);
    await expect.poll(errorCount).toBe(1);

    // Wire block input → the new norm: while dragging, only hidden-typed inputs light up.
    const from = await centerOf(page, '[data-port="input.x"]');
    const to = await centerOf(page, '.vue-flow__handle[data-port="norm.x"]');
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
    expect(await page.locator('.vue-flow__handle.compatible').count()).toBeGreaterThan(0);
    await page.mouse.move(to.x, to.y, { steps: 5 });
    await page.mouse.up();
    await expect.poll(errorCount).toBe(0);
    expect(await page.getAttribute('[data-node="norm"]', 'data-status')).toBe('ok');

    // A wire dropped on empty canvas offers the kinds that can take it, and adds one already wired.
    const out = await centerOf(page, '.vue-flow__handle[data-port="norm.y"]');
    const canvas = (await page.locator('[data-testid="canvas"]').boundingBox())!;
    await page.mouse.move(out.x, out.y);
    await page.mouse.down();
    await page.mouse.move(canvas.x + 60, canvas.y + canvas.height - 120, { steps: 8 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid="quick-add"]');
    expect(await page.locator('[data-quick-kind="tokens"]').count()).toBe(0);
    await page.fill('[data-testid="quick-add-search"]', 'gated mlp');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('[data-node="mlp_2"]').count()).toBe(1);
    expect(await page.textContent('[data-action="undo"]')).toMatch(/Undo/);
    expect(await page.getAttribute('[data-action="undo"]', 'title')).toMatch(/Add Gated MLP and connect it/);
    await page.screenshot({ path: `${RESULTS}/ui-build-block.png` });
    await page.click('[data-action="undo"]');
    await expect.poll(() => page.locator('[data-node="mlp_2"]').count()).toBe(0);
    expect(await page.locator('[data-node="norm"]').count()).toBe(1);
  });

  it('validates fields, copies and pastes, deletes, and saves to the workspace', async () => {
    const { page } = ui;
    await page.click('[data-node="norm"]');
    await page.fill('[data-option="eps"] input', '5');
    await page.press('[data-option="eps"] input', 'Enter');
    expect(await page.textContent('[data-testid="field-error"]')).toMatch(/eps must be at most 0.01/);
    await page.fill('[data-option="eps"] input', '0.001');
    await page.press('[data-option="eps"] input', 'Enter');
    await expect.poll(() => page.textContent('[data-node="norm"]')).toMatch(/eps 0.001/);

    const before = await nodes().count();
    await page.click('[data-node="norm"]');
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await expect.poll(() => nodes().count()).toBe(before + 1);
    expect(await page.locator('[data-node="norm_2"]').count()).toBe(1);
    await page.keyboard.press('Delete'); // the pasted copy is selected
    await page.click('[data-node="norm"]');
    await page.keyboard.press('Delete');
    await expect.poll(() => nodes().count()).toBe(before - 1);
    expect(await errorCount()).toBe(0);

    await page.click('[data-block=""]');
    expect(await page.locator('[data-testid="unsaved"]').count()).toBe(1);
    await page.keyboard.press('Control+s');
    await page.fill('[data-testid="dialog-input"]', 'tiny conv');
    await page.click('[data-dialog-button="ok"]');
    await expect.poll(() => page.locator('[data-testid="unsaved"]').count()).toBe(0);
    const saved = parseGraph(readFileSync(join(ui.workspaceDir, 'graphs', 'tiny conv.json'), 'utf8'));
    expect(saved.model.d_model).toBe(16);
    expect(saved.blocks!.block.nodes.map((n) => n.id)).not.toContain('norm');
  });

  it('refuses a corrupted graph file and an unsupported dropped file, and guards unsaved changes', async () => {
    const { page } = ui;
    const broken = join(RESULTS, 'broken-graph.json');
    writeFileSync(broken, '{"format": "statelab-graph", "version": 2, "name": "cut off"');
    await page.click('[data-action="open"]');
    await page.setInputFiles('[data-testid="open-file-input"]', broken);
    await expect
      .poll(() => page.textContent('[data-testid="editor-notice"]'))
      .toMatch(/Could not open broken-graph.json: .*malformed JSON/);
    expect(await page.textContent('[data-testid="file-label"]')).toMatch(/Short-convolution LM/);

    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['x'], 'weights.bin'));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await expect
      .poll(() => page.textContent('[data-testid="app-notice"]'))
      .toMatch(/weights.bin: StateLab cannot open .bin files/);

    // An unsaved edit, then "New": the app asks; Cancel keeps everything.
    await page.fill('[data-testid="graph-name"]', 'Tiny conv');
    await page.press('[data-testid="graph-name"]', 'Tab');
    await expect.poll(() => page.locator('[data-testid="unsaved"]').count()).toBe(1);
    await page.click('[data-action="new-graph"]');
    await expect.poll(() => page.textContent('[data-testid="dialog"]')).toMatch(/not saved/);
    await page.click('[data-dialog-button="cancel"]');
    expect(await page.textContent('[data-testid="file-label"]')).toMatch(/Tiny conv/);
    await page.keyboard.press('Control+s'); // saves to the same file, no question
    await expect.poll(() => page.locator('[data-testid="unsaved"]').count()).toBe(0);
  });

  it('diagnostics name the SwiftShader adapter and flag it as software', async () => {
    const { page } = ui;
    await page.click('[data-nav="diagnostics"]');
    await page.waitForSelector('[data-testid="adapter-kind"]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid="adapter"]')).toMatch(/swiftshader/i);
    expect(await page.textContent('[data-testid="adapter-kind"]')).toBe('software (CPU)');
    expect(await page.textContent('[data-testid="software-warning"]')).toMatch(/software adapter/);
    await page.screenshot({ path: `${RESULTS}/ui-diagnostics.png`, fullPage: true });
  });

  it('shows the data: a dropped dataset file, a synthetic task, and picks a bundled text', async () => {
    const { page } = ui;
    // A dataset file dropped on the window is copied into the workspace and previewed with its tokens.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['to be or not to be, that is the question. '.repeat(30)], 'hamlet.txt'));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => page.getAttribute('main.view', 'data-view')).toBe('data');
    await expect.poll(() => page.locator('[data-file="hamlet.txt"]').isChecked()).toBe(true);
    await page.selectOption('[data-setting="tokenizer"]', 'char');
    await expect.poll(() => page.textContent('[data-testid="data-vocab"]')).toMatch(/^\d+$/);
    expect(Number(await page.textContent('[data-testid="data-vocab"]'))).toBeLessThan(30);
    expect(await page.textContent('[data-testid="data-sample"]')).toMatch(/^to be or not to be/);
    expect(readFileSync(join(ui.workspaceDir, 'data', 'hamlet.txt'), 'utf8')).toMatch(/question/);

    await page.check('[data-setting="data-task"]');
    await page.selectOption('[data-setting="task"]', 'mqar');
    await expect.poll(() => page.locator('[data-testid="vocab-warning"]').count()).toBe(1); // 8192 ids > 256
    await page.fill('[data-task-param="vocab_size"]', '128');
    await expect.poll(() => page.locator('[data-testid="vocab-warning"]').count()).toBe(0);
    expect(await page.locator('[data-testid="task-example"] .cell.scored').count()).toBeGreaterThan(0);

    await page.check('[data-setting="data-text"]');
    await expect.poll(() => page.locator('[data-setting="text"] option').count()).toBeGreaterThan(0);
    await page.selectOption('[data-setting="text"]', 'lighthouse');
    await expect.poll(() => page.textContent('[data-testid="data-sample"]')).toMatch(/Keeper of the North Light/);
    const train = Number((await page.textContent('[data-testid="train-tokens"]'))!.replace(/,/g, ''));
    const validation = Number((await page.textContent('[data-testid="validation-tokens"]'))!.replace(/,/g, ''));
    expect(train + validation).toBe(readFileSync(join(SOURCE_ASSETS_DIR, 'text', 'lighthouse.txt')).length);
    await page.screenshot({ path: `${RESULTS}/ui-data.png` });
  });

  it('trains the edited graph on a bundled text, pausing and resuming, with a smooth UI', async () => {
    const { page } = ui;
    const steps = 24;
    await page.click('[data-nav="train"]');
    expect(await page.textContent('[data-testid="data-summary"]')).toMatch(/Keeper of the North Light/);
    const settings = { steps, batch: 4, seqLen: 16, lr: 0.02, evalEvery: 8, checkpointEvery: 12 };
    for (const [key, value] of Object.entries(settings)) await page.fill(`[data-setting="${key}"]`, String(value));
    // Record every gap between animation frames and every main-thread task over 50 ms while the run goes.
    await page.evaluate(() => {
      const w = window as unknown as { frames: number[][]; longTasks: number[][]; stopFrames: boolean };
      w.frames = [];
      w.longTasks = [];
      w.stopFrames = false;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longTasks.push([Math.round(e.startTime), Math.round(e.duration)]);
      }).observe({ type: 'longtask' });
      let last = performance.now();
      const tick = (now: number) => {
        w.frames.push([Math.round(now), now - last]);
        last = now;
        if (!w.stopFrames) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await page.click('[data-action="start"]');
    const points = () => page.getAttribute('[data-testid="chart-loss"]', 'data-points').then(Number);
    await expect.poll(points, { timeout: 150_000, interval: 250 }).toBeGreaterThanOrEqual(3);
    const warm = await page.evaluate(() => performance.now());

    await page.click('[data-action="pause"]');
    await expect.poll(() => status().getAttribute('data-status'), { timeout: 60_000 }).toBe('paused');
    const progress = () => page.textContent('[data-testid="readout-step"]');
    const held = await progress();
    await page.waitForTimeout(1500);
    expect(await progress()).toBe(held);
    await page.click('[data-action="resume"]');
    await expect
      .poll(() => status().getAttribute('data-status'), { timeout: 150_000, interval: 500 })
      .toMatch(/completed|failed/);
    const { frames, longTasks } = await page.evaluate(() => {
      const w = window as unknown as { frames: number[][]; longTasks: number[][]; stopFrames: boolean };
      w.stopFrames = true;
      return { frames: w.frames.slice(1), longTasks: w.longTasks };
    });
    expect(await page.locator('[data-testid="train-error"]').count(), await page.content()).toBe(0);
    expect(await status().getAttribute('data-status')).toBe('completed');
    writeFileSync(join(RESULTS, 'ui-frame-gaps.json'), JSON.stringify({ warm, frames, longTasks }));
    // The renderer never blocks: no task of the page reaches 100 ms during the whole run, and once the kernels
    // are compiled every frame comes within 100 ms. (Before that, SwiftShader compiles the pipelines inside
    // Chromium's GPU process, which also composites the page: frames can stall there — seconds, once — with
    // no work of the page behind it; those gaps are kept in test-results/ui-frame-gaps.json, not asserted.)
    expect(Math.max(0, ...longTasks.map(([, d]) => d)), `main-thread tasks: ${JSON.stringify(longTasks)}`).toBeLessThan(
      100,
    );
    const running = frames.filter(([t]) => t > warm).map(([, gap]) => gap);
    expect(running.length).toBeGreaterThan(100);
    const late = running.filter((g) => g >= 100).map(Math.round);
    expect(Math.max(...running), `frame gaps of 100 ms or more while training: ${late.join(', ')}`).toBeLessThan(100);

    expect(await points()).toBe(steps);
    const chart = page.locator('[data-testid="chart-loss"]');
    // The drawn curve falls: its last value is well below its first.
    expect(Number(await chart.getAttribute('data-last'))).toBeLessThan(
      Number(await chart.getAttribute('data-first')) - 0.3,
    );
    const finalLoss = Number(await page.textContent('[data-testid="readout-loss"]'));
    expect(finalLoss).toBeLessThan(Math.log(256) - 0.3); // below the uniform byte guess, ln 256 ≈ 5.55
    expect(Number(await page.textContent('[data-testid="readout-val"]'))).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-checkpoint][data-saved="true"]').count()).toBe(2);
    expect(await page.textContent('[data-testid="run-id"]')).toMatch(/^runs\/\d{8}-\d{6}-tiny-conv$/);
    await page.screenshot({ path: `${RESULTS}/ui-train.png`, fullPage: true });
  }, 240_000);

  it('saved a run folder that the CLI resumes (statelab resume)', async () => {
    const runsDir = join(ui.workspaceDir, 'runs');
    const [id] = readdirSync(runsDir);
    const { outcome, run } = await resumeRun(id, runsDir, { steps: 26 });
    expect(outcome.status).toBe('completed');
    const rows = run.metrics();
    expect(rows.map((r) => r.step).slice(-3)).toEqual([23, 24, 25]);
    expect(rows.at(-1)!.loss).toBeLessThan(Math.log(256) - 0.3);
    expect(run.checkpointSteps()).toEqual([12, 24, 26]);
  }, 180_000);

  it('lists the run, compares it and exports a checkpoint as a download', async () => {
    const { page } = ui;
    await page.click('[data-nav="runs"]');
    await expect.poll(() => page.locator('[data-run]').count()).toBe(1);
    const row = page.locator('[data-run]').first();
    expect(await row.textContent()).toMatch(/completed/);
    expect(await row.textContent()).toMatch(/12, 24, 26/);
    await row.locator('input[type="checkbox"]').check();
    await expect.poll(() => page.getAttribute('[data-testid="chart-loss"]', 'data-points')).toBe('26');
    await page.screenshot({ path: `${RESULTS}/ui-runs.png`, fullPage: true });

    await row.locator('[data-action="export-run"]').click();
    await expect.poll(() => page.getAttribute('main.view', 'data-view')).toBe('export');
    await page.selectOption('[data-setting="export-step"]', '12');
    await page.click('[data-action="export-download"]');
    await page.waitForSelector('[data-download="model.safetensors"]');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-download="model.safetensors"]'),
    ]);
    expect(download.suggestedFilename()).toBe('model.safetensors');
    const path = join(RESULTS, 'exported-model.safetensors');
    await download.saveAs(path);
    const weights = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
    expect(weights.tensors.find((t) => t.name === 'embeddings.weight')?.shape).toEqual([256, 16]);
    expect(weights.tensors.every((t) => (t.data as Float32Array).every(Number.isFinite))).toBe(true);
    await page.screenshot({ path: `${RESULTS}/ui-export.png`, fullPage: true });
  });

  it('keeps the run and says what to do when the GPU device is lost mid-run', async () => {
    const { page } = ui;
    await page.click('[data-nav="train"]');
    await page.fill('[data-setting="steps"]', '400');
    await page.fill('[data-setting="checkpointEvery"]', '4');
    await page.click('[data-action="start"]');
    await expect
      .poll(() => page.locator('[data-checkpoint][data-saved="true"]').count(), { timeout: 120_000 })
      .toBeGreaterThan(0);
    await page.evaluate(() => window.statelabDebug!.loseDevice());
    await expect.poll(() => status().getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
    const error = page.locator('[data-testid="train-error"]');
    expect(await error.getAttribute('data-kind')).toBe('device-lost');
    expect(await error.textContent()).toMatch(
      /device was lost.*The run is kept in runs\/.* checkpoint at step \d+.*continue the run from its checkpoint/,
    );
    await page.click('[data-nav="runs"]');
    await expect.poll(() => page.locator('[data-run]').count()).toBe(2);
    const failed = page.locator('[data-run]').first();
    expect(await failed.textContent()).toMatch(/failed/);
    const checkpoints = (await failed.locator('td').nth(7).textContent())!.split(',').map(Number);
    const last = checkpoints.at(-1)!;

    // Continue it from its checkpoint for four more steps: the same run folder grows, and completes.
    await failed.locator('[data-action="continue-run"]').click();
    await page.fill('[data-testid="dialog-input"]', String(last + 4));
    await page.click('[data-dialog-button="ok"]');
    await expect.poll(() => page.getAttribute('main.view', 'data-view')).toBe('train');
    expect(await page.textContent('[data-testid="resumed-from"]')).toMatch(new RegExp(`step ${last}`));
    await expect.poll(() => status().getAttribute('data-status'), { timeout: 120_000 }).toMatch(/completed|failed/);
    expect(await page.locator('[data-testid="train-error"]').count(), await page.content()).toBe(0);
    expect(await page.textContent('[data-testid="readout-step"]')).toBe(`${last + 4} / ${last + 4}`);
    const runsDir = join(ui.workspaceDir, 'runs');
    const id =
      (await failed.getAttribute('data-run').catch(() => null)) ??
      (await page.textContent('[data-testid="run-id"]'))!.slice(5);
    const resumed = new RunStore(runsDir).open(id);
    expect(resumed.info().status).toBe('completed');
    expect(resumed.checkpointSteps().at(-1)).toBe(last + 4);
    expect(resumed.metrics().at(-1)!.step).toBe(last + 3);
  }, 240_000);

  it('follows menu commands, and opens a graph file the system hands over', async () => {
    const { page } = ui;
    const menu = (command: object) =>
      page.evaluate((c) => (window as unknown as { menu(c: object): void }).menu(c), command);
    await menu({ command: 'view', view: 'export' });
    expect(await page.getAttribute('main.view', 'data-view')).toBe('export');
    const text = readFileSync(join(SOURCE_ASSETS_DIR, 'templates', 'mamba.json'), 'utf8');
    await menu({ command: 'open-file', name: 'my.statelab', text });
    expect(await page.getAttribute('main.view', 'data-view')).toBe('build');
    await expect.poll(() => page.textContent('[data-testid="file-label"]')).toMatch(/file my.statelab/);
    await menu({ command: 'templates' });
    await page.waitForSelector('[data-testid="template-gallery"]');
    await page.keyboard.press('Escape');
    expect(await page.locator('[data-testid="template-gallery"]').count()).toBe(0);

    // Group the final norm into a block of its own: a Repeat node takes its place, the graph stays valid.
    await page.click('[data-node="norm"]');
    await page.keyboard.press('Control+g');
    await page.fill('[data-testid="dialog-input"]', 'final');
    await page.click('[data-dialog-button="ok"]');
    await expect.poll(() => page.locator('[data-block="final"]').count()).toBe(1);
    expect(await page.locator('[data-node="norm"]').count()).toBe(0);
    expect(await page.locator('[data-node="final"][data-kind="repeat"]').count()).toBe(1);
    expect(await errorCount()).toBe(0);
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.locator('[data-node="norm"]').count()).toBe(1);
    expect(await page.locator('[data-block="final"]').count()).toBe(0);
  });

  it('switches to the dark theme', async () => {
    const { page } = ui;
    await page.click('[data-action="theme"]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.click('[data-nav="build"]');
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${RESULTS}/ui-build-dark.png` });
  });

  it('logged no page errors and no CSP violations', () => {
    expect(ui.problems).toEqual([]);
  });
});
