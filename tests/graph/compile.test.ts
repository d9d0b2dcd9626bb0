import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { compileGraph, GraphCompileError } from '../../gpu/graph/compile.js';
import { createParams } from '../../gpu/nn/module.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { templatePath } from '../../main/host/templates.js';

const engine = useEngine();
const load = (name: string) => parseGraph(readFileSync(templatePath(name)!, 'utf8'), name);

describe('graph compiler', () => {
  it('names parameters deterministically, HF-style, and counts them', () => {
    const model = compileGraph(load('short-conv'));
    const names = model.specs.map((s) => s.name);
    expect(names).toEqual([
      'embeddings.weight',
      'layers.0.attn_norm.weight',
      'layers.0.attn.conv.weight',
      'layers.0.mlp_norm.weight',
      'layers.0.mlp.gate_proj.weight',
      'layers.0.mlp.up_proj.weight',
      'layers.0.mlp.down_proj.weight',
      'layers.1.attn_norm.weight',
      'layers.1.attn.conv.weight',
      'layers.1.mlp_norm.weight',
      'layers.1.mlp.gate_proj.weight',
      'layers.1.mlp.up_proj.weight',
      'layers.1.mlp.down_proj.weight',
      'norm.weight',
    ]);
    const d = 64;
    const hidden = 192; // 8/3·64 rounded up to 32
    const perLayer = d + d * 4 + d + 3 * d * hidden;
    expect(model.totals.params).toBe(256 * d + 2 * perLayer + d);
    expect(model.totals.stateFloats).toBe(2 * d * 3);
    expect(compileGraph(load('short-conv')).specs.map((s) => s.name)).toEqual(names);
  });

  it('one-token steps with carried state equal the parallel form (T=11)', async () => {
    const e = await engine();
    const model = compileGraph(load('short-conv'));
    const params = createParams(e, model.specs, 3);
    const B = 2;
    const T = 11;
    const ids = Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % 256);
    const parallel = await e.noGrad(() => model.logits(params, e.fromArray(ids, [B, T], 'i32'))).read();
    let state = e.noGrad(() => model.initialState(e, B));
    const V = 256;
    for (let t = 0; t < T; t++) {
      const column = Array.from({ length: B }, (_, b) => ids[b * T + t]);
      const out = e.noGrad(() => model.step(params, e.fromArray(column, [B], 'i32'), state));
      state = out.state;
      const logits = await out.logits.read();
      for (let b = 0; b < B; b++) {
        const expected = parallel.subarray((b * T + t) * V, (b * T + t + 1) * V);
        expect(relativeError(logits.subarray(b * V, (b + 1) * V), expected)).toBeLessThan(1e-5);
      }
    }
  });

  it('an invalid graph is refused with every problem listed', () => {
    const doc = load('short-conv');
    doc.blocks!.block.nodes.find((n) => n.id === 'attn')!.params = { kernel: 1 };
    doc.edges = doc.edges.filter((e) => e.to !== 'norm.x');
    expect(() => compileGraph(doc)).toThrow(GraphCompileError);
    expect(() => compileGraph(doc)).toThrow(/block:block\/attn \(params\.kernel\): must be at least 2 \(got 1\)/);
    expect(() => compileGraph(doc)).toThrow(/norm \(x\): input "x" is not connected/);
  });
});
