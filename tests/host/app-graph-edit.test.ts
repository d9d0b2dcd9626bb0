// The editor's graph model without a browser: every edit is a pure function of the document, undo/redo
// restores exact documents (so "unsaved" is exact too), paste renames and rewires, the palette covers the
// whole catalogue, and validation problems land on the right node.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeCatalogue } from '../../gpu/graph/catalogue.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { analyzeGraph, locate } from '../../renderer/src/graph/analysis.js';
import { missingPositions } from '../../renderer/src/graph/auto-layout.js';
import * as ops from '../../renderer/src/graph/doc-ops.js';
import { copyFragment, parseFragment, pasteFragment } from '../../renderer/src/graph/fragment.js';
import { History } from '../../renderer/src/graph/history.js';
import { parseOption } from '../../renderer/src/graph/option-value.js';
import { paletteGroups } from '../../renderer/src/graph/palette.js';
import { emptyGraph } from '../../renderer/src/graph/starter.js';

const template = (id: string): GraphDoc =>
  parseGraph(readFileSync(join(SOURCE_ASSETS_DIR, 'templates', `${id}.json`), 'utf8'));

describe('graph edits', () => {
  it('adds, connects, renames and removes without touching the input document', () => {
    const start = emptyGraph();
    const frozen = JSON.stringify(start);
    const { doc: added, id } = ops.addNode(start, null, 'mixer.gla', { x: 10.4, y: 20.6 });
    expect(id).toBe('gla');
    expect(added.layout?.gla).toEqual({ x: 10, y: 21 });
    expect(ops.addNode(added, null, 'mixer.gla', { x: 0, y: 0 }).id).toBe('gla_2');
    // An input takes one wire: connecting replaces the old one.
    const wired = ops.connect(ops.connect(added, null, 'embeddings.y', 'gla.x'), null, 'norm.y', 'gla.x');
    expect(wired.edges.filter((e) => e.to === 'gla.x')).toEqual([{ from: 'norm.y', to: 'gla.x' }]);
    const renamed = ops.renameNode(wired, null, 'gla', 'attn');
    expect(renamed.edges).toContainEqual({ from: 'norm.y', to: 'attn.x' });
    expect(renamed.layout?.attn).toEqual({ x: 10, y: 21 });
    expect(() => ops.renameNode(renamed, null, 'attn', 'norm')).toThrow(/already exists/);
    expect(() => ops.renameNode(renamed, null, 'attn', '9lives')).toThrow(/not a valid node id/);
    const removed = ops.removeItems(renamed, null, ['attn']);
    expect(removed.nodes.map((n) => n.id)).toEqual(['tokens', 'embeddings', 'norm', 'lm_head']);
    expect(removed.edges.some((e) => e.to.startsWith('attn'))).toBe(false);
    expect(removed.layout?.attn).toBeUndefined();
    expect(JSON.stringify(start)).toBe(frozen);
  });

  it('edits inside blocks with block/node layout keys, and adds and removes blocks', () => {
    const doc = template('gla');
    const { doc: withNode, id } = ops.addNode(doc, 'block', 'norm', { x: 5, y: 5 });
    expect(withNode.layout?.[`block/${id}`]).toEqual({ x: 5, y: 5 });
    expect(withNode.nodes).toBe(doc.nodes); // the top level is shared, not copied
    const param = ops.setParam(withNode, 'block', 'attn', 'num_heads', 2);
    expect(param.blocks!.block.nodes.find((n) => n.id === 'attn')!.params).toEqual({ num_heads: 2 });
    expect(
      ops.setParam(param, 'block', 'attn', 'num_heads', undefined).blocks!.block.nodes.find((n) => n.id === 'attn')!
        .params,
    ).toBeUndefined();
    const more = ops.addBlock(doc, 'extra');
    expect(more.blocks!.extra.edges).toEqual([{ from: 'input.x', to: 'output.x' }]);
    expect(() => ops.addBlock(more, 'extra')).toThrow(/already exists/);
    expect(ops.removeBlock(more, 'extra').blocks).toEqual(doc.blocks);
  });

  it('undo and redo restore the exact documents, one entry per command, none for no-ops', () => {
    const history = new History();
    const a = emptyGraph();
    const b = history.execute(a, { label: 'Add', apply: (d) => ops.addNode(d, null, 'mlp', { x: 0, y: 0 }).doc });
    const c = history.execute(b, { label: 'Move', apply: (d) => ops.moveNodes(d, null, { mlp: { x: 5, y: 5 } }) });
    expect(
      history.execute(c, { label: 'Nothing', apply: (d) => ops.moveNodes(d, null, { mlp: { x: 5, y: 5 } }) }),
    ).toBe(c);
    expect(history.undoLabel).toBe('Move');
    expect(history.undo()).toBe(b);
    expect(history.undo()).toBe(a);
    expect(history.undo()).toBeNull();
    expect(history.redo()).toBe(b);
    // A new command after undo drops the redo branch.
    history.execute(b, { label: 'Set', apply: (d) => ops.setModel(d, 'd_model', 32) });
    expect(history.redoLabel).toBeNull();
  });

  it('copies a selection as JSON and pastes it with fresh ids, keeping internal wires only', () => {
    const doc = template('gla');
    const fragment = copyFragment(doc, 'block', ['attn_norm', 'attn', 'attn_residual'])!;
    expect(fragment.edges).toEqual([
      { from: 'attn_norm.y', to: 'attn.x' },
      { from: 'attn.y', to: 'attn_residual.b' },
    ]);
    const text = JSON.stringify(fragment);
    expect(parseFragment(text)).toEqual(fragment);
    expect(parseFragment('{"format":"statelab-graph"}')).toBeNull();
    expect(parseFragment('not json')).toBeNull();
    const { doc: pasted, ids } = pasteFragment(doc, 'block', parseFragment(text)!, { x: 100, y: 100 });
    expect(ids).toEqual(['attn_norm_2', 'attn_2', 'attn_residual_2']);
    expect(pasted.blocks!.block.edges).toContainEqual({ from: 'attn_norm_2.y', to: 'attn_2.x' });
    expect(pasted.blocks!.block.edges).toContainEqual({ from: 'attn_2.y', to: 'attn_residual_2.b' });
    expect(pasted.layout?.['block/attn_norm_2']).toEqual({ x: 100, y: 100 });
    // Pasted into another graph's top level, the same fragment keeps its ids there.
    expect(pasteFragment(emptyGraph(), null, fragment, { x: 0, y: 0 }).ids).toEqual([
      'attn_norm',
      'attn',
      'attn_residual',
    ]);
  });

  it('lays out nodes without positions top to bottom along the wires', () => {
    const doc = template('gla');
    const placed = missingPositions(doc, null);
    expect(Object.keys(placed)).toHaveLength(5);
    const ys = ['tokens', 'embeddings', 'layers', 'norm', 'lm_head'].map((id) => placed[id].y);
    expect(ys).toEqual([...ys].sort((a, b) => a - b));
    expect(new Set(ys).size).toBe(5);
  });
});

describe('palette, fields and problems', () => {
  it('puts every catalogue kind in the palette of its scope, mixers by family', () => {
    const top = paletteGroups(null, '').flatMap((g) => g.kinds.map((k) => k.kind));
    const block = paletteGroups('block', '').flatMap((g) => g.kinds.map((k) => k.kind));
    for (const spec of nodeCatalogue().values()) {
      if (spec.scope !== 'block') expect(top, spec.kind).toContain(spec.kind);
      if (spec.scope !== 'top') expect(block, spec.kind).toContain(spec.kind);
    }
    expect(block).not.toContain('tokens');
    expect(top).not.toContain('block.input');
    expect(paletteGroups(null, '').map((g) => g.title)).toContain('Mixers · delta rule');
    expect(paletteGroups(null, 'gated linear').flatMap((g) => g.kinds.map((k) => k.kind))).toContain('mixer.gla');
  });

  it('parses field text by the option spec, refusing what the validator would refuse', () => {
    const eps = { name: 'eps', type: 'float' as const, default: 1e-6, min: 1e-12, max: 1e-2, help: '' };
    expect(parseOption(eps, '0.001')).toEqual({ value: 0.001 });
    expect(parseOption(eps, '5')).toEqual({ error: 'must be at most 0.01' });
    expect(parseOption(eps, 'abc')).toEqual({ error: 'must be a number' });
    const count = { name: 'count', type: 'int' as const, default: 2, min: 1, max: 512, help: '' };
    expect(parseOption(count, '2.5')).toEqual({ error: 'must be a whole number' });
    expect(parseOption(count, ' 3 ')).toEqual({ value: 3 });
  });

  it('locates each validator problem at its node, inside blocks too', () => {
    expect(locate('attn')).toEqual({ block: null, nodeId: 'attn' });
    expect(locate('block:b/attn')).toEqual({ block: 'b', nodeId: 'attn' });
    expect(locate('block:b/edge[2] x.y → attn.x')).toEqual({ block: 'b', nodeId: 'attn' });
    expect(locate('edge[0] a.y → lm_head.x')).toEqual({ block: null, nodeId: 'lm_head' });
    expect(locate('graph')).toEqual({ block: null, nodeId: null });
    expect(locate('block:b')).toEqual({ block: 'b', nodeId: null });

    const doc = template('gla');
    const ok = analyzeGraph(doc);
    expect(ok.errorCount).toBe(0);
    expect(ok.totals!.params).toBeGreaterThan(0);
    expect(ok.figures.get('block/attn')).toMatchObject({ copies: 2 });
    const attnParams = ok.figures.get('block/attn')!.params;
    expect(ok.figures.get('layers')!.params).toBeGreaterThanOrEqual(2 * attnParams);

    const broken = ops.setParam(
      ops.removeItems(doc, 'block', [], [{ from: 'attn_norm.y', to: 'attn.x' }]),
      'block',
      'mlp',
      'hidden',
      -1,
    );
    const bad = analyzeGraph(broken);
    expect(bad.problems.filter((p) => p.severity === 'error').map((p) => [p.block, p.nodeId])).toEqual(
      expect.arrayContaining([
        ['block', 'attn'],
        ['block', 'mlp'],
      ]),
    );
    expect(bad.totals).toBeNull();
  });
});

describe('grouping into a block', () => {
  it('turns a residual chain into a block run by a Repeat node, and the graph stays valid', () => {
    // Unroll: a top level with norm → mixer → add(residual) between the embedding and the final norm.
    let doc = emptyGraph();
    doc = ops.addNode(doc, null, 'norm', { x: 0, y: 100 }).doc; // norm_2
    doc = ops.addNode(doc, null, 'mixer.shortconv', { x: 0, y: 200 }).doc; // shortconv
    doc = ops.addNode(doc, null, 'add', { x: 0, y: 300 }).doc; // add
    for (const [from, to] of [
      ['embeddings.y', 'norm_2.x'],
      ['norm_2.y', 'shortconv.x'],
      ['embeddings.y', 'add.a'],
      ['shortconv.y', 'add.b'],
      ['add.y', 'norm.x'],
    ]) {
      doc = ops.connect(doc, null, from, to);
    }
    expect(analyzeGraph(doc).errorCount).toBe(0);
    const params = analyzeGraph(doc).totals!.params;
    const { doc: grouped, repeatId } = ops.groupIntoBlock(doc, ['norm_2', 'shortconv', 'add'], 'residual');
    expect(grouped.nodes.find((n) => n.id === repeatId)).toEqual({
      id: repeatId,
      kind: 'repeat',
      params: { block: 'residual', count: 1 },
    });
    expect(grouped.edges).toContainEqual({ from: 'embeddings.y', to: `${repeatId}.x` });
    expect(grouped.edges).toContainEqual({ from: `${repeatId}.y`, to: 'norm.x' });
    expect(grouped.blocks!.residual.edges).toEqual(
      expect.arrayContaining([
        { from: 'input.x', to: 'norm_2.x' },
        { from: 'input.x', to: 'add.a' },
        { from: 'add.y', to: 'output.x' },
      ]),
    );
    const after = analyzeGraph(grouped);
    expect(after.problems).toEqual([]);
    expect(after.totals!.params).toBe(params);
    expect(() => ops.groupIntoBlock(doc, ['shortconv', 'add'], 'x')).toThrow(
      /one input: the selection reads norm_2.y, embeddings.y/,
    );
    expect(() => ops.groupIntoBlock(doc, ['lm_head'], 'x')).toThrow(/cannot go inside a block/);
    expect(() => ops.groupIntoBlock(grouped, ['norm'], 'residual')).toThrow(/already exists/);
  });
});
