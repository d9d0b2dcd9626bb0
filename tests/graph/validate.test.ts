import { describe, expect, it } from 'vitest';
import { makeCatalogue, type NodeKindSpec } from '../../shared/graph/catalogue.js';
import { parseGraph, serializeGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { validateGraph } from '../../shared/graph/validate.js';

const fakeMixer: NodeKindSpec = {
  kind: 'mixer.fake',
  title: 'Fake mixer',
  category: 'mixer',
  description: 'test',
  inputs: [{ name: 'x', type: 'hidden' }],
  outputs: [{ name: 'y', type: 'hidden' }],
  params: [{ name: 'heads', type: 'int', default: 2, min: 1, max: 64, help: '' }],
};
const catalogue = makeCatalogue([fakeMixer]);

function lm(overrides: Partial<GraphDoc> = {}): GraphDoc {
  return {
    format: 'statelab-graph',
    version: 2,
    name: 'test',
    model: { d_model: 32, vocab_size: 256 },
    nodes: [
      { id: 'tokens', kind: 'tokens' },
      { id: 'embeddings', kind: 'embedding' },
      { id: 'layers', kind: 'repeat', params: { block: 'block', count: 3 } },
      { id: 'norm', kind: 'norm' },
      { id: 'lm_head', kind: 'lm_head' },
    ],
    edges: [
      { from: 'tokens.ids', to: 'embeddings.ids' },
      { from: 'embeddings.y', to: 'layers.x' },
      { from: 'layers.y', to: 'norm.x' },
      { from: 'norm.y', to: 'lm_head.x' },
    ],
    blocks: {
      block: {
        nodes: [
          { id: 'in', kind: 'block.input' },
          { id: 'attn_norm', kind: 'norm' },
          { id: 'attn', kind: 'mixer.fake', params: { heads: 4 } },
          { id: 'res', kind: 'add' },
          { id: 'out', kind: 'block.output' },
        ],
        edges: [
          { from: 'in.x', to: 'attn_norm.x' },
          { from: 'attn_norm.y', to: 'attn.x' },
          { from: 'in.x', to: 'res.a' },
          { from: 'attn.y', to: 'res.b' },
          { from: 'res.y', to: 'out.x' },
        ],
      },
    },
    ...overrides,
  };
}

const messages = (doc: GraphDoc) => validateGraph(doc, catalogue).errors.map((e) => e.message);

describe('graph validation', () => {
  it('accepts a residual LM with a repeated block and infers widths', () => {
    const { errors, graph } = validateGraph(lm(), catalogue);
    expect(errors).toEqual([]);
    expect(graph!.order.map((r) => r.node.id)).toEqual(['tokens', 'embeddings', 'layers', 'norm', 'lm_head']);
    expect(graph!.output.outputs.logits).toEqual({ type: 'logits', width: 256 });
    expect(graph!.blocks.get('block')!.map((r) => r.node.id)).toEqual(['in', 'attn_norm', 'attn', 'res', 'out']);
  });

  it('reports a cycle naming the nodes on it', () => {
    const doc = lm();
    doc.blocks!.block.edges.push({ from: 'res.y', to: 'attn_norm.x' });
    doc.blocks!.block.edges = doc.blocks!.block.edges.filter((e) => e.from !== 'in.x' || e.to !== 'attn_norm.x');
    expect(messages(doc).join('\n')).toMatch(/block:block\/.*cycle through .*attn_norm/);
  });

  it('reports dangling and doubly-connected inputs with node and port', () => {
    const dangling = lm();
    dangling.edges = dangling.edges.filter((e) => e.to !== 'norm.x');
    expect(messages(dangling)).toContain('norm (x): input "x" is not connected');
    const twice = lm();
    twice.edges.push({ from: 'embeddings.y', to: 'norm.x' });
    expect(messages(twice).join()).toMatch(/norm \(x\): input "x" is connected twice \(from layers and embeddings\)/);
  });

  it('reports type mismatches, unknown kinds, unknown ports and out-of-range parameters', () => {
    const typed = lm();
    typed.edges.push({ from: 'tokens.ids', to: 'lm_head.x' });
    typed.edges = typed.edges.filter((e) => e.from !== 'norm.y');
    expect(messages(typed).join()).toMatch(/type mismatch: tokens\.ids gives tokens, lm_head\.x takes hidden/);
    const unknown = lm();
    unknown.nodes[3] = { id: 'norm', kind: 'norm2' };
    expect(messages(unknown)).toContain('norm (kind): unknown node kind "norm2"');
    const port = lm();
    port.edges[0] = { from: 'tokens.tokens', to: 'embeddings.ids' };
    expect(messages(port).join()).toMatch(/Token ids has no output port "tokens" \(it has: ids\)/);
    const range = lm();
    range.blocks!.block.nodes[2].params = { heads: 0 };
    expect(messages(range)).toContain('block:block/attn (params.heads): must be at least 1 (got 0)');
    const extra = lm();
    extra.nodes[1].params = { dimension: 3 };
    expect(messages(extra)).toContain('embeddings (params.dimension): is not a parameter of this node kind');
  });

  it('reports a width mismatch at a residual add', () => {
    const doc = lm();
    doc.blocks!.block.nodes.splice(2, 0, { id: 'proj', kind: 'linear', params: { out_features: 16 } });
    doc.blocks!.block.edges = doc.blocks!.block.edges.map((e) =>
      e.to === 'attn.x' ? { from: 'proj.y', to: 'attn.x' } : e,
    );
    doc.blocks!.block.edges.push({ from: 'attn_norm.y', to: 'proj.x' });
    expect(messages(doc)).toContain('block:block/res (b): shape mismatch: input a has width 32, input b has width 16');
  });

  it('a width check from the layer itself is reported at the node', () => {
    const result = validateGraph(lm(), catalogue, (node, width) =>
      node.spec.kind === 'mixer.fake' && width % 3 !== 0 ? `heads must divide d_model ${width}` : null,
    );
    expect(result.errors.map((e) => e.message)).toContain('block:block/attn: heads must divide d_model 32');
  });

  it('a missing block and a second LM head are errors; unused nodes are warnings', () => {
    const missing = lm();
    missing.nodes[2].params = { block: 'nope', count: 2 };
    expect(messages(missing).join()).toMatch(/layers \(block\): block "nope" does not exist \(known: block\)/);
    const unused = lm();
    unused.nodes.push({ id: 'spare', kind: 'norm' });
    unused.edges.push({ from: 'embeddings.y', to: 'spare.x' });
    const result = validateGraph(unused, catalogue);
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => w.message)).toContain('spare: does not contribute to the output');
  });
});

describe('graph files', () => {
  it('malformed or truncated JSON names the file', () => {
    expect(() => parseGraph('{"format": "statelab-graph", "nodes": [', 'my.graph.json')).toThrow(
      /my\.graph\.json: malformed JSON \(the file looks truncated\)/,
    );
    expect(() => parseGraph('{"format": "other"}', 'g.json')).toThrow(
      /g\.json \(format\): "format" must be "statelab-graph"/,
    );
    expect(() => parseGraph(JSON.stringify({ ...lm(), version: 99 }), 'g.json')).toThrow(
      /newer than this StateLab understands/,
    );
    expect(() => parseGraph(JSON.stringify({ ...lm(), model: { d_model: -4, vocab_size: 3 } }), 'g.json')).toThrow(
      /model\.d_model\): must be a positive integer/,
    );
  });

  it('version 1 files migrate to version 2 with the same meaning', () => {
    const current = lm();
    const v1 = {
      format: 'statelab-graph',
      version: 1,
      name: current.name,
      d_model: 32,
      vocab_size: 256,
      nodes: current.nodes,
      edges: current.edges.map((e) => [...e.from.split('.'), ...e.to.split('.')]),
      blocks: {
        block: {
          nodes: current.blocks!.block.nodes,
          edges: current.blocks!.block.edges.map((e) => [...e.from.split('.'), ...e.to.split('.')]),
        },
      },
    };
    const migrated = parseGraph(JSON.stringify(v1));
    expect(migrated).toEqual(parseGraph(serializeGraph(current)));
  });

  it('serialization round-trips', () => {
    expect(parseGraph(serializeGraph(lm()))).toEqual(lm());
  });
});
