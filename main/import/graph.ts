// The StateLab graph of a pre-norm decoder-only Transformer, the shape both Llama and GPT-2 have:
// embedding (+ learned positions) → N × [x + attn(norm(x)); x + mlp(norm(x))] → norm → LM head.
// Node ids are those of the bundled Llama template (assets/templates/llama.json), so an imported teacher
// has the parameter names a StateLab-trained one has (layers.3.attn.q_proj.weight, …) and the weight
// transfer to a student reads both the same way.

import { GRAPH_FORMAT, GRAPH_VERSION, type GraphDoc, type ParamValue } from '../../shared/graph/schema.js';

export interface DecoderSpec {
  name: string;
  description: string;
  dModel: number;
  vocab: number;
  layers: number;
  norm: { type: 'rms' | 'layer'; eps: number };
  /** Options of the mixer.attention node. */
  attention: Record<string, ParamValue>;
  /** The MLP node: gated (`mlp`, Llama) or not (`ffn`, GPT-2). */
  mlp: { kind: 'mlp' | 'ffn'; params: Record<string, ParamValue> };
  /** Learned absolute positions (GPT-2's wpe) covering this many tokens; absent for RoPE models. */
  positions?: number;
  tied: boolean;
}

export function decoderGraph(s: DecoderSpec): GraphDoc {
  const norm = { type: s.norm.type, eps: s.norm.eps };
  const top = ['embeddings', ...(s.positions ? ['positions'] : []), 'layers', 'norm', 'lm_head'];
  return {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    name: s.name,
    description: s.description,
    model: { d_model: s.dModel, vocab_size: s.vocab },
    nodes: [
      { id: 'tokens', kind: 'tokens' },
      { id: 'embeddings', kind: 'embedding' },
      ...(s.positions ? [{ id: 'positions', kind: 'position_embedding', params: { max_positions: s.positions } }] : []),
      { id: 'layers', kind: 'repeat', params: { block: 'block', count: s.layers } },
      { id: 'norm', kind: 'norm', params: norm },
      { id: 'lm_head', kind: 'lm_head', params: { tied: s.tied } },
    ],
    edges: [
      { from: 'tokens.ids', to: 'embeddings.ids' },
      ...top.slice(1).map((id, i) => ({ from: `${top[i]}.y`, to: `${id}.x` })),
    ],
    blocks: {
      block: {
        nodes: [
          { id: 'input', kind: 'block.input' },
          { id: 'attn_norm', kind: 'norm', params: norm },
          { id: 'attn', kind: 'mixer.attention', params: s.attention },
          { id: 'attn_residual', kind: 'add' },
          { id: 'mlp_norm', kind: 'norm', params: norm },
          { id: 'mlp', kind: s.mlp.kind, params: s.mlp.params },
          { id: 'mlp_residual', kind: 'add' },
          { id: 'output', kind: 'block.output' },
        ],
        edges: [
          { from: 'input.x', to: 'attn_norm.x' },
          { from: 'attn_norm.y', to: 'attn.x' },
          { from: 'input.x', to: 'attn_residual.a' },
          { from: 'attn.y', to: 'attn_residual.b' },
          { from: 'attn_residual.y', to: 'mlp_norm.x' },
          { from: 'mlp_norm.y', to: 'mlp.x' },
          { from: 'attn_residual.y', to: 'mlp_residual.a' },
          { from: 'mlp.y', to: 'mlp_residual.b' },
          { from: 'mlp_residual.y', to: 'output.x' },
        ],
      },
    },
  };
}
