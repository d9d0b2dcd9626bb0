// Copy/paste as JSON: a fragment is a selection of nodes with the edges between them and their relative
// positions. Pasting gives every node a fresh id (edges follow), so a fragment can go into the same
// graph, another block or another window's graph. Edges to nodes outside the selection are dropped.

import type { GraphDoc, GraphEdge, GraphNode } from '../../../shared/graph/schema';
import { container, freshId, layoutKey, nodeOf, portOf, withContainer, type BlockRef, type Point } from './doc-ops';

export const FRAGMENT_FORMAT = 'statelab-graph-fragment';

export interface GraphFragment {
  format: typeof FRAGMENT_FORMAT;
  version: 1;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Positions relative to the fragment's top-left node. */
  layout: Record<string, Point>;
}

export function copyFragment(doc: GraphDoc, block: BlockRef, ids: string[]): GraphFragment | null {
  const c = container(doc, block);
  const chosen = new Set(ids);
  const nodes = c.nodes.filter((n) => chosen.has(n.id));
  if (!nodes.length) return null;
  const positions = nodes.map((n) => doc.layout?.[layoutKey(block, n.id)] ?? { x: 0, y: 0 });
  const minX = Math.min(...positions.map((p) => p.x));
  const minY = Math.min(...positions.map((p) => p.y));
  return {
    format: FRAGMENT_FORMAT,
    version: 1,
    nodes: structuredClone(nodes),
    edges: c.edges.filter((e) => chosen.has(nodeOf(e.from)) && chosen.has(nodeOf(e.to))).map((e) => ({ ...e })),
    layout: Object.fromEntries(nodes.map((n, i) => [n.id, { x: positions[i].x - minX, y: positions[i].y - minY }])),
  };
}

/** Reads a fragment from clipboard text; null when the text is not one (so a paste can ignore it). */
export function parseFragment(text: string): GraphFragment | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const f = raw as Partial<GraphFragment> | null;
  if (!f || f.format !== FRAGMENT_FORMAT || !Array.isArray(f.nodes) || !Array.isArray(f.edges)) return null;
  const nodesOk = f.nodes.every((n) => n && typeof n.id === 'string' && typeof n.kind === 'string');
  const edgesOk = f.edges.every((e) => e && typeof e.from === 'string' && typeof e.to === 'string');
  return nodesOk && edgesOk ? ({ ...f, layout: f.layout ?? {} } as GraphFragment) : null;
}

/** Inserts a fragment with its top-left node at `at`; returns the new document and the new node ids. */
export function pasteFragment(
  doc: GraphDoc,
  block: BlockRef,
  fragment: GraphFragment,
  at: Point,
): { doc: GraphDoc; ids: string[] } {
  const c = container(doc, block);
  const taken = c.nodes.map((n) => n.id);
  const rename = new Map<string, string>();
  for (const node of fragment.nodes) {
    const id = freshId(taken, node.id);
    taken.push(id);
    rename.set(node.id, id);
  }
  const remap = (ref: string) => `${rename.get(nodeOf(ref))}.${portOf(ref)}`;
  const nodes = fragment.nodes.map((n) => ({ ...structuredClone(n), id: rename.get(n.id)! }));
  const edges = fragment.edges
    .filter((e) => rename.has(nodeOf(e.from)) && rename.has(nodeOf(e.to)))
    .map((e) => ({ from: remap(e.from), to: remap(e.to) }));
  const layout = { ...doc.layout };
  for (const node of fragment.nodes) {
    const offset = fragment.layout[node.id] ?? { x: 0, y: 0 };
    layout[layoutKey(block, rename.get(node.id)!)] = { x: Math.round(at.x + offset.x), y: Math.round(at.y + offset.y) };
  }
  const next = withContainer(doc, block, { nodes: [...c.nodes, ...nodes], edges: [...c.edges, ...edges] }, layout);
  return { doc: next, ids: nodes.map((n) => n.id) };
}
