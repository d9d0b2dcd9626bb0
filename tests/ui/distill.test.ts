// The Distill view in Debian's Chromium (browser mode; the distillation runs in the host, on dawn.node): a
// tiny Llama-style teacher is put in the workspace, the page previews a hybrid GLA student (the transfer
// table with both shapes), shows the host's refusal of a bad hybrid, edits the table (a row skipped, one
// re-sourced) and the stages (loss weights, freeze patterns; a pattern the host refuses), previews the
// edits back, starts a few-step run with them, and must draw the curves and the perplexities that the run
// folder's metrics.jsonl holds.
// Screenshots go to test-results/.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { initialValues } from '../../gpu/nn/module.js';
import { SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { RunStore, type Run } from '../../main/host/runs/run-store.js';
import { templatePath } from '../../main/host/templates.js';
import { RESULTS, startUi, type UiHarness } from './harness.js';

let ui: UiHarness;
let teacher: Run;

/** A Llama-style teacher run (d_model 16, two attention layers) holding its initial parameters at step 0. */
function tinyTeacher(runsDir: string): Run {
  const graph = parseGraph(readFileSync(templatePath('llama')!, 'utf8'));
  graph.model.d_model = 16;
  const run = new RunStore(runsDir).create(
    {
      name: 'tiny llama',
      data: { kind: 'text', path: join(SOURCE_ASSETS_DIR, 'text', 'lighthouse.txt'), tokenizer: 'byte' },
      train: { steps: 1, batch: 2, seqLen: 16 },
      seed: 7,
      versions: {},
      device: {},
    },
    graph,
    {},
  );
  const params = new Map(
    compileGraph(graph).specs.map((s) => [
      s.name,
      { shape: s.shape, data: Float32Array.from(initialValues(s, 7).data) },
    ]),
  );
  run.saveCheckpoint({ step: 0, params, optimizer: new Map(), state: { step: 0, optimizerStep: 0, dataPosition: {} } });
  return run;
}

beforeAll(async () => {
  ui = await startUi();
  teacher = tinyTeacher(join(ui.workspaceDir, 'runs'));
}, 300_000);

afterAll(async () => {
  await ui?.close();
});

describe('Distill view', () => {
  it('previews a hybrid student, shows a refusal, distills a few steps and charts what the run folder holds', async () => {
    const { page } = ui;
    await page.goto(ui.server.url);
    await page.click('[data-nav="distill"]');
    await expect.poll(() => page.inputValue('[data-setting="distill-teacher"]')).toBe(teacher.id);
    expect(await page.textContent('[data-testid="distill-teacher-info"]')).toMatch(/2 attention layers/);

    // The host's refusal is shown as it said it, naming the hybrid's layer.
    await page.fill('[data-setting="distill-hybrid"]', 'layers:5');
    await page.dispatchEvent('[data-setting="distill-hybrid"]', 'change');
    await page.click('[data-action="distill-preview"]');
    await expect
      .poll(() => page.textContent('[data-testid="distill-error"]'))
      .toMatch(/layer 5 does not exist \(the teacher has 2\)/);

    // A form value that is not a number is named before anything is asked of the host.
    await page.fill('[data-setting="distill-steps"]', 'four');
    await expect
      .poll(() => page.textContent('[data-testid="distill-form-problem"]'))
      .toMatch(/total steps: "four" is not an integer/);
    expect(await page.isDisabled('[data-action="distill-start"]')).toBe(true);

    // Layer 0 stays attention, layer 1 becomes GLA: the plan and the transfer table with both shapes.
    await page.fill('[data-setting="distill-hybrid"]', 'layers:0');
    await page.dispatchEvent('[data-setting="distill-hybrid"]', 'change');
    for (const [setting, value] of [
      ['steps', '4'],
      ['lr', '0.01'],
      ['batch', '2'],
      ['seq-len', '16'],
      ['eval-every', '2'],
    ])
      await page.fill(`[data-setting="distill-${setting}"]`, value);
    await page.click('[data-action="distill-preview"]');
    await expect.poll(() => page.textContent('[data-testid="distill-student-label"]')).toBe('gla, hybrid layers:0');
    expect(await page.locator('[data-testid="distill-error"]').count()).toBe(0);
    expect(await page.locator('[data-testid="distill-layers"] tbody tr').count()).toBe(2);
    expect(await page.textContent('[data-testid="distill-layers"] [data-converted="false"]')).toMatch(
      /layers_0_attn.*stays attention/,
    );
    const rows = page.locator('[data-testid="distill-transfer"] tbody tr');
    expect(await rows.count()).toBeGreaterThan(10);
    // The teacher column is the row's source: the select shows the teacher tensor, the other cells as planned.
    const q = rows.filter({ hasText: 'layers_1_attn.q_proj.weight' });
    expect(await q.count()).toBe(1);
    expect(await q.locator('select').inputValue()).toBe('layers.1.attn.q_proj.weight');
    expect((await q.locator('td').allTextContents()).slice(1).map((t) => t.trim())).toEqual([
      '[16, 16]',
      'copy',
      'layers_1_attn.q_proj.weight',
      '[16, 16]',
      expect.any(String),
    ]);
    expect(await page.locator('[data-testid="distill-transfer"] [data-transform="init"]').count()).toBeGreaterThan(0);
    expect(await page.getAttribute('[data-stage-steps="0"]', 'placeholder')).toBe('2');
    await page.screenshot({ path: `${RESULTS}/ui-distill-preview.png` });

    // Table edits: layer 0's up projection is skipped, layer 1's takes layer 0's gate projection — one of the
    // tensors the host offers for a [64, 16] student tensor. Marked pending until the next preview.
    const rowOf = (student: string) => rows.filter({ has: page.locator(`td:text-is("${student}")`) });
    const up0 = rowOf('layers_0_mlp.up_proj.weight');
    const up1 = rowOf('layers_1_mlp.up_proj.weight');
    expect(await up1.locator('select option').allTextContents()).toEqual([
      "— skip (family's init)",
      'layers.0.mlp.gate_proj.weight',
      'layers.0.mlp.up_proj.weight',
      'layers.1.mlp.gate_proj.weight',
      'layers.1.mlp.up_proj.weight',
    ]);
    await up0.locator('select').selectOption('');
    await up1.locator('select').selectOption('layers.0.mlp.gate_proj.weight');
    expect(await up0.getAttribute('data-pending')).toBe('true');
    await expect
      .poll(() => page.textContent('[data-testid="distill-transfer-status"]'))
      .toMatch(/2 edits not previewed yet/);

    // Stage edits: stage 1 adds the hidden-state term at 0.5 and doubles attention; stage 2 trains only the mixer
    // and the final norm (comma-separated patterns).
    await page.fill('[data-stage-weight="0:attention"]', '2');
    await page.fill('[data-stage-weight="0:hidden"]', '0.5');
    await page.fill('[data-stage-train="1"]', 'layers_1_attn.**, norm.*');
    // A pattern that matches no student parameter: the host refuses, naming the stage and the field.
    await page.fill('[data-stage-train="0"]', 'decoder.**');
    await page.click('[data-action="distill-preview"]');
    await expect
      .poll(() => page.textContent('[data-testid="distill-error"]'))
      .toMatch(/stage 1 "attention-transfer": train patterns \["decoder\.\*\*"\] match no student parameter/);
    // A negative weight is named before anything is asked of the host.
    await page.fill('[data-stage-weight="1:ce"]', '-1');
    await expect
      .poll(() => page.textContent('[data-testid="distill-form-problem"]'))
      .toMatch(/stage 2 ce weight: -1 must be at least 0/);
    await page.fill('[data-stage-weight="1:ce"]', '');
    await page.fill('[data-stage-train="0"]', '');

    // Preview again: the plan echoes the edited table and stages.
    await page.click('[data-action="distill-preview"]');
    await expect.poll(() => page.textContent('[data-stage-losses="0"]')).toBe('attention ×2 + hidden ×0.5');
    expect(await page.locator('[data-testid="distill-error"]').count()).toBe(0);
    expect(await page.textContent('[data-stage-trains="1"]')).toBe('layers_1_attn.**, norm.*');
    expect(await page.textContent('[data-stage-trains="0"]')).toBe('layers_1_attn.**');
    expect(await up0.getAttribute('data-edited')).toBe('true');
    expect(await up0.getAttribute('data-pending')).toBe('false');
    expect(await up0.locator('select').inputValue()).toBe('');
    expect(await up0.getAttribute('data-transform')).toBe('init');
    expect(await up1.locator('select').inputValue()).toBe('layers.0.mlp.gate_proj.weight');
    expect(await up1.locator('td').nth(1).textContent()).toBe('[64, 16]');
    expect(await page.locator('[data-testid="distill-transfer"] [data-edited="true"]').count()).toBe(2);
    expect(await page.textContent('[data-testid="distill-transfer-status"]')).toMatch(
      /2 rows differ from the automatic table/,
    );
    await page.locator('[data-testid="distill-stages"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${RESULTS}/ui-distill-edited.png` });

    // Stage 1 runs 3 steps instead of the recipe's 2: 5 steps in all.
    await page.fill('[data-stage-steps="0"]', '3');
    await page.click('[data-action="distill-start"]');
    await expect
      .poll(() => page.getAttribute('[data-testid="distill-run-title"]', 'data-state'), { timeout: 240_000 })
      .toBe('completed');
    const runId = (await page.getAttribute('[data-testid="distill-run-title"]', 'data-run'))!;
    const metrics = readFileSync(join(ui.workspaceDir, 'runs', runId, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number | string>);
    expect(metrics.map((r) => r.stage_index)).toEqual([0, 0, 0, 1, 1]);
    // The run used the edited table and stages.
    const transfer = JSON.parse(readFileSync(join(ui.workspaceDir, 'runs', runId, 'transfer.json'), 'utf8')) as {
      rows: { teacher: string | null; student: string; transform: string }[];
    };
    expect(transfer.rows.find((r) => r.student === 'layers_0_mlp.up_proj.weight')).toMatchObject({
      teacher: null,
      transform: 'init',
    });
    expect(transfer.rows.find((r) => r.student === 'layers_1_mlp.up_proj.weight')).toMatchObject({
      teacher: 'layers.0.mlp.gate_proj.weight',
      transform: 'copy',
    });
    expect(metrics[0].hidden).toBeGreaterThan(0);
    expect(metrics[0].loss).toBeCloseTo(2 * (metrics[0].attention as number) + 0.5 * (metrics[0].hidden as number), 4);

    // The curves hold every row and term; the chart is drawn.
    await expect.poll(() => page.getAttribute('[data-testid="distill-curves"]', 'data-rows')).toBe('5');
    expect(await page.getAttribute('[data-testid="distill-curves"]', 'data-terms')).toBe('loss,kl,ce,attention,hidden');
    expect(await page.locator('[data-testid="distill-chart"] canvas').count()).toBeGreaterThan(0);

    // Stage 1's per-layer table: the one converted layer, first and last attention MSE as the folder has them.
    const layerRow = page.locator('[data-testid="distill-layer-losses"] tbody tr');
    expect(await layerRow.count()).toBe(1);
    const cells = await layerRow.locator('td').allTextContents();
    const layerMse = (r: Record<string, unknown>) => (r.attention_layers as Record<string, number>)['layers_1_attn'];
    expect(cells[0]).toBe('layers_1_attn');
    expect(cells[1]).toBe(layerMse(metrics[0]).toExponential(3));
    expect(cells[2]).toBe(layerMse(metrics[2]).toExponential(3));

    // Teacher and student perplexity from the last evaluation.
    const last = metrics[4];
    expect(await page.textContent('[data-testid="distill-teacher-ppl"]')).toBe(
      (last.teacher_val_ppl as number).toFixed(2),
    );
    expect(await page.textContent('[data-testid="distill-student-ppl"]')).toBe((last.val_ppl as number).toFixed(2));
    await page.screenshot({ path: `${RESULTS}/ui-distill-finished.png` });

    // The run is listed and reopens with the same curves.
    await expect.poll(() => page.locator(`[data-open-run="${runId}"]`).count()).toBe(1);
    await page.click(`[data-open-run="${runId}"]`);
    await expect
      .poll(() => page.textContent('[data-testid="distill-run-title"]'))
      .toMatch(/^Llama-style Transformer → gla, hybrid layers:0 · completed/);
    expect(await page.getAttribute('[data-testid="distill-curves"]', 'data-rows')).toBe('5');
    // The data: a bundled text instead of the teacher's own (tokenized the teacher's way).
    expect(await page.inputValue('[data-setting="distill-data"]')).toBe('');
    expect(await page.textContent('[data-testid="distill-plan"]')).toMatch(
      /text lighthouse\.txt \(byte\) \(the teacher's own data\)/,
    );
    await page.selectOption('[data-setting="distill-data"]', 'bundled-text:lighthouse');
    await page.click('[data-action="distill-preview"]');
    await expect
      .poll(() => page.textContent('[data-testid="distill-plan"]'))
      .toMatch(/Datatext lighthouse\.txt \(byte\)(?! \(the teacher)/);

    // The two refused previews are the browser's only complaints (the server answers a refusal with HTTP 400).
    expect(ui.problems).toEqual(
      Array(2).fill('console: Failed to load resource: the server responded with a status of 400 (Bad Request)'),
    );
  }, 300_000);
});
