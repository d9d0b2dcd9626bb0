// `statelab inspect`: every analysis through the command's entry point on tiny runs (a text run trained
// with the train service, task runs with seeded parameters), --json output, the files it writes, and the
// refusals with their exit codes (64 usage, 1 errors that name the problem).

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectCommand } from '../../main/cli/inspect.js';
import { trainRun } from '../../main/host/train-run.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { useEngine } from '../helpers/gpu.js';
import { makeRun, template, TEXT } from './helpers.js';

const engine = useEngine();
let runsDir = '';
let textRun = '';
const taskRuns: Record<string, string> = {};

async function inspect(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await inspectCommand([...argv, '--runs', runsDir], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

describe('statelab inspect', () => {
  beforeAll(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'statelab-inspect-'));
    const { run, outcome } = await trainRun({
      graph: template('mamba'),
      data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
      runsDir,
      name: 'text',
      steps: 4,
      batch: 2,
      seqLen: 16,
      lr: 3e-3,
      seed: 1,
      evalEvery: 0,
      checkpointEvery: 4,
    });
    expect(outcome.status).toBe('completed');
    textRun = run.id;
    const e = await engine();
    const task = (name: string, params: Record<string, number>) => ({ kind: 'task', task: name, params });
    taskRuns.passkey = (
      await makeRun(e, runsDir, template('gla'), {
        seqLen: 0,
        data: task('passkey', { seq_len: 16, digits: 1, filler_tokens: 3 }),
        name: 'pk',
      })
    ).id;
    taskRuns.mqar = (
      await makeRun(e, runsDir, template('gla'), {
        seqLen: 0,
        data: task('mqar', { vocab_size: 64, seq_len: 16, num_kv_pairs: 2 }),
        name: 'mq',
      })
    ).id;
    taskRuns.parity = (
      await makeRun(e, runsDir, template('mamba'), {
        seqLen: 0,
        data: task('parity', { min_bits: 3, max_bits: 11 }),
        name: 'par',
      })
    ).id;
  });

  it('extrapolation, states and implicit attention on a text run, as text and as --json', async () => {
    const ex = await inspect(
      textRun,
      '--analysis',
      'extrapolation',
      '--factor',
      '4',
      '--batch',
      '2',
      '--probe',
      'repeat,data-free',
    );
    expect(ex.stderr).toBe('');
    expect(ex.code).toBe(0);
    expect(ex.stdout).toMatch(/^repeat \(T = 16\): loss 1×T [\d.]+ {2}2×T [\d.]+ {2}4×T [\d.]+/);
    expect(ex.stdout).toMatch(/wrote .*analyses\/extrapolation\.json/);
    const states = await inspect(textRun, '--analysis', 'states', '--factor', '4', '--every', '8', '--json');
    expect(states.code).toBe(0);
    const doc = JSON.parse(states.stdout);
    expect(doc).toMatchObject({ analysis: 'states', run: textRun, trainLength: 16 });
    expect(doc.results.positions).toEqual([8, 16, 24, 32, 40, 48, 56, 64]);
    expect(existsSync(doc.path)).toBe(true);
    const ia = await inspect(textRun, '--analysis', 'implicit-attention', '--length', '8', '--heads', '0,3');
    expect(ia.code).toBe(0);
    expect(ia.stdout).toMatch(/layers\.0\.attn \(mamba, exact, 64 channels\): reconstruction error 0\.0000\d+/);
  });

  it('passkey, mqar, state-tracking on task runs, and capacity across them', async () => {
    const pk = await inspect(
      taskRuns.passkey,
      '--analysis',
      'passkey',
      '--lengths',
      '16,32',
      '--depths',
      '2',
      '--samples',
      '3',
    );
    expect(pk.code).toBe(0);
    expect(pk.stdout).toMatch(/length 32: mean accuracy [\d.]+/);
    const mq = await inspect(taskRuns.mqar, '--analysis', 'mqar', '--kv', '1,2,8', '--samples', '4');
    expect(mq.code).toBe(0);
    expect(mq.stdout).toMatch(/8 pairs skipped: .*exceeds seq_len 16/);
    const st = await inspect(
      taskRuns.parity,
      '--analysis',
      'state-tracking',
      '--lengths',
      '12,24',
      '--samples',
      '4',
      '--json',
    );
    expect(JSON.parse(st.stdout).results.points.map((p: { seqLen: number }) => p.seqLen)).toEqual([12, 24]);
    const cap = await inspect(taskRuns.mqar, '--analysis', 'capacity', '--metric', 'mqar');
    expect(cap.code).toBe(0);
    expect(cap.stdout).toMatch(/mq \(gla\+gla, d 32\): \d+ state bytes → [\d.]+ accuracy/);
    expect(existsSync(join(runsDir, 'capacity-mqar.json'))).toBe(true);
  });

  it('refuses bad usage with 64 and bad requests with 1, naming the problem', async () => {
    expect((await inspect(textRun)).stderr).toMatch(/--analysis is required/);
    expect((await inspect(textRun)).code).toBe(64);
    expect((await inspect(textRun, '--analysis', 'vibes')).stderr).toMatch(/unknown analysis "vibes"/);
    expect((await inspect(textRun, '--analysis', 'extrapolation', '--probe', 'nope')).code).toBe(64);
    const budget = await inspect(textRun, '--analysis', 'extrapolation', '--memory-budget', '0.01');
    expect(budget.code).toBe(1);
    expect(budget.stderr).toMatch(/needs an estimated [\d.]+ MiB of GPU memory .* over the budget of 0\.0 MiB/);
    const wrong = await inspect(textRun, '--analysis', 'passkey');
    expect(wrong.stderr).toMatch(/trained on text, not on a synthetic task \(passkey\)/);
    const empty = new RunStore(runsDir).create(
      {
        name: 'empty',
        data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
        train: { seqLen: 16 },
        seed: 1,
        versions: {},
        device: {},
      },
      template('mamba'),
      {},
    );
    const none = await inspect(empty.id, '--analysis', 'states');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/has no checkpoints \(status: running\); analyses need trained parameters/);
    expect((await inspect('no-such-run', '--analysis', 'states')).stderr).toMatch(/no run "no-such-run"/);
  });
});
