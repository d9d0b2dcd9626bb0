// config.json in the Hugging Face layout: the fields transformers' config loader reads (model_type,
// architectures, vocab_size, hidden_size, num_hidden_layers, tie_word_embeddings, torch_dtype), plus the
// StateLab graph itself and the export plan, so the folder alone rebuilds the model (in StateLab by
// import, in PyTorch through the generated model.py).

import { createRequire } from 'node:module';
import type { GraphDoc } from '../../shared/graph/schema.js';
import type { ExportPlan } from './plan.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export const HF_MODEL_TYPE = 'statelab';
export const HF_ARCHITECTURE = 'StateLabForCausalLM';

export interface StateLabHfConfig {
  architectures: string[];
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  tie_word_embeddings: boolean;
  torch_dtype: 'float32';
  statelab_version: string;
  statelab_source?: { run?: string; step?: number };
  statelab_mixers: string[];
  statelab_no_decay: string[];
  statelab_plan: { top: ExportPlan['top']; blocks: ExportPlan['blocks'] };
  statelab_graph: GraphDoc;
}

export function hfConfigJson(
  plan: ExportPlan,
  graph: GraphDoc,
  origin?: { run?: string; step?: number },
): StateLabHfConfig {
  return {
    architectures: [HF_ARCHITECTURE],
    model_type: HF_MODEL_TYPE,
    vocab_size: plan.vocabSize,
    hidden_size: plan.dModel,
    num_hidden_layers: plan.layers,
    tie_word_embeddings: plan.tied,
    torch_dtype: 'float32',
    statelab_version: VERSION,
    ...(origin ? { statelab_source: origin } : {}),
    statelab_mixers: plan.mixerKinds,
    statelab_no_decay: plan.noDecay,
    statelab_plan: { top: plan.top, blocks: plan.blocks },
    statelab_graph: graph,
  };
}
