// `statelab generate`: train the short-conv template a few steps into a temporary runs folder (the same
// service `statelab train` uses), then generate from its checkpoints through the command's entry point.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { generateCommand } from '../../main/cli/generate.js';
import { trainRun } from '../../main/host/train-run.js';
import { templatePath } from '../../main/host/templates.js';

const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;

let runsDir = '';
let runId = '';

async function statelabGenerate(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await generateCommand(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('statelab generate', () => {
  beforeAll(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'statelab-generate-'));
    const graph = parseGraph(readFileSync(templatePath('short-conv')!, 'utf8'));
    graph.model.d_model = 32;
    const { run, outcome } = await trainRun({
      graph,
      data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
      runsDir,
      name: 'gen',
      steps: 6,
      batch: 2,
      seqLen: 16,
      lr: 3e-3,
      seed: 1,
      evalEvery: 0,
      checkpointEvery: 3,
    });
    expect(outcome.status).toBe('completed');
    expect(run.checkpointSteps()).toEqual([3, 6]);
    runId = run.id;
  });

  it('--json streams one line per token with tokens/s and memory, then done and end; the same seed repeats', async () => {
    const argv = [runId, '--prompt', 'The light', '--max-tokens', '8', '--seed', '3', '--runs', runsDir, '--json'];
    const first = await statelabGenerate(...argv);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const events = lines(first.stdout);
    expect(events[0]).toMatchObject({ event: 'prefill', prompt_tokens: [9], prefill_tokens: 8 });
    const tokens = events.filter((e) => e.event === 'token');
    expect(tokens).toHaveLength(8);
    for (const t of tokens) {
      expect(t.tokens_per_s).toBeGreaterThan(0);
      expect(t.memory).toMatchObject({ state_bytes: 2 * 3 * 32 * 4 });
    }
    const done = events.find((e) => e.event === 'done')!;
    expect(done.reason).toBe('max-tokens');
    expect(tokens.map((t) => t.text).join('')).toBe(done.text);
    const end = events[events.length - 1];
    expect(end).toMatchObject({ event: 'end', generated_tokens: 8, step: 6, seed: 3 });
    expect((end.memory as { layers: unknown[] }).layers).toHaveLength(2);
    const again = await statelabGenerate(...argv);
    expect(lines(again.stdout).find((e) => e.event === 'done')!.tokens).toEqual(done.tokens);
  });

  it('text mode prints the prompt and its continuation, the summary on stderr; --step picks a checkpoint', async () => {
    const out = await statelabGenerate(
      runId,
      '--prompt',
      'Keeper',
      '--max-tokens',
      '5',
      '--temperature',
      '0',
      '--step',
      '3',
      '--runs',
      runsDir,
    );
    expect(out.code).toBe(0);
    expect(out.stdout.startsWith('Keeper')).toBe(true);
    expect(out.stderr).toMatch(
      /^5 tokens · [\d.]+ tokens\/s · state 0\.8 KiB per sequence after 10 tokens \(a KV cache of the same width would hold 5\.0 KiB\) · run .* step 3 · seed 1\n$/,
    );
    const json = await statelabGenerate(
      runId,
      '--prompt',
      'Keeper',
      '--max-tokens',
      '5',
      '--temperature',
      '0',
      '--step',
      '3',
      '--runs',
      runsDir,
      '--json',
    );
    expect(out.stdout).toBe(`Keeper${lines(json.stdout).find((e) => e.event === 'done')!.text}\n`);
  });

  it('several --prompt values decode as a batch; --stop ends a row', async () => {
    const out = await statelabGenerate(
      runId,
      '--prompt',
      'a',
      '--prompt',
      'the sea',
      '--max-tokens',
      '4',
      '--runs',
      runsDir,
      '--json',
    );
    expect(out.code).toBe(0);
    const done = lines(out.stdout).filter((e) => e.event === 'done');
    expect(done.map((d) => d.row).sort()).toEqual([0, 1]);
    const free = done.find((d) => d.row === 1)!.text as string;
    const stop = free.slice(-1); // 4 byte tokens decode to at least one character
    const stopped = await statelabGenerate(
      runId,
      '--prompt',
      'a',
      '--prompt',
      'the sea',
      '--max-tokens',
      '4',
      '--stop',
      stop,
      '--runs',
      runsDir,
      '--json',
    );
    const row1 = lines(stopped.stdout).find((e) => e.event === 'done' && e.row === 1)!;
    expect(row1).toMatchObject({ reason: 'stop', text: free.slice(0, free.indexOf(stop)) });
  });

  it('bad input exits non-zero with a message: usage 64, everything else 1', async () => {
    const cases: [string[], number, RegExp][] = [
      [[], 64, /generate needs a run id or folder/],
      [[runId, '--runs', runsDir], 64, /--prompt is required/],
      [
        [runId, '--prompt', 'x', '--temperature', 'hot', '--runs', runsDir],
        64,
        /--temperature must be a number ≥ 0 \(got hot\)/,
      ],
      [[runId, '--prompt', 'x', '--max-tokens', '0', '--runs', runsDir], 64, /--max-tokens must be an integer ≥ 1/],
      [[runId, '--prompt', 'x', '--top-p', '1.5', '--runs', runsDir], 64, /--top-p must be in \(0, 1\]/],
      [[runId, '--prompt', 'x', '--bogus', '--runs', runsDir], 64, /unknown option --bogus/],
      [['no-such-run', '--prompt', 'x', '--runs', runsDir], 1, /no run "no-such-run"/],
      [[runId, '--prompt', 'x', '--step', '99', '--runs', runsDir], 1, /no checkpoint at step 99 \(have: 3, 6\)/],
      [[runId, '--prompt', '', '--runs', runsDir], 1, /the prompt is empty/],
      [[runId, '--prompt', 'x', '--stop', '', '--runs', runsDir], 1, /a stop sequence is empty/],
    ];
    for (const [argv, code, message] of cases) {
      const out = await statelabGenerate(...argv);
      expect(out.code, argv.join(' ')).toBe(code);
      expect(out.stderr).toMatch(message);
    }
  });
});
