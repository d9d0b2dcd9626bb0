import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { mixerFactory, registerMixer, registeredMixers } from '../../gpu/nn/mixer.js';
import { templatePath } from '../../main/host/templates.js';
import { ExportError } from '../../main/export/errors.js';
import { buildPlan } from '../../main/export/plan.js';
import { writePytorchPackage } from '../../main/export/pytorch.js';
import { PYTORCH_CLASSES } from '../../main/export/pytorch-classes.js';
import { ONNX_EMITTERS } from '../../main/export/onnx/mixers/index.js';
import { checkParams } from '../../main/export/source.js';
import { ONNX_MIXERS, PYTORCH_MIXERS } from '../../main/export/support.js';
import { FAMILY_CASES, familyGraph } from '../../bench/parity/families.js';
import { testParams } from './helpers.js';

const template = (name: string) => parseGraph(readFileSync(templatePath(name)!, 'utf8'), name);

describe('export plan', () => {
  it('flattens a template into nodes in execution order with resolved configs', () => {
    const { plan } = buildPlan(template('llama'));
    expect(plan.top.map((n) => n.kind)).toEqual(['tokens', 'embedding', 'repeat', 'norm', 'lm_head']);
    const block = plan.blocks.block;
    expect(block.map((n) => n.id)).toEqual([
      'input',
      'attn_norm',
      'attn',
      'attn_residual',
      'mlp_norm',
      'mlp',
      'mlp_residual',
      'output',
    ]);
    expect(block.find((n) => n.id === 'mlp')!.config).toEqual({ width: 64, hidden: 192, activation: 'swiglu' });
    expect(block.find((n) => n.id === 'attn')!.config).toMatchObject({ d_model: 64, num_heads: 4, window: 0 });
    expect(block.find((n) => n.id === 'attn_residual')!.inputs).toEqual({ a: 'input.x', b: 'attn.y' });
    expect(plan).toMatchObject({ mixerKinds: ['attention'], tied: true, layers: 2, vocabSize: 256 });
    expect(plan.noDecay).toContain('layers.0.attn_norm.weight');
    expect(plan.noDecay).not.toContain('layers.0.attn.q_proj.weight');
  });

  it('the support tables list exactly the families that have a PyTorch class and an ONNX emitter', () => {
    expect([...PYTORCH_MIXERS].sort()).toEqual(Object.keys(PYTORCH_CLASSES).sort());
    expect([...ONNX_MIXERS].sort()).toEqual(Object.keys(ONNX_EMITTERS).sort());
    const registered = new Set(registeredMixers().map((f) => f.kind));
    for (const kind of [...PYTORCH_MIXERS, ...ONNX_MIXERS]) expect(registered.has(kind)).toBe(true);
    // Every family the parity bench and these tests exercise is exported by both formats.
    for (const c of FAMILY_CASES) {
      expect(PYTORCH_MIXERS).toContain(c.kind);
      expect(ONNX_MIXERS).toContain(c.kind);
    }
  });

  it('a family a format cannot express is refused, naming the node and the format', () => {
    // Every family StateLab ships is exported by both formats, so the test registers one that no exporter
    // knows (shortconv's factory under a new kind): what a newly added layer family meets until its exporters
    // exist.
    const shipped = registeredMixers().map((f) => f.kind);
    expect(shipped.filter((k) => !PYTORCH_MIXERS.includes(k) || !ONNX_MIXERS.includes(k))).toEqual([]);
    const kind = 'unexported_test_conv';
    registerMixer({ ...mixerFactory('shortconv'), kind, title: 'Unexported (test)' });
    expect(PYTORCH_MIXERS).not.toContain(kind);
    expect(ONNX_MIXERS).not.toContain(kind);
    const graph = familyGraph({ name: 'x', kind, options: {} });
    for (const format of ['onnx', 'pytorch'] as const) {
      expect(() => buildPlan(graph, format)).toThrow(ExportError);
      expect(() => buildPlan(graph, format)).toThrow(
        new RegExp(
          `the ${format} export cannot express node "block:block/attn" \\(a ${kind} layer\\); ${format} supports: `,
        ),
      );
    }
    // The HF layout stores any graph.
    expect(buildPlan(graph, 'hf').plan.mixerKinds).toEqual([kind]);
  });

  it('an invalid graph is refused with the validation errors', () => {
    const graph = familyGraph(FAMILY_CASES[0]);
    graph.blocks!.block.edges.pop();
    expect(() => buildPlan(graph, 'pytorch')).toThrow(/cannot export "parity shortconv".*output.*not connected/s);
  });

  it('a checkpoint that does not match the graph is refused, naming each parameter', () => {
    const graph = familyGraph(FAMILY_CASES[0]);
    const params = testParams(graph);
    const { model } = buildPlan(graph);
    params.delete('layers.1.attn.conv.weight');
    params.set('layers.0.mlp.up_proj.weight', { shape: [3, 3], data: new Float32Array(9) });
    params.set('extra.weight', { shape: [1], data: new Float32Array(1) });
    expect(() => checkParams(model.specs, params)).toThrow(
      /"layers.0.mlp.up_proj.weight" has shape \[3,3\].*"layers.1.attn.conv.weight" is missing.*"extra.weight" is not a parameter/,
    );
  });

  it('a node id that is an nn.Module attribute is refused by the PyTorch export before writing', () => {
    const graph = familyGraph(FAMILY_CASES[0]);
    graph.blocks!.block.nodes[1].id = 'forward';
    for (const e of graph.blocks!.block.edges) {
      e.from = e.from.replace(/^attn_norm\./, 'forward.');
      e.to = e.to.replace(/^attn_norm\./, 'forward.');
    }
    expect(() => writePytorchPackage({ graph, params: testParams(graph) }, '/nonexistent/out', '0')).toThrow(
      /pytorch export cannot name node "block:block\/forward"/,
    );
  });
});
