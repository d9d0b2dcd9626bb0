// The Inspect view in Debian's Chromium (browser mode, SwiftShader WebGPU for the page; the analyses run
// in the host, on dawn.node): tiny runs are trained into the workspace with the CLI's training service, then
// the page runs analyses on them and must chart what the host saved in runs/<id>/analyses/.
// Screenshots go to test-results/.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { templatePath } from '../../main/host/templates.js';
import { trainRun } from '../../main/host/train-run.js';
import { parseGraph } from '../../shared/graph/parse.js';
import { RESULTS, startUi, type UiHarness } from './harness.js';

let ui: UiHarness;
let textRun = '';
let mqarRun = '';
let passkeyRun = '';

function template(name: string, width: number) {
  const doc = parseGraph(readFileSync(templatePath(name)!, 'utf8'), `${name}.json`);
  doc.model.d_model = width;
  return doc;
}

const savedJson = (run: string, name: string) =>
  JSON.parse(readFileSync(join(ui.workspaceDir, 'runs', run, 'analyses', `${name}.json`), 'utf8'));

beforeAll(async () => {
  ui = await startUi();
  const runsDir = join(ui.workspaceDir, 'runs');
  const text = await trainRun({
    graph: template('gla', 16),
    data: { kind: 'text', path: join(SOURCE_ASSETS_DIR, 'text', 'lighthouse.txt'), tokenizer: 'byte' },
    runsDir,
    name: 'tiny gla',
    steps: 20,
    batch: 4,
    seqLen: 16,
    lr: 3e-3,
    seed: 1,
    evalEvery: 0,
    checkpointEvery: 20,
  });
  expect(text.outcome.status).toBe('completed');
  textRun = text.run.id;
  const mqar = await trainRun({
    graph: template('short-conv', 16),
    data: { kind: 'task', task: 'mqar', params: { vocab_size: 32, seq_len: 16, num_kv_pairs: 2 } },
    runsDir,
    name: 'tiny mqar',
    steps: 4,
    batch: 4,
    seqLen: 16,
    lr: 1e-3,
    seed: 1,
    evalEvery: 0,
    checkpointEvery: 4,
  });
  mqarRun = mqar.run.id;
  const passkey = await trainRun({
    graph: template('short-conv', 16),
    data: { kind: 'task', task: 'passkey', params: { seq_len: 16, digits: 2, filler_tokens: 4 } },
    runsDir,
    name: 'tiny passkey',
    steps: 2,
    batch: 4,
    seqLen: 16,
    lr: 1e-3,
    seed: 1,
    evalEvery: 0,
    checkpointEvery: 2,
  });
  passkeyRun = passkey.run.id;
}, 300_000);

afterAll(async () => {
  await ui?.close();
});

async function runAnalysis(name: string, options: Record<string, string>): Promise<void> {
  const { page } = ui;
  await page.check(`[data-analysis="${name}"] input`);
  for (const [option, value] of Object.entries(options)) await page.fill(`input[data-option="${option}"]`, value);
  await page.click('[data-action="analysis-start"]');
  await expect
    .poll(() => page.getAttribute('[data-testid="analysis-progress"]', 'data-state'), { timeout: 120_000 })
    .not.toBe('running');
}

describe('Inspect view', () => {
  it('runs length extrapolation, states and implicit attention on a tiny GLA run and charts what was saved', async () => {
    const { page } = ui;
    await page.goto(ui.server.url);
    await page.click('[data-nav="inspect"]');
    await page.selectOption('[data-setting="inspect-run"]', textRun);
    await expect
      .poll(() => page.textContent('[data-testid="inspect-run-info"]'))
      .toMatch(/Text · trained at 16 tokens · 2 mixer layers · 1 checkpoint/);
    // A text run cannot have the task analyses, and says why.
    expect(await page.getAttribute('[data-analysis="passkey"]', 'data-available')).toBe('false');
    expect(await page.getAttribute('[data-analysis="passkey"]', 'title')).toMatch(
      /needs a run trained on the passkey task; this run was trained on text/,
    );
    expect(await page.textContent('[data-testid="saved-analyses"]')).toMatch(/None yet/);

    // A malformed option is refused by name before anything runs.
    await page.check('[data-analysis="extrapolation"] input');
    await page.fill('input[data-option="factor"]', 'four');
    await expect
      .poll(() => page.textContent('[data-testid="analysis-options-problem"]'))
      .toMatch(/length \(× T\): "four" is not a number/);
    expect(await page.isDisabled('[data-action="analysis-start"]')).toBe(true);

    // Length extrapolation to 4 × T on the validation probe: loss against position with T marked.
    await page.click('[data-option="probes"] label:has-text("validation") input');
    await runAnalysis('extrapolation', { factor: '4', batch: '2' });
    expect(await page.getAttribute('[data-testid="analysis-progress"]', 'data-state')).toBe('finished');
    await expect
      .poll(() => page.getAttribute('[data-testid="inspect-result-title"]', 'data-analysis'))
      .toBe('extrapolation');
    expect(await page.getAttribute('[data-testid="result-extrapolation"]', 'data-probes')).toBe('validation');
    const extrapolation = savedJson(textRun, 'extrapolation');
    expect(extrapolation.config).toMatchObject({ factor: 4, length: 64, batch: 2, probes: ['validation'] });
    const atT = extrapolation.results[0].multiples.find((m: { multiple: number }) => m.multiple === 1).loss as number;
    const cells = await page
      .locator('[data-testid="extrapolation-table"] tr[data-probe="validation"] td')
      .allTextContents();
    expect(cells[1]).toBe(atT.toFixed(3));
    expect(cells.at(-1)).toMatch(/× T/);
    await page.waitForSelector('[data-testid="inspect-chart"] canvas');
    await page.screenshot({ path: `${RESULTS}/ui-inspect-extrapolation.png` });

    // State statistics to 4 × T: one line per head, flags listed (or none), the decay of the GLA gates.
    await runAnalysis('states', { factor: '4', every: '4' });
    await expect.poll(() => page.getAttribute('[data-testid="inspect-result-title"]', 'data-analysis')).toBe('states');
    const states = savedJson(textRun, 'states');
    expect(await page.getAttribute('[data-testid="result-states"]', 'data-flagged')).toBe(
      String(states.results.flagged.length),
    );
    expect(states.results.positions).toEqual(Array.from({ length: 16 }, (_, i) => 4 * (i + 1)));
    await page.waitForSelector('[data-testid="states-chart"] canvas');
    await page.waitForSelector('[data-testid="decay-chart"] canvas');
    await page.screenshot({ path: `${RESULTS}/ui-inspect-states.png` });

    // Implicit attention over 12 tokens: a heatmap per layer, exact for GLA (the matrix reproduces the output).
    await runAnalysis('implicit-attention', { length: '12', heads: '0,1' });
    await expect
      .poll(() => page.getAttribute('[data-testid="inspect-result-title"]', 'data-analysis'))
      .toBe('implicit-attention');
    const implicit = savedJson(textRun, 'implicit-attention');
    expect(implicit.results.layers.every((l: { supported: boolean }) => l.supported)).toBe(true);
    expect(await page.getAttribute('[data-testid="result-implicit"]', 'data-layers')).toBe('2');
    const error = Number(
      (await page.textContent('[data-testid="implicit-layer-note"]'))!.match(/relative error of ([0-9.]+e[+-]\d+)/)![1],
    );
    expect(error).toBeLessThan(1e-4);
    expect(error).toBeCloseTo(implicit.results.layers[0].reconstructionError, 6);
    await page.selectOption('[data-setting="inspect-unit"]', '1');
    await page.waitForSelector('[data-testid="implicit-heatmap"] canvas');
    await page.screenshot({ path: `${RESULTS}/ui-inspect-implicit.png` });

    // Saved analyses are listed and reopen; the CSV is the chart's data.
    const saved = await page
      .locator('[data-saved-analysis]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-saved-analysis')));
    expect([...saved].sort()).toEqual(['extrapolation', 'implicit-attention', 'states']);
    await page.click('[data-saved-analysis="extrapolation"]');
    await expect
      .poll(() => page.getAttribute('[data-testid="inspect-result-title"]', 'data-analysis'))
      .toBe('extrapolation');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-action="chart-csv"]')]);
    const csvPath = join(RESULTS, 'ui-inspect-extrapolation.csv');
    await csv.saveAs(csvPath);
    const lines = readFileSync(csvPath, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('position,validation_loss');
    expect(lines).toHaveLength(65);

    // Beyond what the analysis allows: refused with the limit named.
    await runAnalysis('implicit-attention', { length: '5000' });
    expect(await page.textContent('[data-testid="analysis-error"]')).toMatch(
      /length 5000 is over the limit of 1024 tokens/,
    );
    expect(ui.problems).toEqual([]);
  }, 300_000);

  it('offers the MQAR analysis on an MQAR run and charts accuracy against key-value pairs', async () => {
    const { page } = ui;
    await page.selectOption('[data-setting="inspect-run"]', mqarRun);
    await expect
      .poll(() => page.textContent('[data-testid="inspect-run-info"]'))
      .toMatch(/Task mqar · trained at 16 tokens/);
    expect(await page.getAttribute('[data-analysis="mqar"]', 'data-available')).toBe('true');
    expect(await page.getAttribute('[data-analysis="passkey"]', 'title')).toMatch(
      /this run was trained on the task "mqar"/,
    );
    await runAnalysis('mqar', { kv: '1,2,8', samples: '8' });
    expect(await page.getAttribute('[data-testid="analysis-progress"]', 'data-state')).toBe('finished');
    await expect.poll(() => page.getAttribute('[data-testid="inspect-result-title"]', 'data-analysis')).toBe('mqar');
    const mqar = savedJson(mqarRun, 'mqar');
    expect(mqar.results.points.map((p: { kv: number }) => p.kv)).toEqual([1, 2]);
    expect(mqar.results.skipped.map((s: { kv: number }) => s.kv)).toEqual([8]);
    await page.waitForSelector('[data-testid="mqar-chart"] canvas');
    expect(await page.textContent('[data-testid="result-task"]')).toMatch(/8 pairs skipped/);
    await page.screenshot({ path: `${RESULTS}/ui-inspect-mqar.png` });
    expect(ui.problems).toEqual([]);
  }, 180_000);

  it('charts passkey accuracy as a depth × length heatmap and state tracking against length on a passkey run', async () => {
    const { page } = ui;
    await page.selectOption('[data-setting="inspect-run"]', passkeyRun);
    await expect.poll(() => page.textContent('[data-testid="inspect-run-info"]')).toMatch(/Task passkey/);
    expect(await page.getAttribute('[data-analysis="mqar"]', 'data-available')).toBe('false');
    await runAnalysis('passkey', { lengths: '16,32', depths: '2', samples: '4' });
    await expect.poll(() => page.getAttribute('[data-testid="inspect-result-title"]', 'data-analysis')).toBe('passkey');
    const passkey = savedJson(passkeyRun, 'passkey');
    expect(passkey.results).toMatchObject({ lengths: [16, 32], depths: [0.25, 0.75], samples: 4 });
    const capacity = passkey.results.capacity as number;
    expect(await page.textContent('[data-testid="passkey-capacity"]')).toMatch(
      capacity ? new RegExp(`up to ${capacity} tokens`) : /Does not recall the passkey .* at any tested length/,
    );
    await page.waitForSelector('[data-testid="passkey-heatmap"] canvas');
    await page.waitForSelector('[data-testid="passkey-line"] canvas');
    await page.screenshot({ path: `${RESULTS}/ui-inspect-passkey.png` });

    await runAnalysis('state-tracking', { lengths: '16,32', samples: '4' });
    await expect
      .poll(() => page.getAttribute('[data-testid="inspect-result-title"]', 'data-analysis'))
      .toBe('state-tracking');
    const tracking = savedJson(passkeyRun, 'state-tracking');
    expect(tracking.results.points.map((p: { seqLen: number }) => p.seqLen)).toEqual([16, 32]);
    await page.waitForSelector('[data-testid="tracking-chart"] canvas');
    expect(ui.problems).toEqual([]);
  }, 180_000);
});
