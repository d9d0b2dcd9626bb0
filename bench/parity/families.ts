// Tiny graphs, one per exported layer family: the pre-norm residual block of the bundled templates
// (norm → mixer → add → norm → SwiGLU MLP → add) repeated, with a tied LM head. The options exercise each
// family's features (grouped heads and the forget gate for attention, an output projection for minGRU,
// negative eigenvalues for Gated DeltaNet, several heads for the RNNs, RWKV-7's low-rank widths, ParaGRU
// trained by Newton and ParaLSTM sequentially, grouped Mamba-2 heads, linear attention's normalizer, a GLA
// gate normalizer and GSA slot count off their defaults, an HGRN2 forget floor, …). Shared by the parity bench
// and the export tests.

import type { GraphDoc, ParamValue } from '../../shared/graph/schema.js';

export interface FamilyCase {
  /** A name for folders and reports (a Python identifier). */
  name: string;
  kind: string;
  options: Record<string, ParamValue>;
}

export const FAMILY_CASES: FamilyCase[] = [
  { name: 'shortconv', kind: 'shortconv', options: { kernel: 4, bias: true } },
  { name: 'attention', kind: 'attention', options: { num_heads: 4, num_kv_heads: 2, forget_gate: true, window: 12 } },
  { name: 'mingru', kind: 'mingru', options: { expansion: 2 } },
  { name: 'minlstm', kind: 'minlstm', options: {} },
  { name: 'hgrn', kind: 'hgrn', options: { lower_bound: 0.3 } },
  { name: 'mamba', kind: 'mamba', options: { d_state: 8, d_conv: 4, expand: 2 } },
  { name: 'deltanet', kind: 'deltanet', options: { num_heads: 2, use_output_gate: true } },
  { name: 'gated_deltanet', kind: 'gated_deltanet', options: { num_heads: 2, negative_eigenvalues: true } },
  { name: 'deltaproduct', kind: 'deltaproduct', options: { num_heads: 2, num_householder: 2 } },
  { name: 'lstm', kind: 'lstm', options: { heads: 2 } },
  { name: 'gru', kind: 'gru', options: { heads: 2 } },
  { name: 'elman', kind: 'elman', options: { heads: 4 } },
  { name: 'slstm', kind: 'slstm', options: { heads: 2 } },
  { name: 'hawk', kind: 'hawk', options: { num_heads: 2 } },
  { name: 'lru', kind: 'lru', options: { d_state: 16 } },
  { name: 's4d', kind: 's4d', options: { d_state: 8 } },
  {
    name: 'rwkv7',
    kind: 'rwkv7',
    options: { head_dim: 8, decay_low_rank_dim: 8, gate_low_rank_dim: 12, a_low_rank_dim: 4, norm_eps: 1e-4 },
  },
  { name: 'paragru', kind: 'paragru', options: { hidden: 24, mode: 'newton' } },
  { name: 'paralstm', kind: 'paralstm', options: { mode: 'sequential' } },
  {
    name: 'linear_attn',
    kind: 'linear_attn',
    options: { num_heads: 2, feature_map: 'elu', norm_k: true, normalize: true, output_norm: 'rmsnorm' },
  },
  { name: 'retnet', kind: 'retnet', options: { num_heads: 2, expand_k: 1, expand_v: 2, use_output_gate: true } },
  {
    name: 'gla',
    kind: 'gla',
    options: { num_heads: 2, expand_k: 0.5, gate_low_rank_dim: 4, gate_logit_normalizer: 8, use_output_gate: true },
  },
  { name: 'mamba2', kind: 'mamba2', options: { d_state: 8, expand: 2, headdim: 8, ngroups: 2, d_conv: 4 } },
  { name: 'hgrn2', kind: 'hgrn2', options: { expand_ratio: 4, lower_bound: 0.2 } },
  {
    name: 'mlstm',
    kind: 'mlstm',
    options: { num_heads: 2, proj_factor: 2, round_proj_up_to_multiple_of: 8, qkv_proj_blocksize: 4, conv_size: 3 },
  },
  {
    name: 'rwkv6',
    kind: 'rwkv6',
    options: { num_heads: 2, expand_k: 0.5, expand_v: 1, proj_low_rank_dim: 4, gate_low_rank_dim: 8 },
  },
  { name: 'gsa', kind: 'gsa', options: { num_heads: 2, num_slots: 6, feature_map: 'swish', gate_logit_normalizer: 4 } },
];

export function familyGraph(c: FamilyCase, shape: { dModel?: number; vocab?: number; layers?: number } = {}): GraphDoc {
  const { dModel = 32, vocab = 256, layers = 2 } = shape;
  return {
    format: 'statelab-graph',
    version: 2,
    name: `parity ${c.name}`,
    model: { d_model: dModel, vocab_size: vocab },
    nodes: [
      { id: 'tokens', kind: 'tokens' },
      { id: 'embeddings', kind: 'embedding' },
      { id: 'layers', kind: 'repeat', params: { block: 'block', count: layers } },
      { id: 'norm', kind: 'norm' },
      { id: 'lm_head', kind: 'lm_head', params: { tied: true } },
    ],
    edges: [
      { from: 'tokens.ids', to: 'embeddings.ids' },
      { from: 'embeddings.y', to: 'layers.x' },
      { from: 'layers.y', to: 'norm.x' },
      { from: 'norm.y', to: 'lm_head.x' },
    ],
    blocks: {
      block: {
        nodes: [
          { id: 'input', kind: 'block.input' },
          { id: 'attn_norm', kind: 'norm' },
          { id: 'attn', kind: `mixer.${c.kind}`, params: c.options },
          { id: 'attn_residual', kind: 'add' },
          { id: 'mlp_norm', kind: 'norm' },
          { id: 'mlp', kind: 'mlp' },
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
