// A tiny end-to-end distillation on the GPU path: a Llama-style teacher trained briefly in StateLab becomes a
// GLA student (stage 1 attention transfer, stage 2 KL + CE + hidden states); the student run loads in
// generate and eval; a refused table never trains; a stopped run resumes in its stage.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { buildTransferTable } from '../../gpu/distill/transfer.js';
import { deriveStudent } from '../../gpu/distill/student.js';
import { trainRun, evalRun } from '../../main/host/train-run.js';
import { templatePath } from '../../main/host/templates.js';
import { RunStore, type Run } from '../../main/host/runs/run-store.js';
import {
  DistillControl,
  distillRun,
  readDistill,
  resumeDistill,
  TransferError,
  type DistillMetricsRow,
  type DistillRequest,
} from '../../main/host/distill/index.js';
import { generateCommand } from '../../main/cli/generate.js';

const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;
const runsDir = mkdtempSync(join(tmpdir(), 'statelab-distill-'));
let teacher: Run;

beforeAll(async () => {
  const graph = parseGraph(readFileSync(templatePath('llama')!, 'utf8'));
  graph.model.d_model = 32;
  ({ run: teacher } = await trainRun({
    graph,
    data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
    runsDir,
    name: 'teacher',
    steps: 30,
    batch: 4,
    seqLen: 32,
    lr: 3e-3,
    seed: 1,
    evalEvery: 0,
    checkpointEvery: 30,
  }));
});

const request = (overrides: Partial<DistillRequest> = {}): DistillRequest => ({
  teacher: { run: teacher.dir },
  student: { family: 'gla' },
  runsDir,
  batch: 4,
  seqLen: 32,
  seed: 3,
  evalEvery: 10,
  checkpointEvery: 10,
  ...overrides,
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('statelab distill on the GPU', () => {
  it('stage 1 attention transfer falls by over an order of magnitude; the student loads in generate and eval', async () => {
    const { run, outcome } = await distillRun(
      request({
        name: 'gla student',
        stages: [
          {
            name: 'attention-transfer',
            losses: { attention: { weight: 1 } },
            train: ['layers.*.attn.**'],
            lr: 1e-2,
            steps: 30,
          },
          {
            name: 'end-to-end',
            losses: { kl: { weight: 1, temperature: 2 }, ce: { weight: 0.1 }, hidden: { weight: 1 } },
            train: ['**'],
            lr: 1e-3,
            steps: 6,
          },
        ],
      }),
    );
    expect(outcome).toMatchObject({ status: 'completed', step: 36, stage: 'end-to-end' });
    const rows = run.metrics() as DistillMetricsRow[];
    expect(rows.map((r) => r.step)).toEqual([...Array(36).keys()]);
    expect(rows.map((r) => r.stage_index)).toEqual([...Array(30).fill(0), ...Array(6).fill(1)]);

    const transfer = rows.filter((r) => r.stage === 'attention-transfer');
    const first = mean(transfer.slice(0, 3).map((r) => r.attention!));
    const last = mean(transfer.slice(-3).map((r) => r.attention!));
    expect(last).toBeLessThan(first / 10);
    for (const r of transfer) {
      // The total is the one active term; each layer's MSE is reported and averages to it.
      expect(r.loss).toBeCloseTo(r.attention!, 5);
      expect(Object.keys(r.attention_layers!)).toEqual(['layers.0.attn', 'layers.1.attn']);
      expect(mean(Object.values(r.attention_layers!))).toBeCloseTo(r.attention!, 5);
    }
    const end = rows[35];
    for (const term of ['kl', 'ce', 'hidden', 'val_ppl', 'teacher_val_ppl'] as const)
      expect(Number.isFinite(end[term]), term).toBe(true);
    expect(end.loss).toBeCloseTo(end.kl! + 0.1 * end.ce! + end.hidden!, 4);
    expect(Object.keys(end.hidden_layers!)).toEqual(['layers.0.mlp_residual', 'layers.1.mlp_residual']);
    expect(end.teacher_val_ppl).toBeCloseTo(Math.exp(end.teacher_val_loss!), 6);

    // The run folder: a normal run plus the distill record.
    expect(readdirSync(run.dir).sort()).toEqual(
      [
        'checkpoints',
        'config.json',
        'distill.json',
        'graph.json',
        'metrics.jsonl',
        'run.json',
        'tokenizer.json', // the teacher's, copied
        'transfer.json',
      ].sort(),
    );
    const read = readDistill(run.dir, runsDir);
    expect(read.distill.stages).toEqual([
      { name: 'attention-transfer', index: 0, start: 0, end: 30 },
      { name: 'end-to-end', index: 1, start: 30, end: 36 },
    ]);
    expect(read.distill.teacher_val_loss).toBeCloseTo(end.teacher_val_loss!, 6);
    expect(read.checkpoints).toEqual([10, 20, 30, 36]);

    // Stage 1 trained only the new mixers: everything else is still exactly the teacher's.
    const teacherParams = teacher.loadCheckpoint().params;
    const afterStage1 = run.loadCheckpoint(30).params;
    for (const [name, t] of afterStage1) {
      if (/^layers\.\d\.attn\./.test(name)) continue;
      expect(Array.from(t.data), name).toEqual(Array.from(teacherParams.get(name)!.data));
    }
    const q = 'layers.0.attn.q_proj.weight';
    expect(Array.from(afterStage1.get(q)!.data)).not.toEqual(Array.from(teacherParams.get(q)!.data));

    // generate and eval read the student like any run.
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } };
    const code = await generateCommand(
      [run.dir, '--prompt', 'The sea', '--max-tokens', '5', '--temperature', '0', '--json', '--runs', runsDir],
      io,
    );
    expect(code).toBe(0);
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(events.filter((e) => e.event === 'token')).toHaveLength(5);
    const evaluated = await evalRun(run.dir, runsDir, {});
    expect(evaluated.step).toBe(36);
    expect(evaluated.loss).toBeCloseTo(end.val_loss!, 4);
  });

  it('a table with mismatched shapes is refused before any run folder or GPU work', async () => {
    const teacherGraph = teacher.graph();
    const { graph, map } = deriveStudent(teacherGraph, { family: 'gla' });
    const table = buildTransferTable(compileGraph(teacherGraph), compileGraph(graph), map);
    const row = table.rows.findIndex((r) => r.teacher === 'layers.1.attn.o_proj.weight');
    table.rows[row] = { ...table.rows[row], student: 'layers.1.attn.gk_proj.0.weight' };
    const before = new RunStore(runsDir).list().length;
    const attempt = distillRun(request({ transfer: table, steps: 4 }));
    await expect(attempt).rejects.toThrow(TransferError);
    await expect(attempt).rejects.toThrow(
      `row ${row} (layers.1.attn.o_proj.weight → layers.1.attn.gk_proj.0.weight, copy): shapes differ — ` +
        'teacher "layers.1.attn.o_proj.weight" [32, 32], student "layers.1.attn.gk_proj.0.weight" [16, 32]',
    );
    expect(new RunStore(runsDir).list()).toHaveLength(before);
  });

  it('a stopped run resumes in the stage it stopped in and ends where an uninterrupted run ends', async () => {
    const stages: DistillRequest['stages'] = [
      // The hybrid unrolls the repeat: the converted layer 0 is `layers_0_attn`.
      { name: 'one', losses: { attention: { weight: 1 } }, train: ['layers_*_attn.**'], lr: 1e-2, steps: 4 },
      { name: 'two', losses: { kl: { weight: 1 }, ce: { weight: 1 } }, train: ['**'], lr: 1e-3, steps: 4 },
    ];
    const settings = {
      stages,
      evalEvery: 0,
      checkpointEvery: 2,
      student: { family: 'gla' as const, hybrid: 'every:2' },
    };
    const straight = await distillRun(request({ ...settings, name: 'straight' }));
    const control = new DistillControl();
    const stopped = await distillRun(
      request({ ...settings, name: 'stopped' }),
      { onMetrics: (row) => row.step === 0 && control.stop() },
      control,
    );
    expect(stopped.outcome.status).toBe('stopped');
    expect(stopped.run.checkpointSteps()).toEqual([2]);
    expect((stopped.run.metrics() as DistillMetricsRow[]).every((r) => r.stage === 'one')).toBe(true);
    const stages2: string[] = [];
    const resumed = await resumeDistill(stopped.run.dir, runsDir, {}, { onStage: (s) => stages2.push(s.name) });
    expect(resumed.outcome).toMatchObject({ status: 'completed', step: 8, stage: 'two' });
    expect(stages2).toEqual(['one', 'two']);
    const a = straight.run.metrics().map((m) => m.loss);
    const b = stopped.run.metrics().map((m) => m.loss);
    expect(b).toHaveLength(8);
    for (let i = 0; i < 8; i++) expect(Math.abs(a[i] - b[i]), `step ${i}`).toBeLessThan(1e-5);
    expect(stopped.run.info().status).toBe('completed');
  });
});
