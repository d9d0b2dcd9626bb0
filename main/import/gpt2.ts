// GPT-2 (transformers' GPT2LMHeadModel) → StateLab: learned absolute positions, LayerNorm pre-norm
// blocks of attention without RoPE but with biases, and a non-gated MLP with biases. GPT-2's
// projections are Conv1D modules whose weight is [in, out] (y = x·W + b), the transpose of a Linear's
// [out, in], and c_attn packs q, k and v side by side: its columns are split, then each part transposed.

import type { TensorMap } from '../host/runs/checkpoint-file.js';
import { checkArchitectures, refuseUnsupportedFields, type Teacher } from './architecture.js';
import { decoderGraph } from './graph.js';
import type { HfFolder } from './hf-folder.js';
import { checkTiedCopy, columns, HfTensors, transpose } from './tensors.js';

/** transformers' ACT2FN names → the ffn node's activation. */
const ACTIVATIONS: Record<string, string> = {
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu: 'gelu',
  relu: 'relu',
};

export function gpt2Teacher(folder: HfFolder): Teacher {
  const c = folder.config;
  checkArchitectures(c, ['GPT2LMHeadModel', 'GPT2Model']);
  refuseUnsupportedFields(c);
  const d = c.int('n_embd');
  const vocab = c.int('vocab_size');
  const layers = c.int('n_layer');
  const heads = c.int('n_head');
  if (d % heads !== 0) c.fail('n_head', `${heads} must divide n_embd ${d}`);
  const positions = c.int('n_positions', 1024);
  const hidden = c.int('n_inner', 4 * d);
  const act = c.string('activation_function', 'gelu_new');
  c.refuse(
    'activation_function',
    (v) => typeof v === 'string' && v in ACTIVATIONS,
    `importable: ${Object.keys(ACTIVATIONS).join(', ')}`,
  );
  c.refuse('scale_attn_weights', (v) => v === true, 'attention scores are scaled by 1/√head_dim');
  c.refuse('scale_attn_by_inverse_layer_idx', (v) => v === false, 'no per-layer score scaling is imported');
  const eps = c.positive('layer_norm_epsilon', 1e-5);
  const tied = c.bool('tie_word_embeddings', true);

  const graph = decoderGraph({
    name: 'GPT-2 teacher',
    description: `Imported from ${folder.dir} (model_type gpt2).`,
    dModel: d,
    vocab,
    layers,
    norm: { type: 'layer', eps },
    attention: { num_heads: heads, rope_theta: 0, qkv_bias: true, o_bias: true },
    mlp: { kind: 'ffn', params: { activation: ACTIVATIONS[act], hidden, bias: true } },
    positions,
    tied,
  });

  // GPT2LMHeadModel saves its body under "transformer."; a bare GPT2Model (the original hub files) does not.
  const prefix = folder.tensors.has('transformer.wte.weight') ? 'transformer.' : '';
  const t = new HfTensors(folder.weightsSource, folder.tensors, `a gpt2 model with this config.json`);
  // Older checkpoints carry the causal mask as buffers (attn.bias, attn.masked_bias): nothing to learn.
  t.skip((name) => /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/.test(name));
  const params: TensorMap = new Map();
  const set = (to: string, shape: number[], data: Float32Array) => params.set(to, { shape, data });
  const copy = (to: string, from: string, shape: number[]) => set(to, shape, t.take(`${prefix}${from}`, shape));
  const norm = (to: string, from: string) => {
    copy(`${to}.weight`, `${from}.weight`, [d]);
    copy(`${to}.bias`, `${from}.bias`, [d]);
  };
  copy('embeddings.weight', 'wte.weight', [vocab, d]);
  copy('positions.weight', 'wpe.weight', [positions, d]);
  for (let i = 0; i < layers; i++) {
    const hf = `h.${i}`;
    const sl = `layers.${i}`;
    norm(`${sl}.attn_norm`, `${hf}.ln_1`);
    const qkv = t.take(`${prefix}${hf}.attn.c_attn.weight`, [d, 3 * d]);
    const qkvBias = t.take(`${prefix}${hf}.attn.c_attn.bias`, [3 * d]);
    ['q_proj', 'k_proj', 'v_proj'].forEach((name, part) => {
      set(`${sl}.attn.${name}.weight`, [d, d], transpose(columns(qkv, d, 3 * d, part * d, d), d, d));
      set(`${sl}.attn.${name}.bias`, [d], qkvBias.slice(part * d, (part + 1) * d));
    });
    set(`${sl}.attn.o_proj.weight`, [d, d], transpose(t.take(`${prefix}${hf}.attn.c_proj.weight`, [d, d]), d, d));
    copy(`${sl}.attn.o_proj.bias`, `${hf}.attn.c_proj.bias`, [d]);
    norm(`${sl}.mlp_norm`, `${hf}.ln_2`);
    set(
      `${sl}.mlp.up_proj.weight`,
      [hidden, d],
      transpose(t.take(`${prefix}${hf}.mlp.c_fc.weight`, [d, hidden]), d, hidden),
    );
    copy(`${sl}.mlp.up_proj.bias`, `${hf}.mlp.c_fc.bias`, [hidden]);
    set(
      `${sl}.mlp.down_proj.weight`,
      [d, hidden],
      transpose(t.take(`${prefix}${hf}.mlp.c_proj.weight`, [hidden, d]), hidden, d),
    );
    copy(`${sl}.mlp.down_proj.bias`, `${hf}.mlp.c_proj.bias`, [d]);
  }
  norm('norm', 'ln_f');
  // The head sits outside "transformer." in GPT2LMHeadModel.
  if (!tied) set('lm_head.weight', [vocab, d], t.take('lm_head.weight', [vocab, d]));
  else checkTiedCopy(t, 'lm_head.weight', params.get('embeddings.weight')!.data, [vocab, d]);
  t.finish();
  return { modelType: 'gpt2', graph, params, maxPositions: positions };
}
