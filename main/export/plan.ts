// The export plan: a validated graph flattened into what an exporter needs — every node in execution
// order with its wired inputs and a resolved config (defaults filled, widths inferred), per container
// (the top level and each block). Exporters (PyTorch, ONNX) walk this plan; config.json carries it so
// the generated Python builds the same modules in the same order without re-implementing validation.

import type { GraphDoc, ParamValue } from '../../shared/graph/schema.js';
import type { ResolvedNode } from '../../shared/graph/validate.js';
import { compileGraph, GraphCompileError, type CompiledModel } from '../../gpu/graph/compile.js';
import { mlpHiddenWidth } from '../../gpu/graph/builtin-nodes.js';
import { MIXER_PREFIX } from '../../gpu/graph/catalogue.js';
import { ExportError } from './errors.js';
import { supportedMixers, type ExportFormat } from './support.js';

export interface PlanNode {
  id: string;
  /** The graph's node kind: `embedding`, `norm`, `mixer.attention`, `repeat`, … */
  kind: string;
  /** Input port → producing `"node.port"`. */
  inputs: Record<string, string>;
  /** The node's output port, null for `block.output`. */
  output: string | null;
  /** Resolved options; for mixers their own options plus `d_model` (the input width). */
  config: Record<string, ParamValue>;
}

export interface ExportPlan {
  name: string;
  dModel: number;
  vocabSize: number;
  top: PlanNode[];
  blocks: Record<string, PlanNode[]>;
  /** Mixer kinds in first-use order (`attention`, `mamba`, …). */
  mixerKinds: string[];
  /** Whether the LM head shares the embedding's weights. */
  tied: boolean;
  /** Names of parameters that take no weight decay (StateLab's trainer rule), for train.py. */
  noDecay: string[];
  layers: number;
}

/** Where a node lives, as validation names it: `attn` at the top level, `block:block/attn` inside one. */
export function nodeWhere(id: string, block?: string): string {
  return block ? `block:${block}/${id}` : id;
}

function planNode(r: ResolvedNode, vocab: number): PlanNode {
  const kind = r.spec.kind;
  const inputs = Object.fromEntries(Object.entries(r.inputs).map(([port, ref]) => [port, `${ref.node}.${ref.port}`]));
  const output = r.spec.outputs[0]?.name ?? null;
  const width = r.inWidth;
  const outWidth = r.outputs.y?.width ?? width;
  const p = r.params;
  let config: Record<string, ParamValue>;
  switch (kind) {
    case 'embedding':
      config = { num_embeddings: vocab, dim: outWidth };
      break;
    case 'norm':
      config = { width, type: p.type, eps: p.eps };
      break;
    case 'mlp':
      config = { width, hidden: mlpHiddenWidth(width, p.hidden as number), activation: p.activation };
      break;
    case 'linear':
      config = { in_features: width, out_features: outWidth, bias: p.bias };
      break;
    case 'lm_head':
      config = { width, vocab_size: vocab, tied: p.tied };
      break;
    case 'repeat':
      config = { block: p.block, count: p.count };
      break;
    default:
      config = kind.startsWith(MIXER_PREFIX) ? { d_model: width, ...p } : { ...p };
  }
  // o_bias exists for Hugging Face teachers only; the code exporters refuse it when set, and their
  // Attention classes take no such argument, so the plan leaves out its default (false).
  if (kind === `${MIXER_PREFIX}attention` && config.o_bias === false) delete config.o_bias;
  return { id: r.node.id, kind, inputs, output, config };
}

/**
 * Kinds and options that only the HF layout stores: the PyTorch and ONNX writers have no code for them
 * (they arrive with GPT-2 teachers, main/import/).
 */
function beyondCodeExporters(n: PlanNode): string | null {
  if (n.kind === 'ffn') return 'a non-gated MLP';
  if (n.kind === 'position_embedding') return 'learned positions';
  if (n.kind === `${MIXER_PREFIX}attention` && n.config.o_bias === true) return 'attention with o_bias';
  return null;
}

/**
 * Validates and compiles the graph, then flattens it. `format` checks that every mixer is one the
 * format can express; the error names each offending node and the format.
 */
export function buildPlan(doc: GraphDoc, format?: ExportFormat): { plan: ExportPlan; model: CompiledModel } {
  let model: CompiledModel;
  try {
    model = compileGraph(doc);
  } catch (error) {
    if (error instanceof GraphCompileError) throw new ExportError(`cannot export "${doc.name}": ${error.message}`);
    throw error;
  }
  const vocab = doc.model.vocab_size;
  const top = model.graph.order.map((r) => planNode(r, vocab));
  const blocks: Record<string, PlanNode[]> = {};
  for (const [name, order] of model.graph.blocks) blocks[name] = order.map((r) => planNode(r, vocab));

  const mixerKinds: string[] = [];
  const unsupported: string[] = [];
  const allowed = format ? supportedMixers(format) : 'all';
  const visit = (nodes: PlanNode[], block?: string) => {
    for (const n of nodes) {
      const beyond = allowed === 'all' ? null : beyondCodeExporters(n);
      if (beyond) unsupported.push(`node "${nodeWhere(n.id, block)}" (${beyond})`);
      if (!n.kind.startsWith(MIXER_PREFIX)) continue;
      const kind = n.kind.slice(MIXER_PREFIX.length);
      if (!mixerKinds.includes(kind)) mixerKinds.push(kind);
      if (allowed !== 'all' && !allowed.includes(kind)) {
        unsupported.push(`node "${nodeWhere(n.id, block)}" (a ${kind} layer)`);
      }
    }
  };
  // Only blocks that a Repeat node uses are compiled; unused blocks are not exported.
  visit(top);
  for (const n of top) if (n.kind === 'repeat') visit(blocks[String(n.config.block)], String(n.config.block));
  if (unsupported.length) {
    throw new ExportError(
      `the ${format} export cannot express ${unsupported.join(', ')}; ${format} supports: ${(allowed as readonly string[]).join(', ')}`,
    );
  }
  const head = model.graph.output;
  return {
    model,
    plan: {
      name: doc.name,
      dModel: doc.model.d_model,
      vocabSize: vocab,
      top,
      blocks,
      mixerKinds,
      tied: head.params.tied === true,
      noDecay: model.specs.filter((s) => s.noDecay || s.shape.length === 1).map((s) => s.name),
      layers: top.filter((n) => n.kind === 'repeat').reduce((total, n) => total + (n.config.count as number), 0),
    },
  };
}
