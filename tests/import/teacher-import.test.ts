// Importing tiny random Llama and GPT-2 folders (generated here) as StateLab teachers: the imported graph's
// logits on the GPU equal a float64 reference of the Hugging Face computation on the raw HF tensors,
// one-token steps equal the parallel forward, and bad folders are refused naming the file and the field.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph, type CompiledModel } from '../../gpu/graph/compile.js';
import { uploadParams } from '../../gpu/generate/load-params.js';
import type { ParamMap } from '../../gpu/nn/module.js';
import { decodeSafetensors, encodeSafetensors } from '../../shared/formats/safetensors.js';
import { buildPlan } from '../../main/export/plan.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { TeacherImportError } from '../../main/import/errors.js';
import { importTransformer, readTransformer } from '../../main/import/teacher.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import {
  byteLevelTokenizer,
  GPT2_CONFIG,
  gpt2Tensors,
  LLAMA_CONFIG,
  llamaTensors,
  sentencePieceTokenizer,
  writeHfFolder,
  type HfTensors,
  type Json,
} from './hf-fixtures.js';
import { gpt2Reference, llamaReference } from './hf-reference.js';

const engine = useEngine();
const root = mkdtempSync(join(tmpdir(), 'statelab-teacher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const folder = () => join(root, `hf-${folders++}`);

/** Two different sequences of T ids below V. */
function sequences(V: number, T: number, seed: number): number[][] {
  return [0, 1].map((row) => Array.from({ length: T }, (_, t) => (seed * 7 + row * 31 + t * t * 13 + t * 5) % V));
}

async function importedModel(dir: string): Promise<{ model: CompiledModel; params: ParamMap; runsDir: string }> {
  const runsDir = join(root, `runs-${folders++}`);
  const { run } = importTransformer(dir, runsDir);
  const reopened = new RunStore(runsDir).open(run.id);
  const model = compileGraph(reopened.graph());
  const checkpoint = reopened.loadCheckpoint();
  const params = uploadParams(await engine(), model.specs, checkpoint.params, 'imported teacher');
  return { model, params, runsDir };
}

/** GPU logits of every row against the reference; returns the worst relative error. */
async function worstError(
  model: CompiledModel,
  params: ParamMap,
  rows: number[][],
  reference: (ids: number[]) => Float64Array,
): Promise<number> {
  const e = await engine();
  const [B, T] = [rows.length, rows[0].length];
  const logits = await e.noGrad(() => model.logits(params, e.fromArray(rows.flat(), [B, T], 'i32'))).read();
  const V = logits.length / (B * T);
  return Math.max(...rows.map((ids, b) => relativeError(logits.subarray(b * T * V, (b + 1) * T * V), reference(ids))));
}

/** One-token steps from the empty state: per step logits [B, V], stacked to [B, T, V] row-major. */
async function steppedLogits(model: CompiledModel, params: ParamMap, rows: number[][]): Promise<Float32Array> {
  const e = await engine();
  const [B, T] = [rows.length, rows[0].length];
  const V = model.graph.doc.model.vocab_size;
  const out = new Float32Array(B * T * V);
  let state = model.initialState(e, B);
  for (let t = 0; t < T; t++) {
    const step = e.noGrad(() =>
      model.step(
        params,
        e.fromArray(
          rows.map((r) => r[t]),
          [B],
          'i32',
        ),
        state,
      ),
    );
    state = step.state;
    const logits = await step.logits.read();
    for (let b = 0; b < B; b++) out.set(logits.subarray(b * V, (b + 1) * V), (b * T + t) * V);
  }
  return out;
}

describe('Llama teacher', () => {
  it('GQA with an untied head: the run holds the Llama graph and its logits equal the HF float64 reference (T=13)', async () => {
    const tensors = llamaTensors(LLAMA_CONFIG);
    const dir = writeHfFolder(folder(), LLAMA_CONFIG, tensors, sentencePieceTokenizer(61));
    const { model, params, runsDir } = await importedModel(dir);
    const attn = model.graph.blocks.get('block')!.find((n) => n.node.id === 'attn')!;
    expect(attn.params).toMatchObject({ num_heads: 4, num_kv_heads: 2, head_dim: 8, rope_theta: 50, o_bias: false });
    expect(model.graph.output.params.tied).toBe(false);
    const error = await worstError(model, params, sequences(61, 13, 1), (ids) =>
      llamaReference(LLAMA_CONFIG, tensors, ids),
    );
    expect(error).toBeLessThan(1e-4);
    // The run is complete: graph, step-0 checkpoint, the teacher's tokenizer and why StateLab cannot run it.
    const [run] = new RunStore(runsDir).list();
    expect(run.checkpointSteps()).toEqual([0]);
    expect(existsSync(join(run.dir, 'tokenizer.json'))).toBe(true);
    expect(run.info()).toMatchObject({ status: 'completed', data: { kind: 'imported', model_type: 'llama' } });
    expect(run.info().data.tokenizer_problem).toMatch(/tokenizer\.json: model\.byte_fallback is not supported/);
  });

  it('attention biases, head_dim ≠ hidden/heads, tied embeddings, a stored copy of the tied head, shards', async () => {
    const config = { ...LLAMA_CONFIG, attention_bias: true, head_dim: 12, tie_word_embeddings: true, rope_theta: 300 };
    const tensors = llamaTensors(config);
    // Some tied checkpoints keep lm_head.weight; it equals the embedding.
    const withHead: HfTensors = new Map([...tensors, ['lm_head.weight', tensors.get('model.embed_tokens.weight')!]]);
    const dir = folder();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    // Two shards and the index transformers writes for them.
    const names = [...withHead.keys()];
    const shards = [names.slice(0, 9), names.slice(9)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const entries = shard.map((n) => ({ name: n, dtype: 'F32' as const, ...withHead.get(n)! }));
      writeFileSync(join(dir, file), encodeSafetensors(entries, { format: 'pt' }));
      for (const n of shard) weightMap[n] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const { model, params } = await importedModel(dir);
    expect(model.specs.map((s) => s.name)).toContain('layers.1.attn.o_proj.bias');
    expect(model.graph.output.params.tied).toBe(true);
    const error = await worstError(model, params, sequences(61, 11, 2), (ids) => llamaReference(config, tensors, ids));
    expect(error).toBeLessThan(1e-4);
  });

  it('F16 and BF16 weights (as torch_dtype float16/bfloat16 saves them) widen exactly to float32', () => {
    const tensors = llamaTensors(LLAMA_CONFIG);
    const dir = folder();
    writeHfFolder(dir, LLAMA_CONFIG, new Map());
    const entries = [...tensors].map(([name, t], i) => ({
      name,
      dtype: i % 2 ? ('F16' as const) : ('BF16' as const),
      ...t,
    }));
    const bytes = encodeSafetensors(entries, { format: 'pt' });
    writeFileSync(join(dir, 'model.safetensors'), bytes);
    // The values the file holds, as the safetensors reader widens them.
    const stored = new Map(decodeSafetensors(bytes).tensors.map((t) => [t.name, t.data as Float32Array]));
    const teacher = readTransformer(dir);
    const embed = teacher.params.get('embeddings.weight')!.data;
    expect(embed).toEqual(stored.get('model.embed_tokens.weight'));
    expect(embed).not.toEqual(tensors.get('model.embed_tokens.weight')!.data);
    expect(teacher.params.get('layers.1.attn.k_proj.weight')!.data).toEqual(
      stored.get('model.layers.1.self_attn.k_proj.weight'),
    );
  });

  it('one-token steps (KV cache, RoPE positions counted in the cache) equal the parallel forward, T=12', async () => {
    const tensors = llamaTensors(LLAMA_CONFIG);
    const { model, params } = await importedModel(writeHfFolder(folder(), LLAMA_CONFIG, tensors));
    const rows = sequences(61, 12, 3);
    const e = await engine();
    const parallel = await e.noGrad(() => model.logits(params, e.fromArray(rows.flat(), [2, 12], 'i32'))).read();
    const stepped = await steppedLogits(model, params, rows);
    expect(relativeError(stepped, parallel)).toBeLessThan(1e-5);
    const V = 61;
    for (const [b, ids] of rows.entries())
      expect(
        relativeError(stepped.subarray(b * 12 * V, (b + 1) * 12 * V), llamaReference(LLAMA_CONFIG, tensors, ids)),
      ).toBeLessThan(1e-4);
  });
});

describe('GPT-2 teacher', () => {
  it('tied head, learned positions, Conv1D weights, causal-mask buffers: logits equal the HF float64 reference (T=17)', async () => {
    const tensors = gpt2Tensors(GPT2_CONFIG, { maskBuffers: true });
    const dir = writeHfFolder(folder(), GPT2_CONFIG, tensors, await byteLevelTokenizer(300));
    const { model, params, runsDir } = await importedModel(dir);
    expect(model.graph.order.map((n) => n.spec.kind)).toEqual([
      'tokens',
      'embedding',
      'position_embedding',
      'repeat',
      'norm',
      'lm_head',
    ]);
    const error = await worstError(model, params, sequences(300, 17, 4), (ids) =>
      gpt2Reference(GPT2_CONFIG, tensors, ids),
    );
    expect(error).toBeLessThan(1e-4);
    const [run] = new RunStore(runsDir).list();
    expect(run.info().data).toMatchObject({ model_type: 'gpt2', tokenizer: 'tokenizer.json', tokenizer_problem: null });
  });

  it('an untied head and bare GPT2Model names (no "transformer." prefix), exact GELU, n_inner', async () => {
    const config = { ...GPT2_CONFIG, tie_word_embeddings: false, n_inner: 40, activation_function: 'gelu' };
    const tensors = gpt2Tensors(config, { prefix: '' });
    const { model, params } = await importedModel(writeHfFolder(folder(), config, tensors));
    expect(model.specs.find((s) => s.name === 'layers.0.mlp.up_proj.weight')!.shape).toEqual([40, 24]);
    expect(model.graph.blocks.get('block')!.find((n) => n.node.id === 'mlp')!.params.activation).toBe('gelu');
    const error = await worstError(model, params, sequences(300, 9, 5), (ids) =>
      gpt2Reference(config, tensors, ids, ''),
    );
    expect(error).toBeLessThan(1e-4);
  });

  it('one-token steps advance the learned positions: steps equal the parallel forward and the reference, T=14', async () => {
    const tensors = gpt2Tensors(GPT2_CONFIG);
    const { model, params } = await importedModel(writeHfFolder(folder(), GPT2_CONFIG, tensors));
    const rows = sequences(300, 14, 6);
    const e = await engine();
    const parallel = await e.noGrad(() => model.logits(params, e.fromArray(rows.flat(), [2, 14], 'i32'))).read();
    const stepped = await steppedLogits(model, params, rows);
    expect(relativeError(stepped, parallel)).toBeLessThan(1e-5);
    const V = 300;
    for (const [b, ids] of rows.entries())
      expect(
        relativeError(stepped.subarray(b * 14 * V, (b + 1) * 14 * V), gpt2Reference(GPT2_CONFIG, tensors, ids)),
      ).toBeLessThan(1e-4);
  });

  it('a sequence longer than n_positions is refused naming the node and max_positions', async () => {
    const { model, params } = await importedModel(writeHfFolder(folder(), GPT2_CONFIG, gpt2Tensors(GPT2_CONFIG)));
    const e = await engine();
    expect(() => e.noGrad(() => model.logits(params, e.fromArray(new Array(41).fill(3), [1, 41], 'i32')))).toThrow(
      /position_embedding "positions": position 40 is beyond max_positions 40/,
    );
  });

  it('PyTorch and ONNX export refuse the GPT-2 pieces by node; the HF layout stores them; a Llama teacher exports', () => {
    const gpt2 = readTransformer(writeHfFolder(folder(), GPT2_CONFIG, gpt2Tensors(GPT2_CONFIG)));
    for (const format of ['onnx', 'pytorch'] as const)
      expect(() => buildPlan(gpt2.graph, format)).toThrow(
        new RegExp(
          `the ${format} export cannot express node "positions" \\(learned positions\\), node "block:block/attn" \\(attention with o_bias\\), node "block:block/mlp" \\(a non-gated MLP\\)`,
        ),
      );
    expect(buildPlan(gpt2.graph, 'hf').plan.top.map((n) => n.kind)).toContain('position_embedding');
    const llama = readTransformer(writeHfFolder(folder(), LLAMA_CONFIG, llamaTensors(LLAMA_CONFIG)));
    expect(buildPlan(llama.graph, 'onnx').plan.mixerKinds).toEqual(['attention']);
  });
});

describe('folders that cannot be imported', () => {
  const runsDir = join(root, 'refused-runs');
  /** Imports a variant of a fixture; the error must match, and no run folder may be left behind. */
  function refused(config: Json, tensors: HfTensors, pattern: RegExp): void {
    const dir = writeHfFolder(folder(), config, tensors);
    expect(() => importTransformer(dir, runsDir)).toThrow(TeacherImportError);
    expect(() => importTransformer(dir, runsDir)).toThrow(pattern);
    expect(existsSync(runsDir) ? readdirSync(runsDir) : []).toEqual([]);
  }
  const llama = () => llamaTensors(LLAMA_CONFIG);
  const without = (t: HfTensors, name: string) => new Map([...t].filter(([n]) => n !== name));

  it('an unknown model_type names the field and the importable ones', () => {
    refused(
      { ...LLAMA_CONFIG, model_type: 'mistral' },
      llama(),
      /config\.json: model_type "mistral" is not supported \(importable teachers: llama, gpt2\)/,
    );
  });

  it('architecture settings StateLab cannot express name the field and its value', () => {
    refused(
      { ...LLAMA_CONFIG, rope_scaling: { type: 'yarn', factor: 4 } },
      llama(),
      /config\.json: rope_scaling \{"type":"yarn","factor":4\} is not supported/,
    );
    refused({ ...LLAMA_CONFIG, sliding_window: 4096 }, llama(), /config\.json: sliding_window 4096 is not supported/);
    refused(
      { ...LLAMA_CONFIG, num_local_experts: 8 },
      llama(),
      /config\.json: num_local_experts 8 is not supported \(mixture-of-experts/,
    );
    refused({ ...LLAMA_CONFIG, mlp_bias: true }, llama(), /config\.json: mlp_bias true is not supported/);
    refused({ ...LLAMA_CONFIG, hidden_act: 'relu2' }, llama(), /config\.json: hidden_act "relu2" is not supported/);
    refused(
      { ...LLAMA_CONFIG, architectures: ['LlamaForSequenceClassification'] },
      llama(),
      /config\.json: architectures \["LlamaForSequenceClassification"\] is not supported/,
    );
    const gpt2 = gpt2Tensors(GPT2_CONFIG);
    refused(
      { ...GPT2_CONFIG, scale_attn_by_inverse_layer_idx: true },
      gpt2,
      /config\.json: scale_attn_by_inverse_layer_idx true is not supported/,
    );
    refused(
      { ...GPT2_CONFIG, activation_function: 'swish' },
      gpt2,
      /config\.json: activation_function "swish" is not supported/,
    );
    refused(
      { ...GPT2_CONFIG, use_parallel_residual: true },
      gpt2,
      /config\.json: use_parallel_residual true is not supported/,
    );
  });

  it('missing or malformed config fields name the field', () => {
    const { hidden_size: _, ...noWidth } = LLAMA_CONFIG;
    refused(noWidth, llama(), /config\.json: hidden_size is missing/);
    refused(
      { ...LLAMA_CONFIG, num_key_value_heads: 3 },
      llama(),
      /config\.json: num_key_value_heads 3 must divide num_attention_heads 4/,
    );
    refused({ ...GPT2_CONFIG, n_head: 5 }, gpt2Tensors(GPT2_CONFIG), /config\.json: n_head 5 must divide n_embd 24/);
  });

  it('a missing tensor, a tensor of the wrong shape and a tensor nobody maps name the weights file and the tensor', () => {
    refused(
      LLAMA_CONFIG,
      without(llama(), 'model.layers.1.mlp.up_proj.weight'),
      /model\.safetensors: tensor "model\.layers\.1\.mlp\.up_proj\.weight" is missing \(a llama model with this config\.json needs it\)/,
    );
    const wrong = llama();
    wrong.set('model.layers.0.self_attn.k_proj.weight', { shape: [32, 32], data: new Float32Array(32 * 32) });
    refused(
      LLAMA_CONFIG,
      wrong,
      /model\.safetensors: tensor "model\.layers\.0\.self_attn\.k_proj\.weight" has shape \[32, 32\], config\.json implies \[16, 32\]/,
    );
    const extra = llama();
    extra.set('model.layers.0.self_attn.q_proj.bias', { shape: [32], data: new Float32Array(32) });
    refused(LLAMA_CONFIG, extra, /tensor "model\.layers\.0\.self_attn\.q_proj\.bias" is not part of a llama model/);
    const gpt2 = gpt2Tensors(GPT2_CONFIG);
    gpt2.set('lm_head.weight', { shape: [300, 24], data: new Float32Array(300 * 24).fill(0.5) });
    refused(
      GPT2_CONFIG,
      gpt2,
      /tensor "lm_head\.weight" differs from the token embedding although config\.json ties them/,
    );
  });

  it('folders without config.json or weights say which file is missing', () => {
    const empty = folder();
    mkdirSync(empty, { recursive: true });
    expect(() => importTransformer(empty, runsDir)).toThrow(/config\.json does not exist/);
    writeFileSync(join(empty, 'config.json'), JSON.stringify(LLAMA_CONFIG));
    writeFileSync(join(empty, 'pytorch_model.bin'), 'pickle');
    expect(() => importTransformer(empty, runsDir)).toThrow(
      /model\.safetensors does not exist; pytorch_model\.bin \(a pickle\) is not read/,
    );
    writeFileSync(join(empty, 'config.json'), '{"model_type": "llama",');
    expect(() => importTransformer(empty, runsDir)).toThrow(/config\.json: malformed JSON/);
    expect(readFileSync(join(empty, 'pytorch_model.bin'), 'utf8')).toBe('pickle');
  });
});
