// Tiny random Hugging Face model folders, generated in the tests: config.json as transformers writes it,
// model.safetensors with transformers' tensor names and layouts (written by the repo's safetensors
// writer), and a tokenizer.json. Weights are drawn large enough (std 0.3–0.5) that every nonlinearity,
// RoPE angle and bias visibly changes the logits.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randn } from '../../gpu/cpu/tensor.js';
import { encodeSafetensors } from '../../shared/formats/safetensors.js';
import { trainBpe } from '../../shared/tokenizers/index.js';

export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

export type HfTensors = Map<string, HfTensor>;

export type Json = Record<string, unknown>;

let seed = 1000;
/** Normal(mean, std) values of a shape, rounded to float32 (what the file stores). */
function normal(shape: number[], std: number, mean = 0): HfTensor {
  const t = randn(shape, seed++, std);
  return { shape, data: Float32Array.from(t.data, (v) => v + mean) };
}

export const LLAMA_CONFIG: Json = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 61,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  hidden_act: 'silu',
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  // A small base turns every frequency pair by a visible angle within a few tokens.
  rope_theta: 50,
  rope_scaling: null,
  attention_bias: false,
  attention_dropout: 0,
  mlp_bias: false,
  pretraining_tp: 1,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  initializer_range: 0.02,
  torch_dtype: 'float32',
  transformers_version: '4.46.0',
  use_cache: true,
};

/** LlamaForCausalLM's state dict for `config` (GQA from num_key_value_heads, head from tie_word_embeddings). */
export function llamaTensors(config: Json): HfTensors {
  const d = config.hidden_size as number;
  const V = config.vocab_size as number;
  const H = config.num_attention_heads as number;
  const G = (config.num_key_value_heads as number) ?? H;
  const D = (config.head_dim as number) ?? d / H;
  const I = config.intermediate_size as number;
  const bias = config.attention_bias === true;
  const t: HfTensors = new Map();
  t.set('model.embed_tokens.weight', normal([V, d], 0.5));
  for (let i = 0; i < (config.num_hidden_layers as number); i++) {
    const p = `model.layers.${i}`;
    t.set(`${p}.input_layernorm.weight`, normal([d], 0.2, 1));
    const sizes: [string, number, number][] = [
      ['q_proj', H * D, d],
      ['k_proj', G * D, d],
      ['v_proj', G * D, d],
      ['o_proj', d, H * D],
    ];
    for (const [name, out, inp] of sizes) {
      t.set(`${p}.self_attn.${name}.weight`, normal([out, inp], 0.4 / Math.sqrt(inp / 8)));
      if (bias) t.set(`${p}.self_attn.${name}.bias`, normal([out], 0.3));
    }
    t.set(`${p}.post_attention_layernorm.weight`, normal([d], 0.2, 1));
    t.set(`${p}.mlp.gate_proj.weight`, normal([I, d], 0.3));
    t.set(`${p}.mlp.up_proj.weight`, normal([I, d], 0.3));
    t.set(`${p}.mlp.down_proj.weight`, normal([d, I], 0.3));
  }
  t.set('model.norm.weight', normal([d], 0.2, 1));
  if (config.tie_word_embeddings !== true) t.set('lm_head.weight', normal([V, d], 0.5));
  return t;
}

export const GPT2_CONFIG: Json = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  activation_function: 'gelu_new',
  vocab_size: 300,
  n_positions: 40,
  n_ctx: 40,
  n_embd: 24,
  n_head: 3,
  n_layer: 2,
  n_inner: null,
  layer_norm_epsilon: 1e-5,
  resid_pdrop: 0.1,
  embd_pdrop: 0.1,
  attn_pdrop: 0.1,
  scale_attn_weights: true,
  scale_attn_by_inverse_layer_idx: false,
  reorder_and_upcast_attn: false,
  summary_type: 'cls_index',
  bos_token_id: 299,
  eos_token_id: 299,
  initializer_range: 0.02,
  torch_dtype: 'float32',
  transformers_version: '4.46.0',
  use_cache: true,
};

/** GPT2LMHeadModel's state dict: Conv1D weights [in, out], body under "transformer.", tied head left out. */
export function gpt2Tensors(config: Json, { prefix = 'transformer.', maskBuffers = false } = {}): HfTensors {
  const d = config.n_embd as number;
  const V = config.vocab_size as number;
  const P = config.n_positions as number;
  const I = (config.n_inner as number | null) ?? 4 * d;
  const t: HfTensors = new Map();
  t.set(`${prefix}wte.weight`, normal([V, d], 0.5));
  t.set(`${prefix}wpe.weight`, normal([P, d], 0.5));
  for (let i = 0; i < (config.n_layer as number); i++) {
    const p = `${prefix}h.${i}`;
    t.set(`${p}.ln_1.weight`, normal([d], 0.2, 1));
    t.set(`${p}.ln_1.bias`, normal([d], 0.2));
    t.set(`${p}.attn.c_attn.weight`, normal([d, 3 * d], 0.3));
    t.set(`${p}.attn.c_attn.bias`, normal([3 * d], 0.3));
    t.set(`${p}.attn.c_proj.weight`, normal([d, d], 0.3));
    t.set(`${p}.attn.c_proj.bias`, normal([d], 0.3));
    if (maskBuffers) {
      // The causal mask buffer old checkpoints carry: lower-triangular ones [1, 1, P, P].
      const mask = new Float32Array(P * P).map((_, k) => (k % P <= Math.floor(k / P) ? 1 : 0));
      t.set(`${p}.attn.bias`, { shape: [1, 1, P, P], data: mask });
    }
    t.set(`${p}.ln_2.weight`, normal([d], 0.2, 1));
    t.set(`${p}.ln_2.bias`, normal([d], 0.2));
    t.set(`${p}.mlp.c_fc.weight`, normal([d, I], 0.3));
    t.set(`${p}.mlp.c_fc.bias`, normal([I], 0.3));
    t.set(`${p}.mlp.c_proj.weight`, normal([I, d], 0.3));
    t.set(`${p}.mlp.c_proj.bias`, normal([d], 0.3));
  }
  t.set(`${prefix}ln_f.weight`, normal([d], 0.2, 1));
  t.set(`${prefix}ln_f.bias`, normal([d], 0.2));
  if (config.tie_word_embeddings === false) t.set('lm_head.weight', normal([V, d], 0.5));
  return t;
}

/** Writes config.json, model.safetensors (F32) and, when given, tokenizer.json. */
export function writeHfFolder(dir: string, config: Json, tensors: HfTensors, tokenizer?: unknown): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const entries = [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(entries, { format: 'pt' }));
  if (tokenizer !== undefined) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  return dir;
}

const CORPUS = [
  'The lighthouse keeper climbed the stairs at dusk, as he had every evening for thirty years.',
  'Below him the sea rolled against the rocks; above him the lamp waited to be lit.',
  'He trimmed the wick, wound the clockwork and watched the beam sweep the water.',
];

/** A GPT-2-style byte-level BPE tokenizer.json with `vocab` ids (the last one <|endoftext|>). */
export async function byteLevelTokenizer(vocab: number): Promise<unknown> {
  const tokenizer = await trainBpe(CORPUS, { vocabSize: vocab, specials: ['<|endoftext|>'], minFrequency: 1 });
  return tokenizer.toJSON();
}

/** What transformers writes for a Llama-2 (SentencePiece) tokenizer: BPE with byte fallback. */
export function sentencePieceTokenizer(vocab: number): unknown {
  const pieces: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let i = 3; i < vocab; i++) pieces[`▁t${i}`] = i;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: pieces,
      merges: [],
    },
  };
}
