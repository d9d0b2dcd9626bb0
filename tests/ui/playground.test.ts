// The Playground view in Debian's Chromium (browser mode, SwiftShader WebGPU): a tiny Griffin model (two
// RG-LRU layers and a local-attention layer with an 8-token window) is trained a few steps into the
// workspace with the CLI's training service; the page loads its checkpoint into the generation Worker,
// streams a greedy continuation, and must print the same text and the same memory readout as
// `statelab generate --json` on the same checkpoint. Screenshots go to test-results/.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCommand } from '../../main/cli/generate.js';
import { importTransformer } from '../../main/import/teacher.js';
import { SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { templatePath } from '../../main/host/templates.js';
import { trainRun } from '../../main/host/train-run.js';
import { parseGraph } from '../../shared/graph/parse.js';
import { byteLevelTokenizer, GPT2_CONFIG, gpt2Tensors, writeHfFolder } from '../import/hf-fixtures.js';
import { RESULTS, startUi, type UiHarness } from './harness.js';

let ui: UiHarness;
let textRun = '';
let taskRun = '';
const PROMPT = 'The lighthouse keeper'; // 21 byte tokens: longer than the 8-token window
const MAX_TOKENS = 40;

function griffin(width: number) {
  const doc = parseGraph(readFileSync(templatePath('griffin')!, 'utf8'), 'griffin.json');
  doc.model.d_model = width;
  const attention = doc.blocks!.block.nodes.find((n) => n.kind === 'mixer.attention')!;
  attention.params = { ...attention.params, window: 8 };
  return doc;
}

async function cliGenerate(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await generateCommand(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  expect(stderr, 'statelab generate --json writes nothing to stderr').toBe('');
  expect(code).toBe(0);
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

beforeAll(async () => {
  ui = await startUi();
  const runsDir = join(ui.workspaceDir, 'runs');
  const text = await trainRun({
    graph: griffin(32),
    data: { kind: 'text', path: join(SOURCE_ASSETS_DIR, 'text', 'lighthouse.txt'), tokenizer: 'byte' },
    runsDir,
    name: 'tiny griffin',
    steps: 30,
    batch: 4,
    seqLen: 32,
    lr: 3e-3,
    seed: 1,
    evalEvery: 0,
    checkpointEvery: 15,
  });
  expect(text.outcome.status).toBe('completed');
  textRun = text.run.id;
  const task = await trainRun({
    graph: griffin(16),
    data: { kind: 'task', task: 'mqar', params: { vocab_size: 32, seq_len: 16, num_kv_pairs: 2 } },
    runsDir,
    name: 'tiny mqar',
    steps: 2,
    batch: 2,
    seqLen: 16,
    lr: 1e-3,
    seed: 1,
    evalEvery: 0,
    checkpointEvery: 2,
  });
  taskRun = task.run.id;
}, 300_000);

const scratch = mkdtempSync(join(tmpdir(), 'statelab-ui-playground-'));

afterAll(async () => {
  await ui?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('Playground view', () => {
  it('streams a greedy continuation with tokens/s and the live memory readout, as statelab generate does', async () => {
    const { page } = ui;
    writeFileSync(
      join(ui.workspaceDir, 'prompt-sets.json'),
      '{"format": "statelab-prompt-sets", "version": 1, "sets": [{"name": "edge cases", "prompts": ["lamp \\ud800"]}]}',
    );
    await page.goto(ui.server.url);
    await page.click('[data-nav="playground"]');
    // The text run is chosen at its latest checkpoint and loaded into the Worker.
    await expect
      .poll(() => page.getAttribute('[data-testid="playground-model"]', 'data-status'), { timeout: 60_000 })
      .toBe('ready');
    expect(await page.inputValue('[data-setting="playground-run"]')).toBe(textRun);
    expect(await page.inputValue('[data-setting="playground-step"]')).toBe('30');
    expect(await page.textContent('[data-testid="playground-model-status"]')).toMatch(
      /3 mixer layers · byte-level tokens \(vocabulary 256\) · trained on 32-token sequences/,
    );

    // An empty prompt: nothing to continue from, said before anything runs.
    expect(await page.isDisabled('[data-action="generate"]')).toBe(true);
    expect(await page.textContent('[data-testid="prompt-problem"]')).toMatch(/Type a prompt/);
    // A character the byte tokenizer cannot encode: a lone surrogate has no UTF-8 form. A browser turns one
    // typed or pasted into U+FFFD, but a prompt set written by a script can hold one (JSON "\ud800").
    await page.click('[data-prompt-set="edge cases"] [data-action="prompt-use"]');
    await expect
      .poll(() => page.textContent('[data-testid="prompt-problem"]'))
      .toMatch(/cannot be encoded: character 5 is a lone UTF-16 surrogate \(U\+D800\)/);
    expect(await page.isDisabled('[data-action="generate"]')).toBe(true);

    // A prompt longer than the local-attention window: announced (the documented behaviour), then generated.
    await page.fill('[data-setting="prompt"]', PROMPT);
    await expect
      .poll(() => page.textContent('[data-testid="prompt-notes"]'))
      .toMatch(
        /The prompt \(21 tokens\) is longer than the 8-token window of local attention layer "layers\.0\.attn_2"/,
      );
    await page.fill('[data-setting="temperature"]', '0');
    await page.fill('[data-setting="maxTokens"]', String(MAX_TOKENS));
    // Record every streamed count so the test sees the text arrive in pieces, not at the end.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenCounts: string[] }).seenCounts = seen;
      const output = document.querySelector('[data-testid="generate-output"]')!;
      new MutationObserver(() => seen.push(output.getAttribute('data-generated') ?? '')).observe(output, {
        attributes: true,
        attributeFilter: ['data-generated'],
      });
    });
    await page.click('[data-action="generate"]');
    await expect.poll(() => page.getAttribute('[data-testid="generate-status"]', 'data-status')).toBe('generating');
    await expect
      .poll(() => page.textContent('[data-testid="generate-status"]'), { timeout: 120_000 })
      .toMatch(new RegExp(`reached the token limit after ${MAX_TOKENS} tokens`));
    const counts = (await page.evaluate(() => (window as unknown as { seenCounts: string[] }).seenCounts)).map(Number);
    expect(counts.filter((c) => c > 0 && c < MAX_TOKENS).length, 'partial counts while streaming').toBeGreaterThan(0);
    expect(await page.textContent('[data-testid="generate-warnings"]')).toMatch(
      /a prompt of 21 tokens is longer than the 8-token window of local attention layer "layers\.0\.attn_2"/,
    );
    expect(Number(await page.textContent('[data-testid="generate-tps"]'))).toBeGreaterThan(0);

    // The same checkpoint through the CLI: the same text and the same memory, layer by layer.
    const events = await cliGenerate(
      textRun,
      '--prompt',
      PROMPT,
      '--temperature',
      '0',
      '--max-tokens',
      String(MAX_TOKENS),
      '--runs',
      join(ui.workspaceDir, 'runs'),
      '--json',
    );
    const done = events.find((e) => e.event === 'done')!;
    const end = events.find((e) => e.event === 'end')! as {
      memory: { tokens: number; layers: { name: string; kind: string; state_bytes: number; kv_cache_bytes: number }[] };
    };
    const continuation = (await page.textContent('[data-testid="generate-continuation"]'))!;
    expect(continuation.length).toBeGreaterThan(0);
    expect(continuation).toBe(done.text);
    expect(await page.textContent('[data-testid="memory-tokens"]')).toBe(String(end.memory.tokens));
    expect(end.memory.tokens).toBe(21 + MAX_TOKENS - 1);
    const rows = await page.locator('[data-testid="playground-memory"] tr[data-layer]').evaluateAll((trs) =>
      trs.map((tr) => ({
        name: tr.getAttribute('data-layer'),
        kind: tr.getAttribute('data-kind'),
        state: Number(tr.querySelector('[data-col="state"]')!.getAttribute('data-bytes')),
        kv: Number(tr.querySelector('[data-col="kv"]')!.getAttribute('data-bytes')),
        what: tr.textContent,
      })),
    );
    expect(rows.map(({ name, kind, state, kv }) => ({ name, kind, state, kv }))).toEqual(
      end.memory.layers.map((l) => ({ name: l.name, kind: l.kind, state: l.state_bytes, kv: l.kv_cache_bytes })),
    );
    // RG-LRU layers hold a constant state; the windowed attention layer holds K and V of its last 8 tokens.
    const attention = rows.find((r) => r.kind === 'attention')!;
    expect(attention.state).toBe((attention.kv * 8) / end.memory.tokens);
    expect(attention.what).toMatch(/KV cache, capped at the 8-token window/);
    expect(rows.filter((r) => r.kind === 'hawk').every((r) => /recurrent state \(constant\)/.test(r.what!))).toBe(true);
    expect(Number(await page.getAttribute('[data-testid="memory-chart"]', 'data-points'))).toBeGreaterThan(1);
    await page.screenshot({ path: `${RESULTS}/ui-playground.png`, fullPage: true });

    // Prompt sets: saved in the workspace's prompt-sets.json, and a saved prompt comes back with one click.
    await page.fill('[data-setting="prompt-set-name"]', 'lighthouse');
    await page.click('[data-action="prompt-set-add"]');
    await page.waitForSelector('[data-prompt-set="lighthouse"]');
    expect(JSON.parse(readFileSync(join(ui.workspaceDir, 'prompt-sets.json'), 'utf8'))).toEqual({
      format: 'statelab-prompt-sets',
      version: 1,
      sets: [
        { name: 'edge cases', prompts: ['lamp \uD800'] },
        { name: 'lighthouse', prompts: [PROMPT] },
      ],
    });
    await page.fill('[data-setting="prompt"]', 'Once');
    await page.click('[data-action="prompt-set-add"]');
    await expect.poll(() => page.locator('[data-prompt-set="lighthouse"] li').count()).toBe(2);
    await page.click('[data-prompt-set="lighthouse"] li:first-child [data-action="prompt-use"]');
    expect(await page.inputValue('[data-setting="prompt"]')).toBe(PROMPT);
    expect(ui.problems).toEqual([]);
  }, 300_000);

  it('refuses a run trained on a synthetic task with the reason, and a bad setting names its field', async () => {
    const { page } = ui;
    await page.selectOption('[data-setting="playground-run"]', taskRun);
    await expect
      .poll(() => page.textContent('[data-testid="playground-model-error"]'))
      .toMatch(/was trained on the synthetic task "mqar": its tokens are not text/);
    expect(await page.isDisabled('[data-action="generate"]')).toBe(true);
    // The refusal is an HTTP 400, which Chromium logs; it is the only problem.
    expect(ui.problems.splice(0)).toEqual([expect.stringMatching(/status of 400/)]);

    await page.selectOption('[data-setting="playground-run"]', textRun);
    await expect.poll(() => page.getAttribute('[data-testid="playground-model"]', 'data-status')).toBe('ready');
    await page.fill('[data-setting="topP"]', '1.5');
    await expect
      .poll(() => page.textContent('[data-testid="playground-settings-problems"]'))
      .toMatch(/topP must be in \(0, 1\] \(1 = off\) \(got 1\.5\)/);
    expect(await page.isDisabled('[data-action="generate"]')).toBe(true);
    await page.fill('[data-setting="topP"]', '1');
    expect(await page.isDisabled('[data-action="generate"]')).toBe(false);
    expect(ui.problems).toEqual([]);
  }, 120_000);

  it('generates from an imported GPT-2 teacher with its BPE tokenizer.json, as statelab generate does', async () => {
    const { page } = ui;
    const folder = writeHfFolder(
      join(scratch, 'gpt2'),
      GPT2_CONFIG,
      gpt2Tensors(GPT2_CONFIG),
      await byteLevelTokenizer(300),
    );
    const teacher = importTransformer(folder, join(ui.workspaceDir, 'runs'), 'tiny gpt2').run.id;
    await page.click('[data-nav="build"]');
    await page.click('[data-nav="playground"]'); // the view lists the runs again
    await page.waitForSelector(`[data-setting="playground-run"] option[value="${teacher}"]`, { state: 'attached' });
    await page.selectOption('[data-setting="playground-run"]', teacher);
    await expect.poll(() => page.getAttribute('[data-testid="playground-model"]', 'data-status')).toBe('ready');
    expect(await page.textContent('[data-testid="playground-model-status"]')).toMatch(
      /2 mixer layers · bpe \(tokenizer\.json\) tokens \(vocabulary 300\)/,
    );
    await page.fill('[data-setting="prompt"]', 'The lighthouse keeper');
    expect(await page.textContent('label:has([data-setting="prompt"]) span')).toMatch(/\((\d+) tokens\)/);
    await page.fill('[data-setting="temperature"]', '0');
    await page.fill('[data-setting="maxTokens"]', '6');
    await page.click('[data-action="generate"]');
    await expect
      .poll(() => page.textContent('[data-testid="generate-status"]'), { timeout: 60_000 })
      .toMatch(/after 6 tokens/);
    const events = await cliGenerate(
      teacher,
      '--prompt',
      'The lighthouse keeper',
      '--temperature',
      '0',
      '--max-tokens',
      '6',
      '--runs',
      join(ui.workspaceDir, 'runs'),
      '--json',
    );
    const done = events.find((e) => e.event === 'done')!;
    expect(done.text).not.toBe('');
    expect(await page.textContent('[data-testid="generate-continuation"]')).toBe(done.text);
    // Attention layers: the KV cache grows with the tokens, a full one of the same width.
    const rows = await page.locator('[data-testid="playground-memory"] tr[data-layer]').allTextContents();
    expect(rows.every((r) => /KV cache \(grows with every token\)/.test(r))).toBe(true);
    expect(ui.problems).toEqual([]);
  }, 120_000);
});
