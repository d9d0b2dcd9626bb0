// Float64 references of the two Hugging Face models, written from transformers' modeling code
// (modeling_llama.py, modeling_gpt2.py) over the raw HF tensors — their names, their layouts (GPT-2's
// Conv1D [in, out] weights and packed c_attn), rotate_half RoPE, repeat_kv — with no StateLab code, so
// the imported model is held to what Hugging Face computes, not to StateLab's own idea of it.

import type { HfTensors, Json } from './hf-fixtures.js';

type Matrix = Float64Array[]; // rows

function get(t: HfTensors, name: string): Float32Array {
  const tensor = t.get(name);
  if (!tensor) throw new Error(`reference: no tensor "${name}"`);
  return tensor.data;
}

/** nn.Linear: x [T, in] · Wᵀ (W [out, in]) + b. */
function linear(x: Matrix, w: Float32Array, out: number, b?: Float32Array): Matrix {
  const inp = w.length / out;
  return x.map((row) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < inp; i++) acc += w[o * inp + i] * row[i];
      y[o] = acc;
    }
    return y;
  });
}

/** GPT-2's Conv1D: x [T, in] · W (W [in, out]) + b. */
function conv1d(x: Matrix, w: Float32Array, out: number, b: Float32Array): Matrix {
  const inp = w.length / out;
  return x.map((row) => {
    const y = Float64Array.from(b);
    for (let i = 0; i < inp; i++) for (let o = 0; o < out; o++) y[o] += row[i] * w[i * out + o];
    return y;
  });
}

const addRows = (a: Matrix, b: Matrix): Matrix => a.map((r, t) => r.map((v, i) => v + b[t][i]));

function rmsNorm(x: Matrix, w: Float32Array, eps: number): Matrix {
  return x.map((row) => {
    const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
    return row.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]);
  });
}

function layerNorm(x: Matrix, w: Float32Array, b: Float32Array, eps: number): Matrix {
  return x.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * w[i] + b[i]);
  });
}

/**
 * Causal softmax attention of H query heads over G key/value heads (query head h reads kv head
 * ⌊h / (H/G)⌋, transformers' repeat_kv), scores scaled by 1/√D. q [T, H·D], k and v [T, G·D].
 */
function causalAttention(q: Matrix, k: Matrix, v: Matrix, H: number, G: number, D: number): Matrix {
  const T = q.length;
  const out: Matrix = q.map(() => new Float64Array(H * D));
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / G));
    for (let i = 0; i < T; i++) {
      const scores = new Float64Array(i + 1);
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let e = 0; e < D; e++) s += q[i][h * D + e] * k[j][g * D + e];
        scores[j] = s / Math.sqrt(D);
      }
      const max = Math.max(...scores);
      const p = scores.map((s) => Math.exp(s - max));
      const sum = p.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) for (let e = 0; e < D; e++) out[i][h * D + e] += (p[j] / sum) * v[j][g * D + e];
    }
  }
  return out;
}

/**
 * apply_rotary_pos_emb: x·cos + rotate_half(x)·sin per head, with inv_freq_j = θ^(−2j/D), the angles
 * repeated over both halves (emb = cat(freqs, freqs)) and rotate_half(x) = cat(−x[D/2:], x[:D/2]).
 */
function rope(x: Matrix, heads: number, D: number, theta: number): Matrix {
  return x.map((row, t) => {
    const y = new Float64Array(row.length);
    for (let h = 0; h < heads; h++) {
      const o = h * D;
      for (let e = 0; e < D; e++) {
        const j = e % (D / 2);
        const angle = t * Math.pow(theta, (-2 * j) / D);
        const rotated = e < D / 2 ? -row[o + e + D / 2] : row[o + e - D / 2];
        y[o + e] = row[o + e] * Math.cos(angle) + rotated * Math.sin(angle);
      }
    }
    return y;
  });
}

const silu = (x: number) => x / (1 + Math.exp(-x));
/** erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}
/** transformers' ACT2FN: gelu_new is the tanh approximation, gelu the exact (erf) one. */
const GPT2_ACTIVATIONS: Record<string, (x: number) => number> = {
  gelu_new: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
};

function logitsOf(h: Matrix, head: Float32Array, V: number): Float64Array {
  const d = h[0].length;
  const out = new Float64Array(h.length * V);
  h.forEach((row, t) => {
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let i = 0; i < d; i++) acc += row[i] * head[v * d + i];
      out[t * V + v] = acc;
    }
  });
  return out;
}

/** LlamaForCausalLM's logits [T, V] for one sequence of ids. */
export function llamaReference(config: Json, t: HfTensors, ids: number[]): Float64Array {
  const d = config.hidden_size as number;
  const V = config.vocab_size as number;
  const H = config.num_attention_heads as number;
  const G = (config.num_key_value_heads as number) ?? H;
  const D = (config.head_dim as number) ?? d / H;
  const I = config.intermediate_size as number;
  const eps = config.rms_norm_eps as number;
  const theta = (config.rope_theta as number) ?? 10000;
  const bias = config.attention_bias === true;
  const embed = get(t, 'model.embed_tokens.weight');
  let h: Matrix = ids.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d)));
  for (let i = 0; i < (config.num_hidden_layers as number); i++) {
    const p = `model.layers.${i}`;
    const b = (name: string) => (bias ? get(t, `${p}.self_attn.${name}.bias`) : undefined);
    const x = rmsNorm(h, get(t, `${p}.input_layernorm.weight`), eps);
    const q = rope(linear(x, get(t, `${p}.self_attn.q_proj.weight`), H * D, b('q_proj')), H, D, theta);
    const k = rope(linear(x, get(t, `${p}.self_attn.k_proj.weight`), G * D, b('k_proj')), G, D, theta);
    const v = linear(x, get(t, `${p}.self_attn.v_proj.weight`), G * D, b('v_proj'));
    const o = causalAttention(q, k, v, H, G, D);
    h = addRows(h, linear(o, get(t, `${p}.self_attn.o_proj.weight`), d, b('o_proj')));
    const y = rmsNorm(h, get(t, `${p}.post_attention_layernorm.weight`), eps);
    const gate = linear(y, get(t, `${p}.mlp.gate_proj.weight`), I);
    const up = linear(y, get(t, `${p}.mlp.up_proj.weight`), I);
    const act = gate.map((r, s) => r.map((g, j) => silu(g) * up[s][j]));
    h = addRows(h, linear(act, get(t, `${p}.mlp.down_proj.weight`), d));
  }
  h = rmsNorm(h, get(t, 'model.norm.weight'), eps);
  const tied = config.tie_word_embeddings === true;
  return logitsOf(h, tied ? embed : get(t, 'lm_head.weight'), V);
}

/** GPT2LMHeadModel's logits [T, V] for one sequence of ids (tensor names under `prefix`). */
export function gpt2Reference(config: Json, t: HfTensors, ids: number[], prefix = 'transformer.'): Float64Array {
  const d = config.n_embd as number;
  const V = config.vocab_size as number;
  const H = config.n_head as number;
  const D = d / H;
  const I = (config.n_inner as number | null) ?? 4 * d;
  const eps = config.layer_norm_epsilon as number;
  const act = GPT2_ACTIVATIONS[(config.activation_function as string) ?? 'gelu_new'];
  const w = (name: string) => get(t, `${prefix}${name}`);
  const wte = w('wte.weight');
  const wpe = w('wpe.weight');
  let h: Matrix = ids.map((id, pos) => {
    const row = new Float64Array(d);
    for (let i = 0; i < d; i++) row[i] = wte[id * d + i] + wpe[pos * d + i];
    return row;
  });
  for (let i = 0; i < (config.n_layer as number); i++) {
    const p = `h.${i}`;
    const x = layerNorm(h, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), eps);
    const qkv = conv1d(x, w(`${p}.attn.c_attn.weight`), 3 * d, w(`${p}.attn.c_attn.bias`));
    // qkv.split(n_embd, dim=2), then each split into heads of D consecutive channels.
    const q = qkv.map((r) => r.slice(0, d));
    const k = qkv.map((r) => r.slice(d, 2 * d));
    const v = qkv.map((r) => r.slice(2 * d, 3 * d));
    const o = causalAttention(q, k, v, H, H, D);
    h = addRows(h, conv1d(o, w(`${p}.attn.c_proj.weight`), d, w(`${p}.attn.c_proj.bias`)));
    const y = layerNorm(h, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), eps);
    const m = conv1d(y, w(`${p}.mlp.c_fc.weight`), I, w(`${p}.mlp.c_fc.bias`)).map((r) => r.map(act));
    h = addRows(h, conv1d(m, w(`${p}.mlp.c_proj.weight`), d, w(`${p}.mlp.c_proj.bias`)));
  }
  h = layerNorm(h, w('ln_f.weight'), w('ln_f.bias'), eps);
  const tied = config.tie_word_embeddings !== false;
  return logitsOf(h, tied ? wte : get(t, 'lm_head.weight'), V);
}
