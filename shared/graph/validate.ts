// Graph validation and shape inference. Every problem names the node (or edge) and the field, and all
// problems are collected at once (a problems panel shows them before anything runs). Checks: unknown
// kinds, parameter types/ranges, ports that do not exist, inputs left dangling or wired twice, port type
// mismatches, cycles, hidden-width mismatches, and blocks used by Repeat nodes.

import { resolveParams, type Catalogue, type NodeKindSpec, type PortType } from './catalogue.js';
import { GraphError, splitPort, type GraphBlock, type GraphDoc, type GraphNode, type ParamValue } from './schema.js';

/** The inferred value on a port: its type and, for hidden sequences, the width; logits carry the vocab. */
export interface PortShape {
  type: PortType;
  width: number;
}

export interface ResolvedNode {
  node: GraphNode;
  spec: NodeKindSpec;
  params: Record<string, ParamValue>;
  /** Input ports → the producing node id and port. */
  inputs: Record<string, { node: string; port: string }>;
  /** Output port shapes. */
  outputs: Record<string, PortShape>;
  /** Width of the hidden input where the node has one. */
  inWidth: number;
}

export interface ResolvedGraph {
  doc: GraphDoc;
  /** Nodes in a valid execution order. */
  order: ResolvedNode[];
  blocks: Map<string, ResolvedGraph['order']>;
  /** The lm_head node. */
  output: ResolvedNode;
}

export interface ValidationResult {
  errors: GraphError[];
  warnings: GraphError[];
  graph: ResolvedGraph | null;
}

/** Hook for layer kinds whose own construction can reject a width (e.g. heads must divide d_model). */
export type WidthCheck = (node: ResolvedNode, width: number) => string | null;

export function validateGraph(doc: GraphDoc, catalogue: Catalogue, checkWidth?: WidthCheck): ValidationResult {
  const errors: GraphError[] = [];
  const warnings: GraphError[] = [];
  const blockOrders = new Map<string, ResolvedNode[]>();
  const blockWidths = new Map<string, number>();

  const attempted = new Set<string>();
  const resolveBlock = (name: string, width: number, where: string): number | null => {
    const block = doc.blocks?.[name];
    if (block) attempted.add(name);
    if (!block) {
      errors.push(
        new GraphError(
          `block "${name}" does not exist (known: ${Object.keys(doc.blocks ?? {}).join(', ') || 'none'})`,
          where,
          'block',
        ),
      );
      return null;
    }
    if (blockWidths.has(name)) return blockWidths.get(name)!;
    const result = resolveContainer(block, `block:${name}/`, 'block', width);
    if (!result) return null;
    blockOrders.set(name, result.order);
    const out = result.order.find((n) => n.spec.kind === 'block.output');
    const outWidth = out ? out.inWidth : null;
    if (outWidth !== null && outWidth !== width) {
      errors.push(
        new GraphError(
          `block "${name}" maps width ${width} to ${outWidth}; a repeated block must keep its width`,
          where,
          'block',
        ),
      );
      return null;
    }
    blockWidths.set(name, width);
    return width;
  };

  const resolveContainer = (container: GraphBlock, prefix: string, scope: 'top' | 'block', blockWidth: number) => {
    const before = errors.length;
    const byId = new Map<string, ResolvedNode>();
    for (const node of container.nodes) {
      const where = `${prefix}${node.id}`;
      if (byId.has(node.id)) {
        errors.push(new GraphError(`node id "${node.id}" is used twice`, where, 'id'));
        continue;
      }
      const spec = catalogue.get(node.kind);
      if (!spec) {
        errors.push(new GraphError(`unknown node kind "${node.kind}"`, where, 'kind'));
        continue;
      }
      if (spec.scope && spec.scope !== scope) {
        errors.push(
          new GraphError(
            `a ${spec.title} node is only allowed ${spec.scope === 'block' ? 'inside a block' : 'at the top level'}`,
            where,
            'kind',
          ),
        );
      }
      const { values, problems } = resolveParams(spec.params, node.params ?? {});
      for (const p of problems) errors.push(new GraphError(p.message, where, `params.${p.field}`));
      byId.set(node.id, { node, spec, params: values, inputs: {}, outputs: {}, inWidth: 0 });
    }
    container.edges.forEach((edge, i) => {
      const where = `${prefix}edge[${i}] ${edge.from} → ${edge.to}`;
      let from, to;
      try {
        from = splitPort(edge.from, where);
        to = splitPort(edge.to, where);
      } catch (error) {
        errors.push(error as GraphError);
        return;
      }
      const source = byId.get(from.node);
      const target = byId.get(to.node);
      if (!source) return void errors.push(new GraphError(`edge starts at unknown node "${from.node}"`, where));
      if (!target) return void errors.push(new GraphError(`edge ends at unknown node "${to.node}"`, where));
      const outPort = source.spec.outputs.find((p) => p.name === from.port);
      const inPort = target.spec.inputs.find((p) => p.name === to.port);
      if (!outPort)
        return void errors.push(
          new GraphError(
            `${source.spec.title} has no output port "${from.port}" (it has: ${source.spec.outputs.map((p) => p.name).join(', ') || 'none'})`,
            `${prefix}${from.node}`,
            from.port,
          ),
        );
      if (!inPort)
        return void errors.push(
          new GraphError(
            `${target.spec.title} has no input port "${to.port}" (it has: ${target.spec.inputs.map((p) => p.name).join(', ') || 'none'})`,
            `${prefix}${to.node}`,
            to.port,
          ),
        );
      if (outPort.type !== inPort.type) {
        return void errors.push(
          new GraphError(
            `type mismatch: ${from.node}.${from.port} gives ${outPort.type}, ${to.node}.${to.port} takes ${inPort.type}`,
            `${prefix}${to.node}`,
            to.port,
          ),
        );
      }
      if (target.inputs[to.port]) {
        return void errors.push(
          new GraphError(
            `input "${to.port}" is connected twice (from ${target.inputs[to.port].node} and ${from.node})`,
            `${prefix}${to.node}`,
            to.port,
          ),
        );
      }
      target.inputs[to.port] = from;
    });
    for (const r of byId.values()) {
      for (const port of r.spec.inputs) {
        if (!r.inputs[port.name])
          errors.push(new GraphError(`input "${port.name}" is not connected`, `${prefix}${r.node.id}`, port.name));
      }
    }
    if (errors.length > before) return null;
    const order = topologicalOrder(byId, prefix, errors);
    if (!order) return null;
    for (const r of order) inferShapes(r, byId, prefix, blockWidth);
    if (errors.length > before) return null;
    return { order, byId };
  };

  const inferShapes = (r: ResolvedNode, byId: Map<string, ResolvedNode>, prefix: string, blockWidth: number) => {
    const where = `${prefix}${r.node.id}`;
    const input = (port: string) => {
      const ref = r.inputs[port];
      return byId.get(ref.node)!.outputs[ref.port];
    };
    if (r.inputs.x) r.inWidth = input('x').width;
    const setHidden = (width: number) => (r.outputs.y = { type: 'hidden', width });
    switch (r.spec.kind) {
      case 'tokens':
        r.outputs.ids = { type: 'tokens', width: doc.model.vocab_size };
        return;
      case 'embedding':
        setHidden((r.params.dim as number) || doc.model.d_model);
        return;
      case 'block.input':
        r.outputs.x = { type: 'hidden', width: blockWidth };
        return;
      case 'block.output':
        return;
      case 'add': {
        const a = input('a').width;
        const b = input('b').width;
        if (a !== b)
          errors.push(new GraphError(`shape mismatch: input a has width ${a}, input b has width ${b}`, where, 'b'));
        setHidden(a);
        return;
      }
      case 'linear':
        setHidden((r.params.out_features as number) || r.inWidth);
        return;
      case 'repeat': {
        const width = resolveBlock(String(r.params.block), r.inWidth, where);
        setHidden(width ?? r.inWidth);
        return;
      }
      case 'lm_head':
        r.outputs.logits = { type: 'logits', width: doc.model.vocab_size };
        return;
      default: {
        const problem = checkWidth?.(r, r.inWidth);
        if (problem) errors.push(new GraphError(problem, where));
        setHidden(r.inWidth);
      }
    }
  };

  const top = resolveContainer({ nodes: doc.nodes, edges: doc.edges }, '', 'top', doc.model.d_model);
  // Blocks the top level never reached (it failed first, or nothing repeats them) are still checked, so
  // every problem is reported at once; they are assumed to take the model width.
  for (const name of Object.keys(doc.blocks ?? {})) {
    if (!attempted.has(name)) resolveBlock(name, doc.model.d_model, `block:${name}`);
  }
  if (!top) return { errors, warnings, graph: null };
  const heads = top.order.filter((r) => r.spec.kind === 'lm_head');
  if (heads.length !== 1) {
    errors.push(new GraphError(`a model needs exactly one LM head (found ${heads.length})`, 'graph'));
    return { errors, warnings, graph: null };
  }
  const output = heads[0];
  if (output.params.tied) {
    const embedding = top.order.find((r) => r.spec.kind === 'embedding');
    if (!embedding)
      errors.push(new GraphError('a tied LM head needs an Embedding node', output.node.id, 'params.tied'));
    else if (embedding.outputs.y.width !== output.inWidth) {
      errors.push(
        new GraphError(
          `a tied LM head needs width ${embedding.outputs.y.width} (the embedding's), got ${output.inWidth}`,
          output.node.id,
          'params.tied',
        ),
      );
    }
  }
  for (const r of top.order) {
    if (r !== output && !reaches(r.node.id, output.node.id, top.order)) {
      warnings.push(new GraphError('does not contribute to the output', r.node.id));
    }
  }
  const used = new Set(top.order.filter((r) => r.spec.kind === 'repeat').map((r) => String(r.params.block)));
  for (const name of Object.keys(doc.blocks ?? {})) {
    if (!used.has(name)) warnings.push(new GraphError(`block "${name}" is never used`, `block:${name}`));
  }
  if (errors.length) return { errors, warnings, graph: null };
  return { errors, warnings, graph: { doc, order: top.order, blocks: blockOrders, output } };
}

function topologicalOrder(
  byId: Map<string, ResolvedNode>,
  prefix: string,
  errors: GraphError[],
): ResolvedNode[] | null {
  const indegree = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const r of byId.values()) {
    indegree.set(r.node.id, Object.keys(r.inputs).length);
    for (const ref of Object.values(r.inputs)) users.set(ref.node, [...(users.get(ref.node) ?? []), r.node.id]);
  }
  // Kahn's algorithm in declaration order, so the order (and parameter naming) is deterministic.
  const ready = [...byId.keys()].filter((id) => indegree.get(id) === 0);
  const order: ResolvedNode[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    order.push(byId.get(id)!);
    for (const user of users.get(id) ?? []) {
      indegree.set(user, indegree.get(user)! - 1);
      if (indegree.get(user) === 0) ready.push(user);
    }
  }
  if (order.length < byId.size) {
    const stuck = [...byId.keys()].filter((id) => indegree.get(id)! > 0);
    errors.push(new GraphError(`the graph has a cycle through ${stuck.join(' → ')}`, `${prefix}${stuck[0]}`));
    return null;
  }
  return order;
}

function reaches(from: string, to: string, order: ResolvedNode[]): boolean {
  const consumers = new Map<string, string[]>();
  for (const r of order)
    for (const ref of Object.values(r.inputs)) consumers.set(ref.node, [...(consumers.get(ref.node) ?? []), r.node.id]);
  const stack = [from];
  const seen = new Set<string>();
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(consumers.get(id) ?? []));
  }
  return false;
}
