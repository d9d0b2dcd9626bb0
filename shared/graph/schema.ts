// The architecture graph as saved on disk: versioned, diffable JSON. Semantics only (kinds, params,
// edges, blocks); canvas layout lives in the optional `layout` map so moving a node never changes what
// the model is (the ComfyUI lesson of keeping layout apart from the "API format").

export const GRAPH_FORMAT = 'statelab-graph';
export const GRAPH_VERSION = 2;

export type ParamValue = number | string | boolean;

export interface GraphNode {
  /** Unique within its graph or block; also the parameter-name segment (`layers.3.<id>.q_proj.weight`). */
  id: string;
  kind: string;
  params?: Record<string, ParamValue>;
  label?: string;
}

/** `"node.port"` strings: readable in diffs and in error messages. */
export interface GraphEdge {
  from: string;
  to: string;
}

/** A reusable named sub-graph with one hidden input and one hidden output (e.g. a residual block). */
export interface GraphBlock {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphDoc {
  format: typeof GRAPH_FORMAT;
  version: number;
  name: string;
  description?: string;
  /** Model-wide settings every node can inherit (d_model, vocab_size). */
  model: { d_model: number; vocab_size: number };
  nodes: GraphNode[];
  edges: GraphEdge[];
  blocks?: Record<string, GraphBlock>;
  /** Canvas positions by node id (and `block/node` inside blocks); ignored by the compiler. */
  layout?: Record<string, { x: number; y: number }>;
}

export class GraphError extends Error {
  constructor(
    message: string,
    /** Where: a node id (`mixer`, `block:block/attn`), `edge[3]`, or a JSON path. */
    readonly where: string,
    readonly field?: string,
  ) {
    super(`${where}${field ? ` (${field})` : ''}: ${message}`);
    this.name = 'GraphError';
  }
}

export function splitPort(ref: string, where: string): { node: string; port: string } {
  const dot = ref.lastIndexOf('.');
  if (typeof ref !== 'string' || dot <= 0 || dot === ref.length - 1) {
    throw new GraphError(`"${ref}" is not of the form "node.port"`, where);
  }
  return { node: ref.slice(0, dot), port: ref.slice(dot + 1) };
}
