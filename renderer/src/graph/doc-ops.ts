// Pure edits of a graph document. Each takes a document and returns a new one (the input is never
// mutated), so the history can keep both sides of every command and undo is just "put the old one back".
// `block` names the container being edited: null for the top level, or a block under `blocks`.

import type { GraphBlock, GraphDoc, GraphEdge, GraphNode, ParamValue } from '../../../shared/graph/schema';

export type BlockRef = string | null;
export type Point = { x: number; y: number };

const NODE_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isNodeId(id: string): boolean {
  return NODE_ID.test(id);
}

export function container(doc: GraphDoc, block: BlockRef): GraphBlock {
  if (block === null) return { nodes: doc.nodes, edges: doc.edges };
  const found = doc.blocks?.[block];
  if (!found) throw new Error(`the graph has no block "${block}"`);
  return found;
}

/** Replaces one container's nodes/edges (and optionally the layout) in a copy of the document. */
export function withContainer(doc: GraphDoc, block: BlockRef, next: GraphBlock, layout = doc.layout): GraphDoc {
  const out: GraphDoc = { ...doc, layout };
  if (block === null) return { ...out, nodes: next.nodes, edges: next.edges };
  return { ...out, blocks: { ...doc.blocks, [block]: next } };
}

export function layoutKey(block: BlockRef, id: string): string {
  return block === null ? id : `${block}/${id}`;
}

export function nodePosition(doc: GraphDoc, block: BlockRef, id: string): Point | undefined {
  return doc.layout?.[layoutKey(block, id)];
}

/** `mixer.gla` → `gla`, `block.input` → `input`, then `gla_2`, `gla_3`, … until the id is free. */
export function freshId(taken: Iterable<string>, base: string): string {
  const used = new Set(taken);
  let stem = base
    .split('.')
    .pop()!
    .replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(stem)) stem = `n_${stem}`;
  if (!used.has(stem)) return stem;
  for (let n = 2; ; n++) if (!used.has(`${stem}_${n}`)) return `${stem}_${n}`;
}

export function nodeOf(ref: string): string {
  return ref.slice(0, ref.lastIndexOf('.'));
}

export function portOf(ref: string): string {
  return ref.slice(ref.lastIndexOf('.') + 1);
}

export function addNode(
  doc: GraphDoc,
  block: BlockRef,
  kind: string,
  at: Point,
  params?: Record<string, ParamValue>,
): { doc: GraphDoc; id: string } {
  const c = container(doc, block);
  const id = freshId(
    c.nodes.map((n) => n.id),
    kind,
  );
  const node: GraphNode = { id, kind, ...(params && Object.keys(params).length ? { params } : {}) };
  const layout = { ...doc.layout, [layoutKey(block, id)]: round(at) };
  return { doc: withContainer(doc, block, { nodes: [...c.nodes, node], edges: c.edges }, layout), id };
}

/** Removes nodes (with every edge touching them and their positions) and the given edges. */
export function removeItems(doc: GraphDoc, block: BlockRef, nodeIds: string[], edges: GraphEdge[] = []): GraphDoc {
  const c = container(doc, block);
  const gone = new Set(nodeIds);
  const cut = new Set(edges.map(edgeKey));
  const layout = { ...doc.layout };
  for (const id of nodeIds) delete layout[layoutKey(block, id)];
  return withContainer(
    doc,
    block,
    {
      nodes: c.nodes.filter((n) => !gone.has(n.id)),
      edges: c.edges.filter((e) => !gone.has(nodeOf(e.from)) && !gone.has(nodeOf(e.to)) && !cut.has(edgeKey(e))),
    },
    layout,
  );
}

export function edgeKey(edge: GraphEdge): string {
  return `${edge.from}->${edge.to}`;
}

/** An input takes one wire: connecting replaces whatever fed `to` before. */
export function connect(doc: GraphDoc, block: BlockRef, from: string, to: string): GraphDoc {
  const c = container(doc, block);
  if (c.edges.some((e) => e.from === from && e.to === to)) return doc;
  return withContainer(doc, block, { nodes: c.nodes, edges: [...c.edges.filter((e) => e.to !== to), { from, to }] });
}

/** Sets one parameter; `undefined` removes it (the kind's default applies). */
export function setParam(
  doc: GraphDoc,
  block: BlockRef,
  nodeId: string,
  name: string,
  value: ParamValue | undefined,
): GraphDoc {
  const c = container(doc, block);
  const nodes = c.nodes.map((n) => {
    if (n.id !== nodeId) return n;
    const params = { ...n.params };
    if (value === undefined) delete params[name];
    else params[name] = value;
    const { params: _old, ...rest } = n;
    return Object.keys(params).length ? { ...rest, params } : rest;
  });
  return withContainer(doc, block, { nodes, edges: c.edges });
}

/** Renames a node, rewriting its edges and its position key (and Repeat references when a block is renamed). */
export function renameNode(doc: GraphDoc, block: BlockRef, from: string, to: string): GraphDoc {
  const c = container(doc, block);
  if (from === to) return doc;
  if (!isNodeId(to))
    throw new Error(`"${to}" is not a valid node id (letters, digits and _; not starting with a digit)`);
  if (c.nodes.some((n) => n.id === to)) throw new Error(`a node "${to}" already exists here`);
  const swap = (ref: string) => (nodeOf(ref) === from ? `${to}.${portOf(ref)}` : ref);
  const layout = { ...doc.layout };
  const old = layout[layoutKey(block, from)];
  delete layout[layoutKey(block, from)];
  if (old) layout[layoutKey(block, to)] = old;
  return withContainer(
    doc,
    block,
    {
      nodes: c.nodes.map((n) => (n.id === from ? { ...n, id: to } : n)),
      edges: c.edges.map((e) => ({ from: swap(e.from), to: swap(e.to) })),
    },
    layout,
  );
}

export function moveNodes(doc: GraphDoc, block: BlockRef, positions: Record<string, Point>): GraphDoc {
  const layout = { ...doc.layout };
  let changed = false;
  for (const [id, p] of Object.entries(positions)) {
    const key = layoutKey(block, id);
    const next = round(p);
    if (layout[key]?.x !== next.x || layout[key]?.y !== next.y) {
      layout[key] = next;
      changed = true;
    }
  }
  return changed ? { ...doc, layout } : doc;
}

export function setModel(doc: GraphDoc, key: 'd_model' | 'vocab_size', value: number): GraphDoc {
  return doc.model[key] === value ? doc : { ...doc, model: { ...doc.model, [key]: value } };
}

export function setInfo(doc: GraphDoc, key: 'name' | 'description', value: string): GraphDoc {
  if ((doc[key] ?? '') === value) return doc;
  if (key === 'description' && !value) {
    const { description: _d, ...rest } = doc;
    return rest;
  }
  return { ...doc, [key]: value };
}

/** A new block with its input wired straight to its output (a block must have both). */
export function addBlock(doc: GraphDoc, name: string): GraphDoc {
  if (!isNodeId(name)) throw new Error(`"${name}" is not a valid block name (letters, digits and _)`);
  if (doc.blocks?.[name]) throw new Error(`a block "${name}" already exists`);
  const block: GraphBlock = {
    nodes: [
      { id: 'input', kind: 'block.input' },
      { id: 'output', kind: 'block.output' },
    ],
    edges: [{ from: 'input.x', to: 'output.x' }],
  };
  const layout = { ...doc.layout, [`${name}/input`]: { x: 0, y: 0 }, [`${name}/output`]: { x: 480, y: 0 } };
  return { ...doc, blocks: { ...doc.blocks, [name]: block }, layout };
}

/** Removes a block (and its positions); Repeat nodes that used it are left for the validator to flag. */
export function removeBlock(doc: GraphDoc, name: string): GraphDoc {
  if (!doc.blocks?.[name]) return doc;
  const { [name]: _gone, ...blocks } = doc.blocks;
  const layout = Object.fromEntries(Object.entries(doc.layout ?? {}).filter(([k]) => !k.startsWith(`${name}/`)));
  const out: GraphDoc = { ...doc, layout };
  if (Object.keys(blocks).length) out.blocks = blocks;
  else delete out.blocks;
  return out;
}

function round(p: Point): Point {
  return { x: Math.round(p.x), y: Math.round(p.y) };
}

/**
 * Moves top-level nodes into a new block and puts a Repeat node (count 1) in their place. The selection
 * must read one hidden sequence from outside (one source, any number of its ports' consumers inside) and
 * hand one output port to the rest of the graph, like a residual block does.
 */
export function groupIntoBlock(doc: GraphDoc, ids: string[], name: string): { doc: GraphDoc; repeatId: string } {
  if (!isNodeId(name)) throw new Error(`"${name}" is not a valid block name (letters, digits and _)`);
  if (doc.blocks?.[name]) throw new Error(`a block "${name}" already exists`);
  const chosen = new Set(ids);
  const nodes = doc.nodes.filter((n) => chosen.has(n.id));
  if (!nodes.length) throw new Error('select the nodes to group first');
  const topOnly = nodes.filter((n) => ['tokens', 'repeat', 'lm_head'].includes(n.kind));
  if (topOnly.length) throw new Error(`${topOnly.map((n) => n.id).join(', ')} cannot go inside a block`);
  const inside = (ref: string) => chosen.has(nodeOf(ref));
  const incoming = doc.edges.filter((e) => !inside(e.from) && inside(e.to));
  const outgoing = doc.edges.filter((e) => inside(e.from) && !inside(e.to));
  const sources = [...new Set(incoming.map((e) => e.from))];
  const outputs = [...new Set(outgoing.map((e) => e.from))];
  if (sources.length !== 1) {
    throw new Error(
      `a block takes one input: the selection reads ${sources.length ? sources.join(', ') : 'nothing'} from outside`,
    );
  }
  if (outputs.length !== 1) {
    throw new Error(
      `a block gives one output: the selection feeds the graph from ${outputs.length ? outputs.join(', ') : 'nothing'}`,
    );
  }
  const repeatId = freshId(
    doc.nodes.filter((n) => !chosen.has(n.id)).map((n) => n.id),
    name,
  );
  const block: GraphBlock = {
    nodes: [{ id: 'input', kind: 'block.input' }, ...nodes, { id: 'output', kind: 'block.output' }],
    edges: [
      ...doc.edges.filter((e) => inside(e.from) && inside(e.to)),
      ...incoming.map((e) => ({ from: 'input.x', to: e.to })),
      { from: outputs[0], to: 'output.x' },
    ],
  };
  if (nodes.some((n) => n.id === 'input' || n.id === 'output')) {
    throw new Error('rename the nodes called "input" or "output" first: a block uses those ids');
  }
  const positions = nodes.map((n) => doc.layout?.[n.id] ?? { x: 0, y: 0 });
  const minY = Math.min(...positions.map((p) => p.y));
  const maxY = Math.max(...positions.map((p) => p.y));
  const meanX = positions.reduce((s, p) => s + p.x, 0) / positions.length;
  const layout: Record<string, Point> = {};
  for (const [key, p] of Object.entries(doc.layout ?? {})) if (!chosen.has(key)) layout[key] = p;
  nodes.forEach((n, i) => (layout[`${name}/${n.id}`] = positions[i]));
  layout[`${name}/input`] = round({ x: meanX, y: minY - 140 });
  layout[`${name}/output`] = round({ x: meanX, y: maxY + 140 });
  layout[repeatId] = round({ x: meanX, y: minY });
  const out: GraphDoc = {
    ...doc,
    nodes: [
      ...doc.nodes.filter((n) => !chosen.has(n.id)),
      { id: repeatId, kind: 'repeat', params: { block: name, count: 1 } },
    ],
    edges: [
      ...doc.edges.filter((e) => !inside(e.from) && !inside(e.to)),
      { from: sources[0], to: `${repeatId}.x` },
      ...outgoing.map((e) => ({ from: `${repeatId}.y`, to: e.to })),
    ],
    blocks: { ...doc.blocks, [name]: block },
    layout,
  };
  return { doc: out, repeatId };
}
