// The Export view's host side: per format, whether a run's graph can be exported (and the exporter's reason
// when not, naming the node); each format written into a folder picked in a dialog (Electron) or handed over
// as downloadable bytes (browser mode), with the file list matching what is on disk; bad input refused.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import { initialValues } from '../../gpu/nn/module.js';
import { importHfToRun, writeHfFolder } from '../../main/export/hf.js';
import type { TensorMap } from '../../main/host/runs/checkpoint-file.js';
import { callLab, createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { createLabClient } from '../../shared/lab-api.js';

const root = mkdtempSync(join(tmpdir(), 'statelab-app-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const workspaceDir = join(root, 'ws');
const picked = join(root, 'picked');
let answer: string | null = picked;
const host = createLabService({
  mode: 'electron',
  assetsDir: SOURCE_ASSETS_DIR,
  workspaceDir,
  dialogs: { chooseFolder: async () => answer },
});
const client = createLabClient((method, args) => callLab(host, method, args));
const browser = createLabClient((method, args) =>
  callLab(createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir }), method, args),
);

/** A run with a step-0 checkpoint of a template at width 16 (exported, then imported as a run). */
function tinyRun(template: string, name: string, edit: (g: GraphDoc) => GraphDoc = (g) => g): string {
  const path = join(SOURCE_ASSETS_DIR, 'templates', `${template}.json`);
  const doc = parseGraph(readFileSync(path, 'utf8'), path);
  const graph = edit({ ...doc, model: { ...doc.model, d_model: 16 } });
  const params: TensorMap = new Map();
  for (const spec of compileGraph(graph).specs) {
    params.set(spec.name, { shape: spec.shape, data: Float32Array.from(initialValues(spec, 3).data) });
  }
  const folder = join(root, `seed-${template}`);
  writeHfFolder({ graph, params }, folder);
  return importHfToRun(folder, join(workspaceDir, 'runs'), name).id;
}

function withOutputBias(graph: GraphDoc): GraphDoc {
  const block = graph.blocks!.block;
  const nodes = block.nodes.map((n) => (n.id === 'attn' ? { ...n, params: { ...n.params, o_bias: true } } : n));
  return { ...graph, blocks: { ...graph.blocks, block: { ...block, nodes } } };
}

const conv = tinyRun('short-conv', 'tiny conv');
// An attention layer with an output bias (a GPT-2 teacher's): stored by the HF layout, refused by PyTorch/ONNX.
const biased = tinyRun('llama', 'tiny biased attention', withOutputBias);

describe('Export view host calls', () => {
  it('says per format whether the graph can be exported, naming the node and format when not', async () => {
    const all = await client.exportFormats(conv);
    expect(all.families).toEqual(['shortconv']);
    expect(all.formats.map((f) => [f.format, f.supported])).toEqual([
      ['hf', true],
      ['pytorch', true],
      ['onnx', true],
    ]);
    const some = await client.exportFormats(biased);
    expect(some.families).toEqual(['attention']);
    const byFormat = Object.fromEntries(some.formats.map((f) => [f.format, f]));
    expect(byFormat.hf.supported).toBe(true);
    for (const format of ['pytorch', 'onnx'] as const) {
      expect(byFormat[format].supported).toBe(false);
      expect(byFormat[format].reason).toMatch(new RegExp(`${format} export cannot express node "block:block/attn"`));
      expect(byFormat[format].reason).toMatch(/attention with o_bias/);
    }
  });

  it('writes each format into a folder picked in the dialog, listing exactly the files on disk', async () => {
    const expected = {
      hf: ['config.json', 'model.safetensors'],
      pytorch: ['README.md', '__init__.py', 'config.json', 'load.py', 'model.py', 'model.safetensors', 'train.py'],
      onnx: ['config.json', 'model.onnx', 'model.onnx.data', 'model_step.onnx', 'onnx.json'],
    };
    for (const format of ['hf', 'pytorch', 'onnx'] as const) {
      const result = (await client.exportCheckpoint(conv, 0, format))!;
      expect(result.folder).toBe(join(picked, format === 'hf' ? `${conv}-step-0` : `${conv}-step-0-${format}`));
      expect(result.files.map((f) => f.name).sort()).toEqual(expected[format]);
      expect(readdirSync(result.folder).sort()).toEqual(expected[format]);
      for (const f of result.files) expect(statSync(join(result.folder, f.name)).size).toBe(f.bytes);
    }
    const model = readFileSync(join(picked, `${conv}-step-0-pytorch`, 'model.py'), 'utf8');
    expect(model).toMatch(/class ShortConvMixer/);
  });

  it('hands over the same files as bytes in browser mode', async () => {
    const onnx = await browser.exportDownload(conv, 0, 'onnx');
    expect(onnx.folderName).toBe(`${conv}-step-0-onnx`);
    expect(onnx.files.map((f) => f.name)).toEqual([
      'config.json',
      'model.onnx',
      'model.onnx.data',
      'model_step.onnx',
      'onnx.json',
    ]);
    const manifest = JSON.parse(new TextDecoder().decode(onnx.files.find((f) => f.name === 'onnx.json')!.data));
    expect(manifest.families).toEqual(['shortconv']);
    const hf = await browser.exportDownload(biased, 0, 'hf');
    const weights = decodeSafetensors(hf.files.find((f) => f.name === 'model.safetensors')!.data, 'model');
    expect(weights.tensors.some((t) => t.name.includes('attn'))).toBe(true);
  });

  it('refuses a format the graph cannot use, an unknown format, and writes nothing when cancelled', async () => {
    await expect(client.exportCheckpoint(biased, 0, 'onnx')).rejects.toMatchObject({
      code: 'unsupported',
      message: /onnx export of .* failed: .*node "block:block\/attn" \(attention with o_bias\)/,
    });
    expect(existsSync(join(picked, `${biased}-step-0-onnx`))).toBe(false);
    expect(await callLab(host, 'exportDownload', [conv, 0, 'gguf'])).toMatchObject({
      error: { code: 'bad-arguments', message: /format must be one of hf, pytorch, onnx/ },
    });
    expect(await callLab(host, 'exportDownload', [conv, 0])).toMatchObject({ error: { code: 'bad-arguments' } });
    await expect(client.exportDownload(conv, 5, 'hf')).rejects.toMatchObject({ code: 'not-found', message: /step 5/ });
    await expect(client.exportFormats('no-such-run')).rejects.toMatchObject({ code: 'not-found' });
    answer = null;
    expect(await client.exportCheckpoint(conv, 0, 'pytorch')).toBeNull();
    answer = picked;
  });
});
