// The bridge from the graph document to what Vue Flow draws: one card per node with a handle per port
// (ids `in:<port>` / `out:<port>`), one wire per edge, typed so colours and compatibility follow the
// port types of the catalogue.

import type { NodeKindSpec, PortType } from '../../../shared/graph/catalogue';
import type { GraphDoc, GraphEdge } from '../../../shared/graph/schema';
import type { Analysis, Figures } from './analysis';
import { container, edgeKey, layoutKey, nodeOf, portOf, type BlockRef } from './doc-ops';
import { kindSpec } from './palette';

export interface CardData {
  kind: string;
  spec: NodeKindSpec | undefined;
  params: Record<string, number | string | boolean>;
  errors: string[];
  warnings: string[];
  figures: Figures | undefined;
}

export interface FlowNode {
  id: string;
  type: 'lab';
  position: { x: number; y: number };
  data: CardData;
  selected: boolean;
}

export interface FlowEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle: string;
  targetHandle: string;
  class: string;
  selected: boolean;
  data: GraphEdge;
}

export const inHandle = (port: string) => `in:${port}`;
export const outHandle = (port: string) => `out:${port}`;

export function flowNodes(doc: GraphDoc, block: BlockRef, analysis: Analysis, selection: string[]): FlowNode[] {
  const chosen = new Set(selection);
  const problems = analysis.problems.filter((p) => p.block === block && p.nodeId !== null);
  return container(doc, block).nodes.map((node) => {
    const mine = problems.filter((p) => p.nodeId === node.id);
    return {
      id: node.id,
      type: 'lab',
      position: doc.layout?.[layoutKey(block, node.id)] ?? { x: 0, y: 0 },
      selected: chosen.has(node.id),
      data: {
        kind: node.kind,
        spec: kindSpec(node.kind),
        params: node.params ?? {},
        errors: mine.filter((p) => p.severity === 'error').map((p) => p.message),
        warnings: mine.filter((p) => p.severity === 'warning').map((p) => p.message),
        figures: analysis.figures.get(layoutKey(block, node.id)),
      },
    };
  });
}

export function flowEdges(doc: GraphDoc, block: BlockRef, selected: GraphEdge[]): FlowEdge[] {
  const chosen = new Set(selected.map(edgeKey));
  const c = container(doc, block);
  const kinds = new Map(c.nodes.map((n) => [n.id, n.kind]));
  return c.edges.map((edge) => {
    const type = portType(kinds.get(nodeOf(edge.from)), 'out', portOf(edge.from));
    return {
      id: edgeKey(edge),
      source: nodeOf(edge.from),
      target: nodeOf(edge.to),
      sourceHandle: outHandle(portOf(edge.from)),
      targetHandle: inHandle(portOf(edge.to)),
      class: `wire wire-${type ?? 'unknown'}`,
      selected: chosen.has(edgeKey(edge)),
      data: edge,
    };
  });
}

export function portType(kind: string | undefined, side: 'in' | 'out', port: string): PortType | undefined {
  const spec = kind ? kindSpec(kind) : undefined;
  return (side === 'in' ? spec?.inputs : spec?.outputs)?.find((p) => p.name === port)?.type;
}

/** The port type behind a Vue Flow handle of a node (`in:x`, `out:y`). */
export function handleType(doc: GraphDoc, block: BlockRef, nodeId: string, handle: string | null | undefined) {
  if (!handle) return undefined;
  const kind = container(doc, block).nodes.find((n) => n.id === nodeId)?.kind;
  const [side, port] = handle.split(':') as ['in' | 'out', string];
  return portType(kind, side, port);
}
