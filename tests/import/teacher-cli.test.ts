// `statelab import` on Hugging Face folders, and the imported teacher run used by `statelab generate`
// (greedy tokens are the float64 reference's argmax) and by `statelab eval`.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli/statelab.js';
import { generateCommand } from '../../main/cli/generate.js';
import { writeHfFolder as writeStateLabExport } from '../../main/export/hf.js';
import { evalRun } from '../../main/host/train-run.js';
import { templatePath } from '../../main/host/templates.js';
import { parseGraph } from '../../shared/graph/parse.js';
import { loadTokenizer } from '../../shared/tokenizers/index.js';
import { testParams } from '../export/helpers.js';
import {
  byteLevelTokenizer,
  GPT2_CONFIG,
  gpt2Tensors,
  LLAMA_CONFIG,
  llamaTensors,
  sentencePieceTokenizer,
  writeHfFolder,
} from './hf-fixtures.js';
import { gpt2Reference } from './hf-reference.js';

const root = mkdtempSync(join(tmpdir(), 'statelab-teacher-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const runsDir = join(root, 'runs');
const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;

/** Runs `statelab <argv>` with stdout and stderr captured. */
async function statelab(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(s) > 0) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stdout: out.join(''), stderr: err.join('') };
  } finally {
    [process.stdout.write, process.stderr.write] = write;
  }
}

const gpt2Weights = gpt2Tensors(GPT2_CONFIG);
let gpt2Run = '';

describe('statelab import of a GPT-2 folder', () => {
  beforeAll(async () => {
    const dir = writeHfFolder(join(root, 'gpt2'), GPT2_CONFIG, gpt2Weights, await byteLevelTokenizer(300));
    const result = await statelab('import', dir, '--runs', runsDir, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const event = JSON.parse(result.stdout) as { event: string; run: string; model_type: string };
    expect(event).toMatchObject({ event: 'imported', model_type: 'gpt2', tokenizer_problem: null });
    gpt2Run = event.run;
  });

  it('generate decodes greedily from the teacher: every token is the HF reference argmax of its prefix', async () => {
    let stdout = '';
    let stderr = '';
    const prompt = 'The lighthouse keeper';
    const code = await generateCommand(
      [gpt2Run, '--prompt', prompt, '--max-tokens', '8', '--temperature', '0', '--json'],
      { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const tokens = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; token?: number })
      .filter((e) => e.event === 'token')
      .map((e) => e.token!);
    expect(tokens).toHaveLength(8);
    const ids = loadTokenizer(readFileSync(join(gpt2Run, 'tokenizer.json'), 'utf8')).encode(prompt);
    const V = GPT2_CONFIG.vocab_size as number;
    for (const token of tokens) {
      const logits = gpt2Reference(GPT2_CONFIG, gpt2Weights, ids).subarray((ids.length - 1) * V);
      const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);
      // A near-tie may go either way in float32; otherwise the token is the reference's argmax.
      const allowed = logits[order[0]] - logits[order[1]] < 1e-3 ? order.slice(0, 2) : [order[0]];
      expect(allowed).toContain(token);
      ids.push(token);
    }
  });

  it('eval scores the teacher on text with its own tokenizer', async () => {
    const result = await evalRun(gpt2Run, runsDir, {
      data: { kind: 'text', path: TEXT, tokenizer: join(gpt2Run, 'tokenizer.json') },
      batches: 2,
    });
    expect(result.step).toBe(0);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(result.loss).toBeGreaterThan(0);
    // The CLI reads new text with the run's own tokenizer.json unless --tokenizer says otherwise.
    const own = await evalRun(gpt2Run, runsDir, {
      data: { kind: 'text', path: TEXT, tokenizer: join(gpt2Run, 'tokenizer.json') },
    });
    const cli = await statelab('eval', gpt2Run, '--runs', runsDir, '--data', TEXT, '--json');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout.trim()).loss).toBeCloseTo(own.loss, 4);
    const bytes = await statelab('eval', gpt2Run, '--runs', runsDir, '--data', TEXT, '--tokenizer', 'byte', '--json');
    expect(JSON.parse(bytes.stdout.trim()).loss).not.toBeCloseTo(own.loss, 2);
  });
});

describe('statelab import: other folders', () => {
  it('a Llama folder with a SentencePiece tokenizer imports with a warning; generate then names the unsupported part', async () => {
    const dir = writeHfFolder(
      join(root, 'llama'),
      LLAMA_CONFIG,
      llamaTensors(LLAMA_CONFIG),
      sentencePieceTokenizer(61),
    );
    const result = await statelab('import', dir, '--runs', runsDir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/imported .* \(llama\) as run /);
    expect(result.stderr).toMatch(
      /warning: the weights imported, but StateLab cannot tokenize: .*model\.byte_fallback is not supported/,
    );
    const run = result.stdout.match(/\((\/[^)]*)\)\n$/)![1];
    let stderr = '';
    const code = await generateCommand([run, '--prompt', 'hi'], {
      stdout: { write: () => true },
      stderr: { write: (t: string) => (stderr += t) },
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/model\.byte_fallback is not supported/);
  });

  it('an unknown model_type exits 2 naming config.json and the field', async () => {
    const dir = writeHfFolder(
      join(root, 'mistral'),
      { ...LLAMA_CONFIG, model_type: 'mistral' },
      llamaTensors(LLAMA_CONFIG),
    );
    const result = await statelab('import', dir, '--runs', runsDir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /config\.json: model_type "mistral" is not supported \(importable teachers: llama, gpt2\)/,
    );
  });

  it("StateLab's own HF export still imports through the same command", async () => {
    const graph = parseGraph(readFileSync(templatePath('llama')!, 'utf8'), 'llama');
    const dir = join(root, 'own-export');
    writeStateLabExport({ graph, params: testParams(graph) }, dir);
    const result = await statelab('import', dir, '--runs', runsDir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^imported .* as run /);
  });
});
