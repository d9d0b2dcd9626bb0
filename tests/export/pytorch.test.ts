import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { buildPlan } from '../../main/export/plan.js';
import { modelPy, writePytorchPackage } from '../../main/export/pytorch.js';
import { PYTORCH_CLASSES } from '../../main/export/pytorch-classes.js';
import { FAMILY_CASES, familyGraph } from '../../bench/parity/families.js';
import { formatPython, lintPython, testParams } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'statelab-pytorch-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** One graph that uses every family with a PyTorch class, one per block, repeated once. */
function everyFamily(): GraphDoc {
  const graph = familyGraph(FAMILY_CASES[0], { dModel: 16, layers: 1 });
  const block = graph.blocks!.block;
  const nodes = [block.nodes[0]];
  const edges = [];
  let previous = 'input.x';
  FAMILY_CASES.forEach((c, i) => {
    nodes.push({ id: `norm_${i}`, kind: 'norm' }, { id: `mixer_${i}`, kind: `mixer.${c.kind}`, params: c.options });
    nodes.push({ id: `residual_${i}`, kind: 'add' });
    edges.push({ from: previous, to: `norm_${i}.x` }, { from: `norm_${i}.y`, to: `mixer_${i}.x` });
    edges.push({ from: previous, to: `residual_${i}.a` }, { from: `mixer_${i}.y`, to: `residual_${i}.b` });
    previous = `residual_${i}.y`;
  });
  nodes.push({ id: 'output', kind: 'block.output' });
  edges.push({ from: previous, to: 'output.x' });
  graph.blocks!.block = { nodes, edges };
  graph.name = 'every family';
  return graph;
}

describe('PyTorch export', () => {
  const graph = everyFamily();
  const params = testParams(graph);
  const out = join(root, 'every');
  const result = writePytorchPackage(
    { graph, params, origin: { run: 'r1', step: 30 }, tokenizer: { version: '1.0' } },
    out,
    '0.1.0',
  );

  it('writes the package: model, config, weights, loader, training script, README, tokenizer', () => {
    expect(readdirSync(out).sort()).toEqual(
      [
        'README.md',
        '__init__.py',
        'config.json',
        'load.py',
        'model.py',
        'model.safetensors',
        'tokenizer.json',
        'train.py',
      ].sort(),
    );
    expect(result.plan.mixerKinds).toEqual(FAMILY_CASES.map((c) => c.kind));
  });

  it('the generated Python passes Ruff (pyflakes, pycodestyle, bugbear) and is ruff-formatted', () => {
    for (const file of ['model.py', 'load.py', '__init__.py', 'train.py']) {
      const source = readFileSync(join(out, file), 'utf8');
      expect(lintPython(source), file).toEqual([]);
      expect(formatPython(source) === source, `${file} is not as ruff format writes it`).toBe(true);
    }
  });

  it('model.py holds one class or builder per family the graph uses, and only those', () => {
    const source = readFileSync(join(out, 'model.py'), 'utf8');
    for (const kind of Object.keys(PYTORCH_CLASSES)) {
      expect(source).toContain(`    "${kind}": ${PYTORCH_CLASSES[kind].factory},`);
    }
    const only = modelPy(buildPlan(familyGraph(FAMILY_CASES[1])).plan, '0');
    expect(only).toContain('class Attention(nn.Module):');
    expect(only).not.toContain('class Mamba(');
    expect(only).not.toContain('class DeltaRule(');
    expect(lintPython(only)).toEqual([]);
    // No stray template markers or generated noise.
    expect(source).not.toMatch(/\$\{|TODO|XXX/);
  });

  it('model.safetensors holds every parameter bit-exact under its StateLab name', () => {
    const file = decodeSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.tensors.map((t) => t.name).sort()).toEqual([...params.keys()].sort());
    for (const t of file.tensors) {
      const expected = params.get(t.name)!;
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(expected.shape);
      expect(new Uint32Array((t.data as Float32Array).buffer.slice(0))).toEqual(
        new Uint32Array(expected.data.buffer.slice(0)),
      );
    }
  });

  it('config.json has the transformers config fields, the graph and the plan', () => {
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['StateLabForCausalLM'],
      model_type: 'statelab',
      vocab_size: 256,
      hidden_size: 16,
      num_hidden_layers: 1,
      tie_word_embeddings: true,
      torch_dtype: 'float32',
      statelab_source: { run: 'r1', step: 30 },
    });
    expect(config.statelab_graph).toEqual(graph);
    expect(config.statelab_plan.blocks.block).toHaveLength(3 * FAMILY_CASES.length + 2);
    expect(config.statelab_no_decay).toContain('layers.0.mixer_5.A_log'); // Mamba's A_log: 2-D, no decay
  });
});
