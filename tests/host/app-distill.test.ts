// The Distill view's host calls: attention teachers found in the workspace, a plan previewed as plain JSON
// (layers, the transfer table with both shapes, stages with the page's overrides), bad requests refused
// naming the field before anything runs, a few-step distillation on the GPU with progress polled until it
// finishes (per-term and per-layer losses, teacher vs student perplexity), a distill run read back, one run
// at a time, and stop.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { initialValues } from '../../gpu/nn/module.js';
import type { MenuItemConstructorOptions } from 'electron';
import { menuTemplate } from '../../main/electron/menu.js';
import { STUDENT_FAMILIES } from '../../main/host/distill/index.js';
import { callLab, createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { RunStore, type Run } from '../../main/host/runs/run-store.js';
import { templateAt, untrainedRun as untrainedRunAt } from '../helpers/untrained-run.js';
import {
  createLabClient,
  type DistillPreview,
  type DistillProgress,
  type DistillTransferRow,
  type DistillViewRequest,
  type MenuCommand,
} from '../../shared/lab-api.js';

const TEXT = join(SOURCE_ASSETS_DIR, 'text', 'lighthouse.txt');
const workspaceDir = mkdtempSync(join(tmpdir(), 'statelab-app-distill-'));
const runsDir = join(workspaceDir, 'runs');
const host = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
const client = createLabClient((method, args) => callLab(host, method, args));
let teacher: Run;
let recurrent: Run;

const template = (name: string, dModel = 16): GraphDoc => templateAt(name, dModel);
const untrainedRun = (graph: GraphDoc, name: string): Run => untrainedRunAt(runsDir, TEXT, graph, name);

const tiny = (overrides: Partial<DistillViewRequest> = {}): DistillViewRequest => ({
  teacher: teacher.id,
  family: 'gla',
  hybrid: 'none',
  steps: 4,
  lr: 1e-2,
  batch: 2,
  seqLen: 16,
  evalEvery: 2,
  evalBatches: 1,
  ...overrides,
});

async function until(done: (p: DistillProgress) => boolean, timeoutMs = 240_000): Promise<DistillProgress> {
  const started = Date.now();
  for (;;) {
    const p = (await client.distillProgress(0))!;
    if (done(p)) return p;
    if (Date.now() - started > timeoutMs) throw new Error(`distill still ${p.state}: ${p.log.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(() => {
  teacher = untrainedRun(template('llama'), 'tiny llama');
  recurrent = untrainedRun(template('gla'), 'tiny gla');
});
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

describe('Distill view host calls', () => {
  it('offers runs with attention layers as teachers, and the service’s student families', async () => {
    const choices = await client.distillChoices();
    expect(choices.teachers).toEqual([{ run: teacher.id, name: 'tiny llama', attentionLayers: 2, checkpoints: [0] }]);
    expect(choices.teachers.map((t) => t.run)).not.toContain(recurrent.id);
    expect(choices.families).toEqual([...STUDENT_FAMILIES]);
    expect(choices.runs).toEqual([]);
    expect(choices.canRun).toBe(true);
  });

  it('previews the plan as plain JSON: layers, the transfer table with both shapes, stages with overrides', async () => {
    const preview = await client.previewDistill(tiny({ hybrid: 'layers:0', stages: [{ steps: 3 }, { lr: 5e-4 }] }));
    expect(JSON.parse(JSON.stringify(preview))).toEqual(preview);
    expect(preview.teacher).toMatchObject({ run: teacher.id, step: 0 });
    expect(preview.student.label).toBe('gla, hybrid layers:0');
    expect(preview.teacher.params).toBeGreaterThan(0);
    expect(preview.student.params).toBeGreaterThan(0);
    expect(preview.student.stateBytes).toBeGreaterThan(0);
    expect(preview.layers.map((l) => [l.student, l.kind, l.converted])).toEqual([
      ['layers_0_attn', 'attention', false],
      ['layers_1_attn', 'gla', true],
    ]);
    // Every row names its shapes from the compiled models; q of the converted layer copies into the GLA's q.
    const q = preview.transfer.find((r) => r.teacher === 'layers.1.attn.q_proj.weight')!;
    expect(q).toMatchObject({ student: 'layers_1_attn.q_proj.weight', transform: 'copy' });
    expect(q.teacherShape).toEqual(q.studentShape);
    expect(q.teacherShape).toEqual([16, 16]);
    for (const row of preview.transfer) {
      expect(row.teacherShape === null, `${row.teacher}`).toBe(row.teacher === null);
      expect(row.studentShape === null, `${row.student}`).toBe(row.student === null);
    }
    expect(preview.transfer.some((r) => r.transform === 'init')).toBe(true);
    // Stage 1 takes the page's 3 steps, stage 2 the recipe's 2 steps at the page's learning rate.
    expect(preview.stages.map((s) => [s.name, s.steps, s.lr, s.train])).toEqual([
      ['attention-transfer', 3, 1e-2, ['layers_1_attn.**']],
      ['end-to-end', 2, 5e-4, ['**']],
    ]);
    expect(preview.data).toBe("text lighthouse.txt (byte) (the teacher's own data)");
    expect(preview.settings).toMatchObject({ batch: 2, seqLen: 16, evalEvery: 2, evalBatches: 1 });
  });

  it('refuses bad requests naming the field, and creates nothing', async () => {
    const refused = async (request: unknown, message: RegExp, code = 'bad-arguments') => {
      const reply = await callLab(host, 'previewDistill', [request]);
      expect(reply, JSON.stringify(request)).toMatchObject({ error: { code, message } });
    };
    await refused({ ...tiny(), family: 'lstm' }, /previewDistill: request\.family must be one of .*gla/);
    await refused({ ...tiny(), hybrid: 'half' }, /request\.hybrid must be none, every:K or layers:i,j/);
    await refused({ ...tiny(), hybrid: 'every:0' }, /request\.hybrid: hybrid "every:0"/);
    await refused({ ...tiny(), hybrid: 'layers:5' }, /layer 5 does not exist \(the teacher has 2\)/);
    await refused({ ...tiny(), hybrid: 'layers:0,1' }, /attention term needs a converted layer/);
    await refused({ ...tiny(), steps: 0 }, /request\.steps must be at least 1/);
    await refused({ ...tiny(), lr: 0 }, /request\.lr must be greater than 0/);
    await refused({ ...tiny(), stages: [{}, {}, { steps: 1 }] }, /request\.stages has 3 entries; the recipe has 2/);
    await refused({ ...tiny(), stages: [{ steps: 1.5 }] }, /request\.stages\[0\]\.steps must be an integer/);
    await refused(
      { ...tiny(), stages: [{ warmup: 1 }] },
      /request\.stages\[0\]\.warmup is not steps, lr, losses or train/,
    );
    await refused({ ...tiny(), runsDir: '/tmp' }, /request\.runsDir is not a distill request field/);
    await refused({ ...tiny(), teacher: '../x' }, /request\.teacher must be a run id/);
    await refused({ ...tiny(), teacher: 'no-such-run' }, /no run "no-such-run"/, 'not-found');
    await refused({ ...tiny(), teacher: recurrent.id }, /has no attention layers/);
    expect(await callLab(host, 'startDistill', [{ ...tiny(), family: 'lstm' }])).toMatchObject({
      error: { code: 'bad-arguments', message: /startDistill: request\.family/ },
    });
    expect(await client.distillProgress(0)).toBeNull();
    expect(new RunStore(runsDir).list()).toHaveLength(2);
  });

  it('distills a few steps on the GPU: progress by stage, per-term and per-layer losses, perplexities, read back', async () => {
    const started = await client.startDistill(tiny({ name: 'tiny student' }));
    expect(started).toMatchObject({ state: 'starting', student: 'gla', totalSteps: 4, rows: [] });
    expect(started.stages).toEqual([
      { name: 'attention-transfer', index: 0, start: 0, end: 2 },
      { name: 'end-to-end', index: 1, start: 2, end: 4 },
    ]);
    await expect(client.startDistill(tiny())).rejects.toMatchObject({
      code: 'unsupported',
      message: /still running/,
    });
    const done = await until((p) => !['starting', 'running', 'stopping'].includes(p.state));
    expect(done.state, done.message).toBe('completed');
    expect(done.run).not.toBeNull();
    expect(done.stage).toBe(1);
    expect(done.rows.map((r) => [r.step, r.stage_index])).toEqual([
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 1],
    ]);
    for (const r of done.rows.slice(0, 2)) {
      expect(r.loss).toBeCloseTo(r.attention!, 5);
      expect(Object.keys(r.attention_layers!)).toEqual(['layers.0.attn', 'layers.1.attn']);
    }
    for (const r of done.rows.slice(2)) expect(r.loss).toBeCloseTo(r.kl! + 0.1 * r.ce!, 4);
    const last = done.rows[3];
    expect(last.val_ppl).toBeCloseTo(Math.exp(last.val_loss!), 6);
    expect(last.teacher_val_ppl).toBeCloseTo(Math.exp(last.teacher_val_loss!), 6);
    // `since` returns only the newer rows.
    expect((await client.distillProgress(3))!.rows.map((r) => r.step)).toEqual([3]);
    expect((await client.distillProgress(3))!.rowCount).toBe(4);

    // The run folder is in the workspace, and reads back with the same rows as metrics.jsonl.
    const read = await client.readDistill(done.run!);
    expect(read).toMatchObject({ name: 'tiny student', status: 'completed', student: 'gla' });
    expect(read.teacher).toEqual({ run: teacher.id, step: 0 });
    expect(read.rows).toEqual(done.rows);
    expect(read.checkpoints).toContain(4);
    const jsonl = readFileSync(join(runsDir, done.run!, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(jsonl.map((l) => JSON.parse(l).attention)).toEqual(read.rows.map((r) => r.attention));
    expect(read.teacherValLoss).toBeCloseTo(last.teacher_val_loss!, 6);
    expect((await client.distillChoices()).runs).toEqual([
      { run: done.run, name: 'tiny student', status: 'completed', teacher: teacher.id, student: 'gla' },
    ]);
    // A training run is not a distill run.
    await expect(client.readDistill(teacher.id)).rejects.toMatchObject({
      code: 'bad-arguments',
      message: /is not a distill run/,
    });
  }, 300_000);

  it('stops a running distillation in its first stage; the folder records it as stopped', async () => {
    await client.startDistill(tiny({ steps: 400, evalEvery: 0, name: 'stopped student' }));
    await until((p) => p.rowCount >= 1);
    expect((await client.stopDistill())!.state).toBe('stopping');
    const stopped = await until((p) => p.state !== 'running' && p.state !== 'stopping');
    expect(stopped.state).toBe('stopped');
    expect(stopped.rowCount).toBeLessThan(200);
    expect(stopped.rows.every((r) => r.stage_index === 0)).toBe(true);
    expect((await client.readDistill(stopped.run!)).status).toBe('stopped');
    expect(await client.stopDistill()).toBeNull();
  }, 300_000);
});

/** The preview's rows as the view sends them back (without shapes, sources and marks). */
const tableOf = (preview: DistillPreview): DistillTransferRow[] =>
  preview.transfer.map(({ teacher, student, transform, rows, repeat, headDim, note }) => ({
    teacher,
    student,
    transform,
    ...(rows ? { rows } : {}),
    ...(repeat !== undefined ? { repeat } : {}),
    ...(headDim !== undefined ? { headDim } : {}),
    note,
  }));

/** The automatic table with one row skipped (init) and one re-sourced from another teacher tensor. */
function editTable(rows: DistillTransferRow[], skip: string, resource: string, source: string): DistillTransferRow[] {
  const at = (student: string) => {
    const i = rows.findIndex((r) => r.student === student);
    expect(i, student).toBeGreaterThanOrEqual(0);
    return i;
  };
  const edited = rows.map((r) => ({ ...r }));
  edited[at(skip)] = { teacher: null, student: skip, transform: 'init', note: 'skipped in the view' };
  edited[at(resource)] = { ...edited[at(resource)], teacher: source, note: `from ${source}` };
  return edited;
}

describe('Distill view edits: the transfer table, the stages, the data', () => {
  const SKIP = 'layers.0.mlp.up_proj.weight';
  const RESOURCE = 'layers.1.mlp.up_proj.weight';
  const SOURCE = 'layers.0.mlp.gate_proj.weight';

  it('offers, per row, the teacher tensors of a fitting shape; an edited table comes back in the preview', async () => {
    const auto = await client.previewDistill(tiny());
    expect(auto.transfer.every((r) => !r.edited)).toBe(true);
    const row = auto.transfer.find((r) => r.student === RESOURCE)!;
    // [64, 16]: the gate and up projections of both layers fit; down ([16, 64]) and q ([16, 16]) do not.
    expect(row.sources).toEqual([
      'layers.0.mlp.gate_proj.weight',
      'layers.0.mlp.up_proj.weight',
      'layers.1.mlp.gate_proj.weight',
      'layers.1.mlp.up_proj.weight',
    ]);
    expect(auto.transfer.filter((r) => r.transform === 'drop').every((r) => r.sources.length === 0)).toBe(true);
    const g = auto.transfer.find((r) => r.student === 'layers.0.attn.g_proj.weight')!;
    expect(g.transform).toBe('init');
    expect(g.sources).toContain('layers.0.attn.q_proj.weight'); // an init row can take a [16, 16] tensor as a copy

    const table = editTable(tableOf(auto), SKIP, RESOURCE, SOURCE);
    const edited = await client.previewDistill(tiny({ transfer: table }));
    expect(tableOf(edited)).toEqual(table);
    expect(edited.transfer.filter((r) => r.edited).map((r) => [r.teacher, r.transform, r.student])).toEqual([
      [null, 'init', SKIP],
      [SOURCE, 'copy', RESOURCE],
    ]);
    // The skipped row can take its tensor back: the sources of a row skipped are those of a copy.
    expect(edited.transfer.find((r) => r.student === SKIP)!.sources).toContain('layers.0.mlp.up_proj.weight');
  });

  it('refuses a bad table edit with the validator’s message naming the row, or a malformed row naming the field', async () => {
    const rows = tableOf(await client.previewDistill(tiny()));
    const i = rows.findIndex((r) => r.student === SKIP);
    const refused = async (transfer: unknown, message: RegExp) => {
      const reply = await callLab(host, 'previewDistill', [{ ...tiny(), transfer }]);
      expect(reply, JSON.stringify(transfer).slice(0, 200)).toMatchObject({
        error: { code: 'bad-arguments', message },
      });
    };
    const withRow = (row: Record<string, unknown>) => rows.map((r, j) => (j === i ? { ...r, ...row } : r));
    /** A message that holds `text` as written. */
    const holds = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const down = 'layers.0.mlp.down_proj.weight';
    await refused(
      withRow({ teacher: down }),
      holds(
        `previewDistill: request.transfer: the transfer table is refused (1 problem):\n` +
          `  - row ${i} (${down} → ${SKIP}, copy): shapes differ — teacher "${down}" [16, 64], student "${SKIP}" [64, 16]`,
      ),
    );
    await refused(
      withRow({ teacher: 'layers.9.mlp.up_proj.weight' }),
      holds(
        `row ${i} (layers.9.mlp.up_proj.weight → ${SKIP}, copy): unknown teacher parameter "layers.9.mlp.up_proj.weight"`,
      ),
    );
    await refused(
      withRow({ transform: 'init' }),
      holds(`row ${i} (layers.0.mlp.up_proj.weight → ${SKIP}, init): takes no teacher parameter`),
    );
    await refused(
      withRow({ student: 'layers.0.mlp.gate_proj.weight' }),
      /row \d+ \(layers\.0\.mlp\.up_proj\.weight → layers\.0\.mlp\.gate_proj\.weight, copy\): writes the same values of "layers\.0\.mlp\.gate_proj\.weight" as row \d+/,
    );
    await refused(
      withRow({ transform: 'move' }),
      holds(`request.transfer[${i}].transform must be one of copy, repeat_kv, init, drop`),
    );
    await refused(withRow({ source: 'x' }), holds(`request.transfer[${i}].source is not a transfer row field`));
    await refused(withRow({ rows: [3] }), holds(`request.transfer[${i}].rows must be [start, end]`));
    await refused('auto', /request\.transfer must be a list of at most 20000 rows/);
  });

  it('edited loss weights, KL temperature and freeze patterns reach the plan', async () => {
    const preview = await client.previewDistill(
      tiny({
        stages: [
          { losses: { attention: { weight: 2 }, hidden: { weight: 0.5 } }, train: ['layers.0.attn.**'] },
          { losses: { kl: { weight: 3, temperature: 2 }, ce: { weight: 0 } }, train: ['layers.*.attn.**', 'norm.*'] },
        ],
      }),
    );
    expect(preview.stages.map((s) => [s.name, s.losses, s.train, s.steps, s.lr])).toEqual([
      ['attention-transfer', { attention: { weight: 2 }, hidden: { weight: 0.5 } }, ['layers.0.attn.**'], 2, 1e-2],
      [
        'end-to-end',
        { kl: { weight: 3, temperature: 2 }, ce: { weight: 0 } },
        ['layers.*.attn.**', 'norm.*'],
        2,
        1e-2 / 3,
      ],
    ]);
  });

  it('refuses bad stage edits naming the stage and the field', async () => {
    const refused = async (stages: unknown, message: RegExp) => {
      const reply = await callLab(host, 'previewDistill', [{ ...tiny(), stages }]);
      expect(reply, JSON.stringify(stages)).toMatchObject({ error: { code: 'bad-arguments', message } });
    };
    await refused(
      [{ losses: { attention: { weight: -1 } } }],
      /previewDistill: stage 1 "attention-transfer": request\.stages\[0\]\.losses\.attention\.weight must be a number ≥ 0/,
    );
    await refused(
      [{}, { losses: { kl: { temperature: 0 } } }],
      /stage 2 "end-to-end": request\.stages\[1\]\.losses\.kl\.temperature must be > 0/,
    );
    await refused(
      [{}, { losses: { kl: { weight: 0 }, ce: { weight: 0 } } }],
      /stage 2 "end-to-end": request\.stages\[1\]\.losses: no term has a weight > 0/,
    );
    await refused(
      [{}, { train: [] }],
      /stage 2 "end-to-end": request\.stages\[1\]\.train must be a non-empty list of name patterns/,
    );
    await refused(
      [{ train: [''] }],
      /stage 1 "attention-transfer": request\.stages\[0\]\.train must be a non-empty list/,
    );
    await refused(
      [{ train: ['decoder.**'] }],
      /previewDistill: stage 1 "attention-transfer": train patterns \["decoder\.\*\*"\] match no student parameter/,
    );
    await refused(
      [{ train: ['embeddings.weight'] }],
      /stage 1 "attention-transfer": attention transfer trains only the converted mixers .* but train matches none/,
    );
    await refused([{ losses: { mse: { weight: 1 } } }], /request\.stages\[0\]\.losses\.mse is not a loss term/);
    await refused(
      [{ losses: { ce: { weight: 1, temperature: 2 } } }],
      /request\.stages\[0\]\.losses\.ce\.temperature is not weight/,
    );
    await refused(
      [{ losses: { kl: { weight: '1' } } }],
      /request\.stages\[0\]\.losses\.kl\.weight must be a finite number/,
    );
    await refused([{ train: 'layers.**' }], /request\.stages\[0\]\.train must be a list of at most 256 name patterns/);
  });

  it('distills on a data file of the workspace; refuses data that is not there', async () => {
    mkdirSync(join(workspaceDir, 'data'), { recursive: true });
    writeFileSync(join(workspaceDir, 'data', 'corpus.txt'), 'the keeper lit the lamp at dusk. '.repeat(200));
    const preview = await client.previewDistill(tiny({ data: { kind: 'file', name: 'corpus.txt' } }));
    expect(preview.data).toBe('text corpus.txt (byte)');
    expect((await client.previewDistill(tiny())).data).toBe("text lighthouse.txt (byte) (the teacher's own data)");
    expect((await client.previewDistill(tiny({ data: { kind: 'bundled-text', id: 'lighthouse' } }))).data).toBe(
      'text lighthouse.txt (byte)',
    );
    expect(
      await callLab(host, 'previewDistill', [{ ...tiny(), data: { kind: 'file', name: 'missing.txt' } }]),
    ).toMatchObject({
      error: { code: 'not-found', message: /previewDistill: request\.data: no data file "missing\.txt"/ },
    });
    expect(
      await callLab(host, 'previewDistill', [{ ...tiny(), data: { kind: 'file', name: '../x.txt' } }]),
    ).toMatchObject({
      error: { code: 'bad-arguments', message: /request\.data\.name must be a data file name/ },
    });
  });

  it('a GPU run starts from the edited table: the skipped tensor is the fresh init, the re-sourced one the chosen teacher tensor', async () => {
    const auto = await client.previewDistill(tiny());
    const transfer = editTable(tableOf(auto), SKIP, RESOURCE, SOURCE);
    // Stage 2 trains only the mixers, so the MLP weights end the run as they started it.
    const request = tiny({
      name: 'edited student',
      transfer,
      stages: [{}, { train: ['layers.*.attn.**'] }],
      data: { kind: 'file', name: 'corpus.txt' },
    });
    await client.startDistill(request);
    const done = await until((p) => !['starting', 'running', 'stopping'].includes(p.state));
    expect(done.state, done.message).toBe('completed');
    const run = new RunStore(runsDir).open(done.run!);
    expect(JSON.parse(readFileSync(join(run.dir, 'transfer.json'), 'utf8')).rows).toEqual(transfer);
    expect((run.info().data as { path: string }).path).toBe(join(workspaceDir, 'data', 'corpus.txt'));
    const final = run.loadCheckpoint().params;
    const teacherParams = teacher.loadCheckpoint(0).params;
    const studentSpec = compileGraph(run.graph()).specs.find((s) => s.name === SKIP)!;
    const fresh = Float32Array.from(initialValues(studentSpec, auto.settings.seed).data);
    expect(Array.from(final.get(SKIP)!.data)).toEqual(Array.from(fresh));
    expect(Array.from(final.get(SKIP)!.data)).not.toEqual(
      Array.from(teacherParams.get('layers.0.mlp.up_proj.weight')!.data),
    );
    expect(Array.from(final.get(RESOURCE)!.data)).toEqual(Array.from(teacherParams.get(SOURCE)!.data));
    // An unedited frozen row still holds its own teacher tensor; a trained mixer moved away from its copy.
    expect(Array.from(final.get('layers.1.mlp.gate_proj.weight')!.data)).toEqual(
      Array.from(teacherParams.get('layers.1.mlp.gate_proj.weight')!.data),
    );
    expect(Array.from(final.get('layers.1.attn.q_proj.weight')!.data)).not.toEqual(
      Array.from(teacherParams.get('layers.1.attn.q_proj.weight')!.data),
    );
  }, 300_000);
});

describe('Distill view in the desktop app (no dawn.node in Electron main)', () => {
  it('previews, but refuses to start and names the CLI command', async () => {
    const electron = createLabService({ mode: 'electron', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
    expect((await callLab(electron, 'distillChoices', [])) as { result: { canRun: boolean } }).toMatchObject({
      result: { canRun: false },
    });
    expect(await callLab(electron, 'previewDistill', [tiny()])).toHaveProperty('result.student.label', 'gla');
    expect(await callLab(electron, 'startDistill', [tiny({ hybrid: 'every:2' })])).toMatchObject({
      error: { code: 'unsupported', message: /statelab distill ".*" --student gla --hybrid every:2 --runs/ },
    });
  });
});

describe('the desktop menu', () => {
  it('opens the Sweeps, Inspect and Distill views from View; the first six views keep their shortcuts', () => {
    const sent: MenuCommand[] = [];
    const template = menuTemplate((c) => sent.push(c), { platform: 'linux', appName: 'StateLab', dev: false });
    const view = template.find((m) => m.label === 'View')!.submenu as MenuItemConstructorOptions[];
    const items = view.filter((i) => i.click);
    for (const label of ['Sweeps', 'Inspect', 'Distill']) (items.find((i) => i.label === label)!.click as () => void)();
    expect(sent).toEqual([
      { command: 'view', view: 'sweep' },
      { command: 'view', view: 'inspect' },
      { command: 'view', view: 'distill' },
    ]);
    expect(
      items.filter((i) => /^CmdOrCtrl\+\d$/.test(String(i.accelerator))).map((i) => [i.label, i.accelerator]),
    ).toEqual([
      ['Build', 'CmdOrCtrl+1'],
      ['Data', 'CmdOrCtrl+2'],
      ['Train', 'CmdOrCtrl+3'],
      ['Runs', 'CmdOrCtrl+4'],
      ['Export', 'CmdOrCtrl+5'],
      ['GPU diagnostics', 'CmdOrCtrl+6'],
    ]);
  });
});
