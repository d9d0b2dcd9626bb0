import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { evalRun, resumeRun, trainRun, type TrainRequest } from '../../main/host/train-run.js';
import { templatePath } from '../../main/host/templates.js';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';

const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;
const graph = () => parseGraph(readFileSync(templatePath('short-conv')!, 'utf8'));

function request(runsDir: string, overrides: Partial<TrainRequest> = {}): TrainRequest {
  const g = graph();
  g.model.d_model = 32;
  return {
    graph: g,
    data: { kind: 'text', path: TEXT, tokenizer: 'byte' },
    runsDir,
    steps: 12,
    batch: 4,
    seqLen: 32,
    lr: 3e-3,
    seed: 5,
    evalEvery: 6,
    checkpointEvery: 6,
    ...overrides,
  };
}

describe('training runs', () => {
  it('train leaves a self-describing run folder that eval accepts', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-runs-'));
    const rows: number[] = [];
    const { run, outcome } = await trainRun(request(runsDir), { onMetrics: (r) => rows.push(r.loss) });
    expect(outcome.status).toBe('completed');
    expect(rows).toHaveLength(12);
    const files = readdirSync(run.dir).sort();
    expect(files).toEqual(['checkpoints', 'config.json', 'graph.json', 'metrics.jsonl', 'run.json', 'tokenizer.json']);
    expect(run.checkpointSteps()).toEqual([6, 12]);
    const info = run.info();
    expect(info.status).toBe('completed');
    expect(info.seed).toBe(5);
    expect(info.device).toHaveProperty('description');
    const metrics = run.metrics();
    expect(metrics.map((m) => m.step)).toEqual([...Array(12).keys()]);
    expect(metrics.filter((m) => m.val_loss !== undefined).map((m) => m.step)).toEqual([5, 11]);
    const model = decodeSafetensors(readFileSync(join(run.dir, 'checkpoints', 'step-0000012.safetensors')));
    expect(model.metadata.format).toBe('pt');
    expect(model.tensors.map((t) => t.name)).toContain('layers.1.attn.conv.weight');
    const config = JSON.parse(readFileSync(join(run.dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'statelab', vocab_size: 256, hidden_size: 32, num_hidden_layers: 2 });
    const evaluated = await evalRun(run.dir, runsDir, {});
    expect(evaluated.step).toBe(12);
    expect(evaluated.loss).toBeCloseTo(metrics[11].val_loss!, 4);
  });

  it('resume from a checkpoint gives the same loss trajectory as an uninterrupted run', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-runs-'));
    const straight = await trainRun(request(runsDir, { name: 'straight' }));
    const interrupted = await trainRun(request(runsDir, { name: 'interrupted', steps: 12 }));
    // Forget everything after step 6, as if the process had died there, and resume.
    const cut = new RunStore(runsDir).open(interrupted.run.dir);
    const kept = readFileSync(join(cut.dir, 'metrics.jsonl'), 'utf8').split('\n').slice(0, 6).join('\n') + '\n';
    writeFileSync(join(cut.dir, 'metrics.jsonl'), kept);
    const resumed = await resumeRun(cut.dir, runsDir, { fromStep: 6 });
    expect(resumed.outcome.status).toBe('completed');
    const a = straight.run.metrics().map((m) => m.loss);
    const b = cut.metrics().map((m) => m.loss);
    expect(b).toHaveLength(12);
    for (let i = 0; i < 12; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
  });

  it('a process killed mid-training (SIGKILL) never leaves an unreadable checkpoint', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-kill-'));
    const child = spawn(
      process.execPath,
      [
        'bin/statelab.mjs',
        'train',
        'short-conv',
        '--data',
        TEXT,
        '--steps',
        '400',
        '--batch',
        '2',
        '--seq',
        '16',
        '--checkpoint-every',
        '1',
        '--eval-every',
        '0',
        '--runs',
        runsDir,
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let checkpoints = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('training never started')), 120_000);
      child.stdout.on('data', (chunk: Buffer) => {
        checkpoints += (chunk.toString().match(/"event":"metrics"/g) ?? []).length;
        if (checkpoints >= 5) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
    });
    await new Promise((r) => child.on('exit', r));
    const [run] = new RunStore(runsDir).list();
    const steps = run.checkpointSteps();
    expect(steps.length).toBeGreaterThan(0);
    const checkpoint = run.loadCheckpoint();
    expect(checkpoint.params.size).toBeGreaterThan(0);
    expect(run.metrics().length).toBeGreaterThan(0);
    for (const f of readdirSync(join(run.dir, 'checkpoints'))) {
      if (f.endsWith('.safetensors'))
        expect(() => decodeSafetensors(readFileSync(join(run.dir, 'checkpoints', f)), f)).not.toThrow();
    }
  });

  it('bad inputs give clear messages: empty and non-UTF-8 data, a checkpoint that does not match the graph', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statelab-bad-'));
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    await expect(trainRun(request(dir, { data: { kind: 'text', path: empty, tokenizer: 'byte' } }))).rejects.toThrow(
      /empty\.txt: .*empty/,
    );
    const latin1 = join(dir, 'latin1.txt');
    writeFileSync(
      latin1,
      Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait '.repeat(20))]),
    );
    await expect(trainRun(request(dir, { data: { kind: 'text', path: latin1, tokenizer: 'byte' } }))).rejects.toThrow(
      /latin1\.txt: is not UTF-8 text: invalid byte sequence at byte offset 3 \(0xe9\)/,
    );
    const { run } = await trainRun(request(dir, { steps: 2, checkpointEvery: 2 }));
    const changed = run.graph();
    changed.model.d_model = 48;
    writeFileSync(join(run.dir, 'graph.json'), JSON.stringify(changed));
    await expect(evalRun(run.dir, dir, {})).rejects.toThrow(
      /does not match the graph: parameter "embeddings.weight" has shape \[256,32\], expected \[256,48\]/,
    );
    expect(existsSync(join(run.dir, 'checkpoints', 'step-0000002.safetensors'))).toBe(true);
  });

  it("trains on MQAR (graph vocabulary grows to the task's) and eval/resume accept the run", async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-mqar-'));
    const logs: string[] = [];
    const { run, outcome } = await trainRun(
      request(runsDir, {
        data: { kind: 'task', task: 'mqar', params: { vocab_size: 128, seq_len: 32, num_kv_pairs: 4 } },
        steps: 4,
        checkpointEvery: 2,
        evalEvery: 2,
      }),
      { onLog: (m) => logs.push(m) },
    );
    expect(outcome.status).toBe('completed');
    expect(run.graph().model.vocab_size).toBe(256); // 128 fits: nothing to grow
    expect(run.metrics().every((m) => Number.isFinite(m.loss) && m.loss > 0)).toBe(true);
    expect((await evalRun(run.dir, runsDir, {})).step).toBe(4);
    const resumed = await resumeRun(run.dir, runsDir, { steps: 6 });
    expect(resumed.outcome.status).toBe('completed');
    expect(run.metrics().map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5]);
    const big = await trainRun(
      request(runsDir, {
        data: { kind: 'task', task: 'mqar', params: { vocab_size: 300, seq_len: 32 } },
        steps: 1,
        checkpointEvery: 1,
        evalEvery: 0,
      }),
      { onLog: (m) => logs.push(m) },
    );
    expect(big.run.graph().model.vocab_size).toBe(300);
    expect(logs).toContain('vocab_size raised from 256 to 300 to fit the data');
  });

  it('trains on JSONL records with a BPE tokenizer trained on them, saved beside the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statelab-jsonl-'));
    const jsonl = join(dir, 'notes.jsonl');
    const story = readFileSync(TEXT, 'utf8').split('\n\n');
    writeFileSync(jsonl, story.map((p) => JSON.stringify({ id: 1, body: p })).join('\n'));
    const { run, outcome } = await trainRun(
      request(dir, {
        data: { kind: 'text', path: jsonl, tokenizer: 'bpe:300', field: 'body' },
        steps: 2,
        checkpointEvery: 2,
        evalEvery: 2,
      }),
    );
    expect(outcome.status).toBe('completed');
    const tokenizer = JSON.parse(readFileSync(join(run.dir, 'tokenizer.json'), 'utf8'));
    expect(tokenizer.model.type).toBe('BPE');
    expect(run.graph().model.vocab_size).toBe(300);
    expect((await evalRun(run.dir, dir, {})).loss).toBeGreaterThan(0);
    await expect(
      trainRun(request(dir, { data: { kind: 'text', path: jsonl, tokenizer: 'byte', field: 'text' } })),
    ).rejects.toThrow(/notes\.jsonl.*"text"/);
  });
});
