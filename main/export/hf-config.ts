// config.json in the Hugging Face layout: the fields transformers' config loader reads (model_type,
// architectures, vocab_size, hidden_size, num_hidden_layers, tie_word_embeddings, torch_dtype), plus the
// StateLab graph itself and the export plan, so the folder alone rebuilds the model (in StateLab by
// import, in PyTorch through the generated model.py). Also a byte-level tokenizer.json for byte runs.

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

/**
 * GPT-2's byte → printable character map (bytes_to_unicode), which the tokenizers library's ByteLevel
 * pre-tokenizer applies; a BPE with one token per mapped byte and no merges then gives id = byte value,
 * exactly StateLab's byte tokenizer.
 */
function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const chars: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) chars.push(String.fromCodePoint(printable(b) ? b : 256 + next++));
  return chars;
}

export function byteTokenizerJson(): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(bytesToUnicode().map((c, b) => [c, b])),
      merges: [],
    },
  };
}
