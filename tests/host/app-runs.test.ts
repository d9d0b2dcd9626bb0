// Runs the app trains, as the host writes them: the same run folder the CLI writes (so `statelab resume`,
// `eval` and `export` work on it), metrics and checkpoints only for runs in progress, checkpoints checked
// against the graph, and the Hugging Face export as a download.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import type { Checkpoint } from '../../gpu/train/trainer.js';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { createLabClient, type NewRunRequest, type RunMetricsRow } from '../../shared/lab-api.js';
import { callLab, createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { decodeCheckpointFiles, encodeCheckpointFiles } from '../../renderer/src/workers/checkpoint-bytes.js';

const workspaceDir = mkdtempSync(join(tmpdir(), 'statelab-runs-test-'));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));
const host = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
const client = createLabClient((method, args) => callLab(host, method, args));
const runsDir = join(workspaceDir, 'runs');

async function smallGraph(): Promise<GraphDoc> {
  const doc = parseGraph(await client.readTemplate('short-conv'));
  return { ...doc, model: { ...doc.model, d_model: 16 } };
}

function request(graph: GraphDoc): NewRunRequest {
  return {
    name: 'tiny conv',
    graph,
    data: { kind: 'bundled-text', id: 'lighthouse', validationFraction: 0.1 },
    train: {
      steps: 4,
      batch: 2,
      seqLen: 8,
      lr: 0.01,
      evalEvery: 2,
      evalBatches: 1,
      checkpointEvery: 2,
      warmupSteps: 0,
      weightDecay: 0.1,
      clipNorm: 1,
    },
    seed: 7,
    device: { vendor: 'test', software: true },
  };
}

function fakeCheckpoint(graph: GraphDoc, step: number): Checkpoint {
  const specs = compileGraph(graph).specs;
  const tensor = (shape: number[], fill: number) => ({
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill),
  });
  return {
    step,
    params: new Map(specs.map((s, i) => [s.name, tensor([...s.shape], i + step)])),
    optimizer: new Map(
      specs.flatMap((s) => [
        [`${s.name}.exp_avg`, tensor([...s.shape], 0.5)],
        [`${s.name}.exp_avg_sq`, tensor([...s.shape], 0.25)],
      ]),
    ),
    state: { step, optimizerStep: step, dataPosition: { kind: 'random-windows', drawn: step } },
  };
}

const row = (step: number, extra: Partial<RunMetricsRow> = {}): RunMetricsRow => ({
  step,
  loss: 5 - step * 0.1,
  lr: 0.01,
  grad_norm: 1.5,
  tokens_per_s: 100,
  memory_bytes: 1 << 20,
  encode_ms: 1,
  ...extra,
});

describe('app runs in the workspace', () => {
  it('writes the run folder the CLI writes, and the CLI reads its checkpoints back', async () => {
    const graph = await smallGraph();
    const summary = await client.createRun(request(graph));
    expect(summary).toMatchObject({ name: 'tiny conv', status: 'running', steps: 4, checkpoints: [] });
    const run = new RunStore(runsDir).open(summary.id);
    const info = run.info();
    expect(info.data).toEqual({
      kind: 'text',
      path: join(SOURCE_ASSETS_DIR, 'text', 'lighthouse.txt'),
      tokenizer: 'byte',
      validationFraction: 0.1,
    });
    expect(info.train).toMatchObject({
      steps: 4,
      batch: 2,
      seqLen: 8,
      evalEvery: 2,
      checkpointEvery: 2,
      warmupSteps: 0,
    });
    expect(info.seed).toBe(7);
    expect(info.versions).toMatchObject({ app: 'browser' });
    expect(run.graph().model.d_model).toBe(16);
    expect(JSON.parse(readFileSync(join(run.dir, 'config.json'), 'utf8'))).toMatchObject({
      model_type: 'statelab',
      hidden_size: 16,
    });

    await client.appendMetrics(summary.id, [row(0), row(1, { val_loss: 4.8 })]);
    const checkpoint = fakeCheckpoint(graph, 2);
    const files = encodeCheckpointFiles(checkpoint);
    expect(await client.saveCheckpoint(summary.id, files.model, files.optimizer)).toEqual({ step: 2 });
    await client.appendMetrics(summary.id, [row(2), row(3, { val_loss: 4.5 })]);
    const finished = await client.finishRun(summary.id, 'completed', '');
    expect(finished).toMatchObject({ status: 'completed', lastStep: 3, bestValLoss: 4.5, checkpoints: [2] });

    const loaded = run.loadCheckpoint();
    expect(loaded.step).toBe(2);
    expect(loaded.state).toEqual(checkpoint.state);
    for (const [name, t] of checkpoint.params) expect([...loaded.params.get(name)!.data]).toEqual([...t.data]);
    expect(loaded.optimizer.size).toBe(checkpoint.optimizer.size);
    expect(run.metrics().map((m) => m.step)).toEqual([0, 1, 2, 3]);
    expect(readdirSync(join(run.dir, 'checkpoints')).sort()).toEqual([
      'step-0000002.optim.safetensors',
      'step-0000002.safetensors',
    ]);

    const detail = await client.readRun(summary.id);
    expect(detail.metrics).toHaveLength(4);
    expect((detail.graph as GraphDoc).name).toBe(graph.name);
    expect((await client.listRuns()).map((r) => r.id)).toContain(summary.id);
  });

  it('reopens a run to continue it from its latest checkpoint, with the bytes and metrics before it', async () => {
    const graph = await smallGraph();
    const live = await client.createRun(request(graph));
    await client.appendMetrics(live.id, [row(0), row(1), row(2), row(3)]);
    const checkpoint = fakeCheckpoint(graph, 2);
    const files = encodeCheckpointFiles(checkpoint);
    await client.saveCheckpoint(live.id, files.model, files.optimizer);
    await expect(client.resumeRun(live.id, 10)).rejects.toMatchObject({ message: /already training/ });
    await client.finishRun(live.id, 'failed', 'The GPU device was lost');
    await expect(client.resumeRun(live.id, 2)).rejects.toMatchObject({ message: /not more than the checkpoint's 2/ });

    const bundle = await client.resumeRun(live.id, 10);
    expect(bundle).toMatchObject({ step: 2, seed: 7, run: { status: 'running' }, train: { steps: 10, batch: 2 } });
    expect(bundle.metrics.map((m) => m.step)).toEqual([0, 1]);
    expect(bundle.data.kind).toBe('tokens');
    const restored = decodeCheckpointFiles(bundle.model, bundle.optimizer);
    expect(restored.state).toEqual(checkpoint.state);
    expect([...restored.params.get('embeddings.weight')!.data.slice(0, 3)]).toEqual([
      ...checkpoint.params.get('embeddings.weight')!.data.slice(0, 3),
    ]);
    // Like `statelab resume`: the run is running again with the new total, and takes metrics.
    expect(new RunStore(runsDir).open(live.id).info()).toMatchObject({ status: 'running', train: { steps: 10 } });
    await client.appendMetrics(live.id, [row(2), row(3)]);
    expect((await client.finishRun(live.id, 'completed', '')).status).toBe('completed');
  });

  it('exports a checkpoint in the HF layout as downloadable bytes', async () => {
    const run = (await client.listRuns()).find((r) => r.checkpoints.length)!;
    const exported = await client.exportDownload(run.id, 2, 'hf');
    expect(exported.folderName).toBe(`${run.id}-step-2`);
    expect(exported.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    const config = JSON.parse(new TextDecoder().decode(exported.files[0].data));
    expect(config).toMatchObject({ model_type: 'statelab', statelab_graph: { name: 'Short-convolution LM' } });
    const weights = decodeSafetensors(exported.files[1].data, 'model.safetensors');
    expect(weights.tensors.map((t) => t.name).sort()).toEqual(
      [...compileGraph(await smallGraph()).specs.map((s) => s.name)].sort(),
    );
    await expect(client.exportDownload(run.id, 3, 'hf')).rejects.toMatchObject({
      code: 'not-found',
      message: /step 3/,
    });
    await expect(client.exportCheckpoint(run.id, 2, 'hf')).rejects.toMatchObject({ code: 'unsupported' });
  });

  it('records a workspace dataset file by path with its tokenizer, and saves the tokenizer beside the run', async () => {
    await client.importDataFile(
      'poems.jsonl',
      new TextEncoder().encode('{"body": "roses are red"}\n{"body": "violets"}\n'),
    );
    const graph = await smallGraph();
    const data = {
      kind: 'file' as const,
      name: 'poems.jsonl',
      tokenizer: 'char',
      field: 'body',
      validationFraction: 0.2,
    };
    const summary = await client.createRun({ ...request(graph), data });
    const run = new RunStore(runsDir).open(summary.id);
    expect(run.info().data).toEqual({
      kind: 'text',
      path: join(workspaceDir, 'data', 'poems.jsonl'),
      tokenizer: 'char',
      format: 'jsonl',
      field: 'body',
      validationFraction: 0.2,
    });
    const tokenizer = JSON.parse(readFileSync(join(run.dir, 'tokenizer.json'), 'utf8'));
    expect(Object.keys(tokenizer.model.vocab)).toEqual(expect.arrayContaining(['r', 'v']));
    expect(summary.data).toMatch(/poems.jsonl \(char\)/);
    await client.finishRun(summary.id, 'stopped', '');
  });

  it('refuses writes to finished or unknown runs, bad graphs and checkpoints that do not fit the graph', async () => {
    const graph = await smallGraph();
    const done = (await client.listRuns()).find((r) => r.status === 'completed')!;
    await expect(client.appendMetrics(done.id, [row(9)])).rejects.toMatchObject({ code: 'not-found' });
    await expect(client.appendMetrics('../../etc', [row(9)])).rejects.toMatchObject({ code: 'bad-arguments' });
    await expect(client.readRun('no-such-run')).rejects.toMatchObject({ code: 'not-found' });

    const broken = { ...graph, edges: graph.edges.slice(1) };
    await expect(client.createRun(request(broken))).rejects.toMatchObject({
      code: 'bad-arguments',
      message: /not connected/,
    });
    await expect(
      client.createRun({ ...request(graph), data: { kind: 'bundled-text', id: 'nope', validationFraction: 0.1 } }),
    ).rejects.toMatchObject({ code: 'not-found' });

    const live = await client.createRun(request(graph));
    const wrong = fakeCheckpoint({ ...graph, model: { ...graph.model, d_model: 32 } }, 2);
    const files = encodeCheckpointFiles(wrong);
    await expect(client.saveCheckpoint(live.id, files.model, files.optimizer)).rejects.toMatchObject({
      code: 'bad-arguments',
      message: /does not match the graph/,
    });
    await expect(client.saveCheckpoint(live.id, new Uint8Array([1, 2, 3]), files.optimizer)).rejects.toMatchObject({
      code: 'bad-arguments',
    });
    expect(new RunStore(runsDir).open(live.id).checkpointSteps()).toEqual([]);
    // A run that failed keeps what it has, with the reason.
    const failed = await client.finishRun(live.id, 'failed', 'The GPU device was lost (simulated)');
    expect(failed).toMatchObject({ status: 'failed', message: /device was lost/ });
  });
});
