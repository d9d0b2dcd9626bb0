// Reading a graph file: JSON errors with their position, format/version checks, and migrations from
// older versions (each migration is a pure function from version n to n+1).

import { GRAPH_FORMAT, GRAPH_VERSION, GraphError, type GraphDoc } from './schema.js';

type Json = Record<string, unknown>;

/** Version 1 kept d_model/vocab_size at the top level and edges as [fromNode, fromPort, toNode, toPort]. */
function migrate1to2(doc: Json): Json {
  const edgeList = (edges: unknown) =>
    Array.isArray(edges)
      ? edges.map((e) => (Array.isArray(e) && e.length === 4 ? { from: `${e[0]}.${e[1]}`, to: `${e[2]}.${e[3]}` } : e))
      : edges;
  const blocks = doc.blocks as Record<string, Json> | undefined;
  const { d_model, vocab_size, ...rest } = doc;
  return {
    ...rest,
    version: 2,
    model: { d_model, vocab_size },
    edges: edgeList(doc.edges),
    blocks: blocks
      ? Object.fromEntries(Object.entries(blocks).map(([name, b]) => [name, { ...b, edges: edgeList(b.edges) }]))
      : undefined,
  };
}

const MIGRATIONS: Record<number, (doc: Json) => Json> = { 1: migrate1to2 };

export function parseGraph(text: string, source = 'graph'): GraphDoc {
  let raw: unknown;
  try {
    // A byte-order mark (Windows editors write one) is not part of the JSON.
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const detail = (error as Error).message;
    const truncated = /end of (JSON )?input|Unterminated/i.test(detail) ? ' (the file looks truncated)' : '';
    throw new GraphError(`malformed JSON${truncated}: ${detail}`, source);
  }
  return upgradeGraph(raw, source);
}

export function upgradeGraph(raw: unknown, source = 'graph'): GraphDoc {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new GraphError('a graph must be a JSON object', source);
  let doc = raw as Json;
  if (doc.format !== GRAPH_FORMAT) {
    throw new GraphError(`"format" must be "${GRAPH_FORMAT}" (got ${JSON.stringify(doc.format)})`, source, 'format');
  }
  let version = doc.version;
  if (!Number.isInteger(version) || (version as number) < 1) {
    throw new GraphError(`"version" must be a positive integer (got ${JSON.stringify(version)})`, source, 'version');
  }
  if ((version as number) > GRAPH_VERSION) {
    throw new GraphError(
      `version ${version} is newer than this StateLab understands (${GRAPH_VERSION}); update StateLab`,
      source,
      'version',
    );
  }
  while ((version as number) < GRAPH_VERSION) {
    doc = MIGRATIONS[version as number](doc);
    version = doc.version;
  }
  checkShape(doc, source);
  return doc as unknown as GraphDoc;
}

function checkShape(doc: Json, source: string): void {
  const fail = (field: string, why: string) => {
    throw new GraphError(why, source, field);
  };
  if (typeof doc.name !== 'string' || !doc.name) fail('name', 'the graph needs a non-empty "name"');
  const model = doc.model as Json | undefined;
  if (!model || typeof model !== 'object') fail('model', '"model" must be an object with d_model and vocab_size');
  for (const key of ['d_model', 'vocab_size']) {
    const v = model![key];
    if (!Number.isInteger(v) || (v as number) < 1)
      fail(`model.${key}`, `must be a positive integer (got ${JSON.stringify(v)})`);
  }
  checkNodesAndEdges(doc, source, '');
  if (doc.blocks !== undefined) {
    if (!doc.blocks || typeof doc.blocks !== 'object' || Array.isArray(doc.blocks))
      fail('blocks', '"blocks" must be an object');
    for (const [name, block] of Object.entries(doc.blocks as Json)) {
      if (!block || typeof block !== 'object') fail(`blocks.${name}`, 'a block must be an object with nodes and edges');
      checkNodesAndEdges(block as Json, source, `blocks.${name}.`);
    }
  }
}

function checkNodesAndEdges(container: Json, source: string, path: string): void {
  if (!Array.isArray(container.nodes)) throw new GraphError('"nodes" must be an array', source, `${path}nodes`);
  if (!Array.isArray(container.edges)) throw new GraphError('"edges" must be an array', source, `${path}edges`);
  container.nodes.forEach((node: unknown, i: number) => {
    const n = node as Json;
    if (!n || typeof n !== 'object') throw new GraphError('a node must be an object', source, `${path}nodes[${i}]`);
    if (typeof n.id !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n.id)) {
      throw new GraphError(
        `node id ${JSON.stringify(n.id)} must be an identifier (letters, digits, _)`,
        source,
        `${path}nodes[${i}].id`,
      );
    }
    if (typeof n.kind !== 'string') throw new GraphError('node needs a "kind"', source, `${path}nodes[${i}].kind`);
    if (n.params !== undefined && (typeof n.params !== 'object' || Array.isArray(n.params) || n.params === null)) {
      throw new GraphError('"params" must be an object', source, `${path}nodes[${i}].params`);
    }
  });
  container.edges.forEach((edge: unknown, i: number) => {
    const e = edge as Json;
    if (!e || typeof e.from !== 'string' || typeof e.to !== 'string') {
      throw new GraphError(
        'an edge needs "from" and "to" strings of the form "node.port"',
        source,
        `${path}edges[${i}]`,
      );
    }
  });
}

/** Stable, pretty JSON for saving (keys in a fixed order so diffs stay small). */
export function serializeGraph(doc: GraphDoc): string {
  const ordered = {
    format: doc.format,
    version: doc.version,
    name: doc.name,
    ...(doc.description ? { description: doc.description } : {}),
    model: doc.model,
    nodes: doc.nodes,
    edges: doc.edges,
    ...(doc.blocks ? { blocks: doc.blocks } : {}),
    ...(doc.layout ? { layout: doc.layout } : {}),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
