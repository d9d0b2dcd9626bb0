// Positions for nodes that have none (templates and hand-written files carry no layout): a layered
// left-to-right layout where a node's column is the length of the longest path reaching it, so every
// wire points rightwards. Nodes that already have a position keep it.

import type { GraphDoc } from '../../../shared/graph/schema';
import { container, layoutKey, nodeOf, type BlockRef, type Point } from './doc-ops';

export const COLUMN_WIDTH = 230;
export const ROW_HEIGHT = 140;

export function missingPositions(doc: GraphDoc, block: BlockRef): Record<string, Point> {
  const c = container(doc, block);
  const missing = c.nodes.filter((n) => !doc.layout?.[layoutKey(block, n.id)]);
  if (!missing.length) return {};
  const column = new Map<string, number>(c.nodes.map((n) => [n.id, 0]));
  // Longest-path layering by relaxation; a cycle (invalid, but possible while editing) stops after n rounds.
  for (let round = 0; round < c.nodes.length; round++) {
    let changed = false;
    for (const e of c.edges) {
      const from = column.get(nodeOf(e.from));
      const to = column.get(nodeOf(e.to));
      if (from !== undefined && to !== undefined && to < from + 1) {
        column.set(nodeOf(e.to), from + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const used = new Map<number, number>();
  const placed: Record<string, Point> = {};
  const baseY = existingBottom(doc, block, missing.length < c.nodes.length);
  for (const node of c.nodes) {
    const layer = column.get(node.id)!;
    const slot = used.get(layer) ?? 0;
    used.set(layer, slot + 1);
    if (!doc.layout?.[layoutKey(block, node.id)]) {
      placed[node.id] = { x: slot * COLUMN_WIDTH, y: baseY + layer * ROW_HEIGHT };
    }
  }
  return placed;
}

/** New nodes go below the ones already placed, so they never land on top of them. */
function existingBottom(doc: GraphDoc, block: BlockRef, someExist: boolean): number {
  if (!someExist) return 0;
  const ys = container(doc, block)
    .nodes.map((n) => doc.layout?.[layoutKey(block, n.id)]?.y)
    .filter((y): y is number => y !== undefined);
  return Math.max(...ys) + ROW_HEIGHT * 1.5;
}
