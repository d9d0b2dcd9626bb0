import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportCommand, importCommand } from '../../main/cli/export.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { ExportError } from '../../main/export/errors.js';
import { importHfFolder, importHfToRun, writeHfFolder } from '../../main/export/hf.js';
import { FAMILY_CASES, familyGraph } from '../../bench/parity/families.js';
import { testParams } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'statelab-hf-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const bits = (a: Float32Array) => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

async function quietly(fn: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(s) > 0) as typeof process.stderr.write;
  try {
    return { code: await fn(), stdout: out.join(''), stderr: err.join('') };
  } finally {
    [process.stdout.write, process.stderr.write] = write;
  }
}

describe('Hugging Face layout', () => {
  it('export then import gives the same graph and bit-identical parameters', () => {
    const graph = familyGraph(FAMILY_CASES[5]);
    const params = testParams(graph);
    const dir = join(root, 'roundtrip');
    expect(writeHfFolder({ graph, params }, dir).files).toEqual(['config.json', 'model.safetensors']);
    const back = importHfFolder(dir);
    expect(back.graph).toEqual(graph);
    expect([...back.params.keys()].sort()).toEqual([...params.keys()].sort());
    for (const [name, t] of params) {
      expect(back.params.get(name)!.shape).toEqual(t.shape);
      expect(bits(back.params.get(name)!.data)).toEqual(bits(t.data));
    }
  });

  it('import into a run gives a checkpoint the run store loads, with zero optimizer moments', () => {
    const graph = familyGraph(FAMILY_CASES[1]);
    const params = testParams(graph);
    const dir = join(root, 'to-run');
    writeHfFolder({ graph, params, origin: { run: 'source-run', step: 12 } }, dir);
    const run = importHfToRun(dir, join(root, 'runs'));
    expect(run.graph()).toEqual(graph);
    const checkpoint = new RunStore(join(root, 'runs')).open(run.id).loadCheckpoint();
    expect(checkpoint.step).toBe(0);
    expect(bits(checkpoint.params.get('layers.1.attn.o_proj.weight')!.data)).toEqual(
      bits(params.get('layers.1.attn.o_proj.weight')!.data),
    );
    expect(checkpoint.optimizer.get('layers.1.attn.o_proj.weight.exp_avg')!.data.every((v) => v === 0)).toBe(true);
    expect(run.info().data).toMatchObject({ kind: 'imported', source: { run: 'source-run', step: 12 } });
  });

  it('import refuses folders it cannot read, saying why', () => {
    expect(() => importHfFolder(join(root, 'missing'))).toThrow(/config.json does not exist/);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'config.json'), JSON.stringify({ model_type: 'llama' }));
    writeFileSync(join(foreign, 'model.safetensors'), new Uint8Array(16));
    expect(() => importHfFolder(foreign)).toThrow(ExportError);
    expect(() => importHfFolder(foreign)).toThrow(/model_type "llama" without a statelab_graph/);
    // A checkpoint that does not fit the graph in config.json.
    const graph = familyGraph(FAMILY_CASES[0]);
    const dir = join(root, 'mismatch');
    writeHfFolder({ graph, params: testParams(graph) }, dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.statelab_graph.model.d_model = 48;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    expect(() => importHfFolder(dir)).toThrow(
      /does not match the graph: parameter "embeddings.weight" has shape \[256,32\]/,
    );
  });

  it('the CLI exports a run folder and imports the result back', async () => {
    const graph = familyGraph(FAMILY_CASES[2]);
    const params = testParams(graph);
    const runs = join(root, 'cli-runs');
    const store = new RunStore(runs);
    const run = store.create(
      {
        name: 'cli',
        data: { kind: 'text', path: 'x.txt', tokenizer: 'byte' },
        train: {},
        seed: 1,
        versions: {},
        device: {},
      },
      graph,
      {},
    );
    const optimizer = new Map(
      [...params].flatMap(
        ([n, t]) =>
          [
            [`${n}.exp_avg`, t],
            [`${n}.exp_avg_sq`, t],
          ] as const,
      ),
    );
    run.saveCheckpoint({
      step: 7,
      params,
      optimizer,
      state: { step: 7, optimizerStep: 7, dataPosition: { batches: 7 } },
    });

    const exported = await quietly(() => exportCommand([run.id, '--runs', runs, '--format', 'hf', '--json']));
    expect(exported.code).toBe(0);
    const event = JSON.parse(exported.stdout);
    expect(event).toMatchObject({ event: 'exported', format: 'hf', families: ['mingru'] });
    expect(event.out).toBe(join(run.dir, 'exports', 'hf-step-7'));
    expect(event.files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);

    // A byte-level run gets the byte tokenizer.json: GPT-2 byte characters, id = byte value.
    const tokenizer = JSON.parse(readFileSync(join(event.out, 'tokenizer.json'), 'utf8'));
    expect(tokenizer.model).toMatchObject({ type: 'BPE', merges: [] });
    expect(tokenizer.model.vocab).toMatchObject({ A: 65, Ġ: 32, Ċ: 10 });

    const imported = await quietly(() => importCommand([event.out, '--runs', runs, '--json']));
    expect(imported.code).toBe(0);
    const importedRun = store.open(JSON.parse(imported.stdout).run);
    expect(JSON.parse(readFileSync(join(importedRun.dir, 'tokenizer.json'), 'utf8'))).toEqual(tokenizer);
    const back = importedRun.loadCheckpoint();
    expect(bits(back.params.get('embeddings.weight')!.data)).toEqual(bits(params.get('embeddings.weight')!.data));
  });

  it('the CLI rejects bad requests with usage errors and unsupported families with the node and format', async () => {
    const noFormat = await quietly(() => exportCommand(['some-run']));
    expect(noFormat.code).toBe(64);
    expect(noFormat.stderr).toMatch(/--format must be one of pytorch, onnx, hf/);
    const both = await quietly(() => exportCommand(['run', '--graph', 'llama', '--format', 'hf']));
    expect(both.code).toBe(64);
    // Every shipped family exports to ONNX; a teacher-only option (GPT-2's output bias) does not.
    const teacher = familyGraph({ name: 'teacher', kind: 'attention', options: { num_heads: 2, o_bias: true } });
    const teacherFile = join(root, 'teacher-graph.json');
    writeFileSync(teacherFile, JSON.stringify(teacher));
    const refused = await quietly(() =>
      exportCommand(['--graph', teacherFile, '--format', 'onnx', '--out', join(root, 'teacher')]),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the onnx export cannot express node "block:block\/attn" \(attention with o_bias\)/);
    const llama = await quietly(() =>
      exportCommand(['--graph', 'llama', '--format', 'pytorch', '--out', join(root, 'llama')]),
    );
    expect(llama.code).toBe(0);
    expect(llama.stdout).toMatch(/exported Llama-style Transformer \(attention\) as pytorch/);
  });
});
