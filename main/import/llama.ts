// Llama (transformers' LlamaForCausalLM) → StateLab: RMSNorm pre-norm blocks of RoPE attention with
// grouped KV heads and a SwiGLU MLP. HF checkpoints store q/k rows in the rotate_half layout (the
// conversion from Meta's interleaved weights already permuted them), which is StateLab's RoPE pairing
// (f, f + D/2), so every tensor is copied as it is; the float64 reference in tests/import applies HF's
// rotate_half to the raw weights and holds the imported model to it.

import type { TensorMap } from '../host/runs/checkpoint-file.js';
import { checkArchitectures, refuseUnsupportedFields, type Teacher } from './architecture.js';
import type { ConfigReader } from './config.js';
import { decoderGraph } from './graph.js';
import type { HfFolder } from './hf-folder.js';
import { checkTiedCopy, HfTensors } from './tensors.js';

/** transformers ≥ 5 keeps RoPE settings in rope_parameters, earlier versions in rope_theta + rope_scaling. */
function ropeTheta(c: ConfigReader): number {
  const plain = (v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
    const r = v as Record<string, unknown>;
    return (r.rope_type ?? r.type ?? 'default') === 'default';
  };
  const why = 'StateLab imports plain RoPE (rope_type "default") only';
  c.refuse('rope_scaling', plain, why);
  c.refuse('rope_parameters', plain, why);
  const parameters = c.value('rope_parameters') as { rope_theta?: unknown } | null | undefined;
  if (parameters && parameters.rope_theta !== undefined) {
    const theta = parameters.rope_theta;
    if (typeof theta !== 'number' || !(theta > 1))
      c.fail('rope_parameters.rope_theta', `must be > 1 (got ${JSON.stringify(theta)})`);
    return theta;
  }
  const theta = c.positive('rope_theta', 10000);
  if (theta <= 1) c.fail('rope_theta', `must be greater than 1 (got ${theta})`);
  return theta;
}

export function llamaTeacher(folder: HfFolder): Teacher {
  const c = folder.config;
  checkArchitectures(c, ['LlamaForCausalLM']);
  refuseUnsupportedFields(c);
  const d = c.int('hidden_size');
  const vocab = c.int('vocab_size');
  const layers = c.int('num_hidden_layers');
  const heads = c.int('num_attention_heads');
  const kvHeads = c.int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) c.fail('num_key_value_heads', `${kvHeads} must divide num_attention_heads ${heads}`);
  if (!c.has('head_dim') && d % heads !== 0)
    c.fail('num_attention_heads', `${heads} must divide hidden_size ${d} (or the config must give head_dim)`);
  const headDim = c.int('head_dim', d / heads);
  const hidden = c.int('intermediate_size');
  const act = c.string('hidden_act', 'silu');
  c.refuse('hidden_act', (v) => v === 'silu' || v === 'gelu', 'the gated MLP takes silu (SwiGLU) or gelu (GeGLU)');
  c.refuse('mlp_bias', (v) => v === false, 'Llama MLPs are imported without biases');
  c.refuse('partial_rotary_factor', (v) => v === 1, 'RoPE over the whole head only');
  const bias = c.bool('attention_bias', false);
  const tied = c.bool('tie_word_embeddings', false);
  const eps = c.positive('rms_norm_eps', 1e-6);
  const theta = ropeTheta(c);
  const maxPositions = c.int('max_position_embeddings', 2048);

  const graph = decoderGraph({
    name: 'Llama teacher',
    description: `Imported from ${folder.dir} (model_type llama).`,
    dModel: d,
    vocab,
    layers,
    norm: { type: 'rms', eps },
    attention: {
      num_heads: heads,
      num_kv_heads: kvHeads,
      head_dim: headDim,
      rope_theta: theta,
      qkv_bias: bias,
      o_bias: bias,
    },
    mlp: { kind: 'mlp', params: { activation: act === 'gelu' ? 'geglu' : 'swiglu', hidden } },
    tied,
  });

  const t = new HfTensors(folder.weightsSource, folder.tensors, `a llama model with this config.json`);
  t.skip((name) => /\.rotary_emb\.inv_freq$/.test(name));
  const params: TensorMap = new Map();
  const copy = (to: string, from: string, shape: number[]) => params.set(to, { shape, data: t.take(from, shape) });
  copy('embeddings.weight', 'model.embed_tokens.weight', [vocab, d]);
  for (let i = 0; i < layers; i++) {
    const hf = `model.layers.${i}`;
    const sl = `layers.${i}`;
    copy(`${sl}.attn_norm.weight`, `${hf}.input_layernorm.weight`, [d]);
    const projections: [string, number, number][] = [
      ['q_proj', heads * headDim, d],
      ['k_proj', kvHeads * headDim, d],
      ['v_proj', kvHeads * headDim, d],
      ['o_proj', d, heads * headDim],
    ];
    for (const [name, out, inp] of projections) {
      copy(`${sl}.attn.${name}.weight`, `${hf}.self_attn.${name}.weight`, [out, inp]);
      if (bias) copy(`${sl}.attn.${name}.bias`, `${hf}.self_attn.${name}.bias`, [out]);
    }
    copy(`${sl}.mlp_norm.weight`, `${hf}.post_attention_layernorm.weight`, [d]);
    copy(`${sl}.mlp.gate_proj.weight`, `${hf}.mlp.gate_proj.weight`, [hidden, d]);
    copy(`${sl}.mlp.up_proj.weight`, `${hf}.mlp.up_proj.weight`, [hidden, d]);
    copy(`${sl}.mlp.down_proj.weight`, `${hf}.mlp.down_proj.weight`, [d, hidden]);
  }
  copy('norm.weight', 'model.norm.weight', [d]);
  if (!tied) copy('lm_head.weight', 'lm_head.weight', [vocab, d]);
  else checkTiedCopy(t, 'lm_head.weight', params.get('embeddings.weight')!.data, [vocab, d]);
  t.finish();
  return { modelType: 'llama', graph, params, maxPositions };
}
