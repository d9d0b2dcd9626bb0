// Writes assets/templates/*.json: one valid graph per seed architecture. Run with
// `npx tsx scripts/make-templates.ts` after changing a template; the JSON files are committed (they are
// what users open), and tests/graph/templates.test.ts checks every one validates and trains.

import { mkdirSync, writeFileSync } from 'node:fs';
import { serializeGraph } from '../shared/graph/parse.js';
import type { GraphBlock, GraphDoc, GraphEdge, GraphNode, ParamValue } from '../shared/graph/schema.js';

type Layer = { mixer: string; params?: Record<string, ParamValue>; mlp?: boolean };

/** A block of pre-norm residual sub-layers: [norm → mixer → +] then optionally [norm → MLP → +], per layer. */
function residualBlock(layers: Layer[]): GraphBlock {
  const nodes: GraphNode[] = [{ id: 'input', kind: 'block.input' }];
  const edges: GraphEdge[] = [];
  let current = 'input.x';
  const suffix = (i: number) => (layers.length > 1 ? `_${i}` : '');
  const sublayer = (normId: string, bodyId: string, body: GraphNode, resId: string) => {
    nodes.push({ id: normId, kind: 'norm' }, body, { id: resId, kind: 'add' });
    edges.push(
      { from: current, to: `${normId}.x` },
      { from: `${normId}.y`, to: `${bodyId}.x` },
      { from: current, to: `${resId}.a` },
      { from: `${bodyId}.y`, to: `${resId}.b` },
    );
    current = `${resId}.y`;
  };
  layers.forEach((layer, i) => {
    sublayer(
      `attn_norm${suffix(i)}`,
      `attn${suffix(i)}`,
      { id: `attn${suffix(i)}`, kind: `mixer.${layer.mixer}`, ...(layer.params ? { params: layer.params } : {}) },
      `attn_residual${suffix(i)}`,
    );
    if (layer.mlp !== false)
      sublayer(
        `mlp_norm${suffix(i)}`,
        `mlp${suffix(i)}`,
        { id: `mlp${suffix(i)}`, kind: 'mlp' },
        `mlp_residual${suffix(i)}`,
      );
  });
  nodes.push({ id: 'output', kind: 'block.output' });
  edges.push({ from: current, to: 'output.x' });
  return { nodes, edges };
}

function languageModel(name: string, description: string, layers: Layer[], repeats: number, dModel = 64): GraphDoc {
  return {
    format: 'statelab-graph',
    version: 2,
    name,
    description,
    model: { d_model: dModel, vocab_size: 256 },
    nodes: [
      { id: 'tokens', kind: 'tokens' },
      { id: 'embeddings', kind: 'embedding' },
      { id: 'layers', kind: 'repeat', params: { block: 'block', count: repeats } },
      { id: 'norm', kind: 'norm' },
      { id: 'lm_head', kind: 'lm_head', params: { tied: true } },
    ],
    edges: [
      { from: 'tokens.ids', to: 'embeddings.ids' },
      { from: 'embeddings.y', to: 'layers.x' },
      { from: 'layers.y', to: 'norm.x' },
      { from: 'norm.y', to: 'lm_head.x' },
    ],
    blocks: { block: residualBlock(layers) },
  };
}

// Small defaults (d_model 64): templates are starting points a user scales up in the inspector.
export const TEMPLATES: Record<string, GraphDoc> = {
  'short-conv': languageModel(
    'Short-convolution LM',
    'Local mixing only: a depthwise causal convolution over the last 4 tokens and a SwiGLU MLP per block (the tiny model as a graph).',
    [{ mixer: 'shortconv' }],
    2,
  ),
  lstm: languageModel(
    'LSTM LM',
    'Classic LSTM language model (fused sequential kernel).',
    [{ mixer: 'lstm', mlp: false }],
    2,
  ),
  gru: languageModel('GRU LM', 'GRU language model (fused sequential kernel).', [{ mixer: 'gru', mlp: false }], 2),
  mingru: languageModel(
    'minGRU LM',
    'minGRU (Were RNNs All We Needed?): gates from the input only, log-space parallel scan.',
    [{ mixer: 'mingru' }],
    2,
  ),
  hgrn: languageModel('HGRN', 'Hierarchically gated linear RNN with forget-gate lower bounds.', [{ mixer: 'hgrn' }], 2),
  hgrn2: languageModel('HGRN2', 'HGRN2: state expansion through the GLA kernel.', [{ mixer: 'hgrn2' }], 2),
  gla: languageModel('GLA', 'Gated linear attention with data-dependent per-channel decay.', [{ mixer: 'gla' }], 2),
  retnet: languageModel('RetNet', 'Retention: fixed per-head decay.', [{ mixer: 'retnet' }], 2),
  mamba: languageModel(
    'Mamba',
    'Mamba-1 selective SSM blocks (no separate MLP, as in the paper).',
    [{ mixer: 'mamba', mlp: false }],
    2,
  ),
  mamba2: languageModel('Mamba-2', 'Mamba-2 / SSD: scalar per-head decay.', [{ mixer: 'mamba2', mlp: false }], 2),
  hawk: languageModel('Hawk', 'Hawk: RG-LRU recurrent blocks with gated MLPs.', [{ mixer: 'hawk' }], 2),
  griffin: languageModel(
    'Griffin',
    'Griffin hybrid: two RG-LRU blocks, then one local-attention block.',
    [{ mixer: 'hawk' }, { mixer: 'hawk' }, { mixer: 'attention', params: { window: 64 } }],
    1,
  ),
  xlstm: languageModel(
    'xLSTM',
    'xLSTM: an mLSTM block followed by an sLSTM block.',
    [{ mixer: 'mlstm' }, { mixer: 'slstm' }],
    1,
  ),
  deltanet: languageModel('DeltaNet', 'Linear attention with the delta rule.', [{ mixer: 'deltanet' }], 2),
  'gated-deltanet': languageModel(
    'Gated DeltaNet',
    'Delta rule with a scalar decay gate.',
    [{ mixer: 'gated_deltanet' }],
    2,
  ),
  rwkv7: languageModel(
    'RWKV-7',
    'RWKV-7: the generalized delta rule with token shift, and the value residual (every layer after the first mixes in the values v of the first, as in the paper).',
    [{ mixer: 'rwkv7', params: { value_residual: 'on' } }],
    2,
  ),
  llama: languageModel(
    'Llama-style Transformer',
    'Pre-norm Transformer with RoPE attention and SwiGLU: the teacher for distillation.',
    [{ mixer: 'attention' }],
    2,
  ),
  'hybrid-50': languageModel(
    '50% attention hybrid',
    'Alternating Gated DeltaNet and attention layers.',
    [{ mixer: 'gated_deltanet' }, { mixer: 'attention' }],
    1,
  ),
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = new URL('../assets/templates/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  for (const [name, doc] of Object.entries(TEMPLATES)) writeFileSync(new URL(`${name}.json`, dir), serializeGraph(doc));
  console.log(`wrote ${Object.keys(TEMPLATES).length} templates`);
}
