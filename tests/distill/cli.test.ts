// `statelab distill` end to end through the CLI: the printed transfer table, refusals with their exit codes
// and messages, a config file run, and resume. Teachers here are randomly initialized run folders (written
// without a GPU); only the one real run touches the device.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GraphDoc } from '../../shared/graph/schema.js';
import type { TransferTable } from '../../gpu/distill/transfer.js';
import { RunStore, type Run } from '../../main/host/runs/run-store.js';
import { templateAt, untrainedRun as untrainedRunAt } from '../helpers/untrained-run.js';
import { distillCommand } from '../../main/cli/distill.js';
import { resumeRun } from '../../main/host/train-run.js';
import { previewDistill } from '../../main/host/distill/index.js';

const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;
const runsDir = mkdtempSync(join(tmpdir(), 'statelab-distill-cli-'));

const template = (name: string, dModel = 32): GraphDoc => templateAt(name, dModel);
const teacherRun = (graph: GraphDoc, name: string): Run => untrainedRunAt(runsDir, TEXT, graph, name);

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await distillCommand([...argv, '--runs', runsDir], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

const llama = teacherRun(template('llama'), 'llama teacher');

describe('statelab distill (CLI)', () => {
  it('--help shows the usage; --print-transfer shows the layers and the table with both shapes', async () => {
    expect((await cli('--help')).stdout).toContain('--print-transfer');
    const { code, stdout } = await cli(llama.dir, '--student', 'mamba2', '--hybrid', 'every:2', '--print-transfer');
    expect(code).toBe(0);
    expect(stdout).toContain('layer 0: layers.0.attn → layers_0_attn (mamba2)');
    expect(stdout).toContain('layer 1: layers.1.attn → layers_1_attn (attention kept)');
    expect(stdout).toMatch(
      /layers\.0\.attn\.q_proj\.weight \[32, 32\]\s+copy\s+layers_0_attn\.in_proj\.weight\[96:128\] \[32, 32\]\s+q → C/,
    );
    expect(stdout).toMatch(
      /layers\.1\.mlp\.up_proj\.weight \[96, 32\]\s+copy\s+layers_1_mlp\.up_proj\.weight \[96, 32\]/,
    );
    expect(stdout).toMatch(/—\s+init\s+layers_0_attn\.A_log \[4\]/);
  });

  it('previewDistill gives a view the plan as plain JSON: layers, the table, both shapes, the default stages', () => {
    const plan = previewDistill({
      teacher: { run: llama.dir },
      student: { family: 'gla', hybrid: 'layers:0' },
      runsDir,
    });
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(plan.layers.map((l) => [l.student, l.converted])).toEqual([
      ['layers_0_attn', false],
      ['layers_1_attn', true],
    ]);
    expect(plan.shapes.student['layers_1_attn.gk_proj.1.weight']).toEqual([32, 16]);
    expect(plan.stages.map((s) => [s.name, s.train, s.steps])).toEqual([
      ['attention-transfer', ['layers_1_attn.**'], 100],
      ['end-to-end', ['**'], 100],
    ]);
    expect(plan.table.rows.length).toBeGreaterThan(0);
  });

  it('refuses an edited table with mismatched shapes before training (exit 1, row, names and shapes)', async () => {
    const printed = await cli(llama.dir, '--student', 'gla', '--print-transfer', '--json');
    const table = JSON.parse(printed.stdout) as TransferTable;
    const row = table.rows.findIndex((r) => r.teacher === 'layers.0.mlp.down_proj.weight');
    table.rows[row].student = 'layers.0.mlp.up_proj.weight';
    const path = join(runsDir, 'edited-transfer.json');
    writeFileSync(path, JSON.stringify(table, null, 2));
    const before = new RunStore(runsDir).list().length;
    const { code, stderr } = await cli(llama.dir, '--student', 'gla', '--transfer', path, '--steps', '2');
    expect(code).toBe(1);
    expect(stderr).toContain(
      `row ${row} (layers.0.mlp.down_proj.weight → layers.0.mlp.up_proj.weight, copy): shapes differ — ` +
        'teacher "layers.0.mlp.down_proj.weight" [32, 96], student "layers.0.mlp.up_proj.weight" [96, 32]',
    );
    expect(stderr).toContain('writes the same values of "layers.0.mlp.up_proj.weight"');
    expect(new RunStore(runsDir).list()).toHaveLength(before);
  });

  it('names what cannot be distilled: a Hugging Face folder not yet imported, a teacher without attention', async () => {
    const hf = join(runsDir, 'hf-folder');
    mkdirSync(hf, { recursive: true });
    writeFileSync(join(hf, 'config.json'), '{"model_type": "llama"}');
    const imported = await cli(hf, '--student', 'gla');
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain(
      `is a Hugging Face folder, not a StateLab run: import it first with \`statelab import ${hf}\``,
    );
    const gla = teacherRun(template('gla'), 'gla teacher');
    const none = await cli(gla.dir, '--student', 'gla');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/teacher graph ".*" has no attention layers/);
    expect((await cli(llama.dir, '--student', 'rnn')).code).toBe(64);
    expect((await cli(llama.dir)).stderr).toContain('--student is required');
    expect((await cli(llama.dir, '--student', 'gla', '--hybrid', 'layers:5', '--print-transfer')).stderr).toContain(
      'layer 5 does not exist (the teacher has 2)',
    );
  });

  it('runs a distill.json config (stages, hybrid Gated DeltaNet) on the GPU, then --resume finds it complete', async () => {
    const config = join(runsDir, 'distill.json');
    writeFileSync(
      config,
      JSON.stringify({
        format: 'statelab-distill',
        teacher: { run: llama.dir },
        student: { family: 'gated_deltanet', hybrid: 'layers:1' },
        data: { kind: 'text', path: TEXT },
        stages: [
          { name: 'transfer', losses: { attention: { weight: 1 } }, train: ['layers_0_attn.**'], lr: 0.01, steps: 2 },
          { name: 'e2e', losses: { kl: { weight: 1, temperature: 2 }, hidden: { weight: 0.5 } }, lr: 0.001, steps: 2 },
        ],
      }),
    );
    const { code, stdout, stderr } = await cli(
      '--config',
      config,
      '--batch',
      '2',
      '--seq',
      '16',
      '--eval-every',
      '2',
      '--checkpoint-every',
      '2',
      '--json',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.filter((e) => e.event === 'stage').map((e) => [e.name, e.start, e.end])).toEqual([
      ['transfer', 0, 2],
      ['e2e', 2, 4],
    ]);
    const metrics = events.filter((e) => e.event === 'metrics');
    expect(metrics.map((m) => [m.step, m.stage])).toEqual([
      [0, 'transfer'],
      [1, 'transfer'],
      [2, 'e2e'],
      [3, 'e2e'],
    ]);
    expect(Object.keys(metrics[0].attention_layers as object)).toEqual(['layers_0_attn']);
    expect(typeof metrics[3].kl).toBe('number');
    expect(typeof metrics[3].val_ppl).toBe('number');
    const done = events.at(-1)!;
    expect(done).toMatchObject({ event: 'done', status: 'completed', step: 4, stage: 'e2e' });
    const run = new RunStore(runsDir).open(done.run as string);
    expect(run.graph().nodes.find((n) => n.id === 'layers_0_attn')!.kind).toBe('mixer.gated_deltanet');
    expect(run.graph().nodes.find((n) => n.id === 'layers_1_attn')!.kind).toBe('mixer.attention');

    const resumed = await cli('--resume', run.dir, '--json');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ status: 'completed', step: 4 });
    // `statelab resume` (plain training) refuses a distill run instead of training it with the wrong objective.
    await expect(resumeRun(run.dir, runsDir, {})).rejects.toThrow(
      /is a distill run: continue it with `statelab distill --resume/,
    );
  });
});
