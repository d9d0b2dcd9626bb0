// RWKV-7's value residual across layers: a whole model (embedding → 3 RWKV-7 layers with residual
// connections → tied LM head) compiled from a graph equals its float64 reference — forward and every
// parameter's gradient (central differences of the reference), with the chunked and the token-by-token
// recurrence, at lengths that are not chunk multiples; the step form equals the parallel one; the first
// layer's v_lora gets no gradient; mismatched widths and bad option values fail naming the option.

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, rng, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import '../../gpu/nn/mixers/delta-rule/index.js';
import { mixerContext, mixerFactory, type MixerOptions } from '../../gpu/nn/mixer.js';
import { paramView } from '../../gpu/nn/module.js';
import { rwkv7Config } from '../../gpu/nn/mixers/delta-rule/rwkv7.js';
import { rwkv7Ref, rwkv7StackRef } from '../../gpu/nn/mixers/delta-rule/rwkv7.ref.js';
import { rwkv7Implicit } from '../../gpu/analysis/implicit/rwkv7.js';
import { reconstruct, summarizeLayer } from '../../gpu/analysis/implicit/core.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';
import { centralDifferences } from './diagonal-helpers.js';
import { freshSeed, noisyParams, uploadParams } from './delta-helpers.js';

const engine = useEngine();
const D = 8;
const VOCAB = 11;
const LAYERS = 3;
const OPTIONS: MixerOptions = {
  head_dim: 4,
  decay_low_rank_dim: 3,
  gate_low_rank_dim: 4,
  a_low_rank_dim: 2,
  v_low_rank_dim: 3,
  num_layers: LAYERS,
  chunk_size: '16',
  value_residual: 'on',
};

/** tokens → embedding → Repeat(x + rwkv7(x)) × LAYERS → tied LM head (no norms: the reference stays short). */
function graph(options: MixerOptions): GraphDoc {
  return {
    format: 'statelab-graph',
    version: 2,
    name: 'rwkv7 value residual',
    model: { d_model: D, vocab_size: VOCAB },
    nodes: [
      { id: 'tokens', kind: 'tokens' },
      { id: 'embeddings', kind: 'embedding' },
      { id: 'layers', kind: 'repeat', params: { block: 'block', count: LAYERS } },
      { id: 'lm_head', kind: 'lm_head', params: { tied: true } },
    ],
    edges: [
      { from: 'tokens.ids', to: 'embeddings.ids' },
      { from: 'embeddings.y', to: 'layers.x' },
      { from: 'layers.y', to: 'lm_head.x' },
    ],
    blocks: {
      block: {
        nodes: [
          { id: 'input', kind: 'block.input' },
          { id: 'attn', kind: 'mixer.rwkv7', params: options },
          { id: 'residual', kind: 'add' },
          { id: 'output', kind: 'block.output' },
        ],
        edges: [
          { from: 'input.x', to: 'attn.x' },
          { from: 'input.x', to: 'residual.a' },
          { from: 'attn.y', to: 'residual.b' },
          { from: 'residual.y', to: 'output.x' },
        ],
      },
    },
  };
}

/**
 * Parameters of the whole model: the layers' own init plus noise, a unit-scale embedding, and output
 * projections far from their zero init so that every layer (and the residual) moves the logits.
 */
function modelParams(doc: GraphDoc, seed: number): RefParams {
  const params = noisyParams(compileGraph(doc).specs, seed, 0.2);
  params.set('embeddings.weight', toFloat32(randn([VOCAB, D], seed + 1)));
  for (const [name, t] of params)
    if (name.endsWith('o_proj.weight')) params.set(name, toFloat32(randn(t.shape, seed + name.length, 0.5)));
  return params;
}

/** The reference model: embedding rows, the RWKV-7 stack, logits = h · Eᵀ. */
function referenceLogits(options: MixerOptions, params: RefParams, ids: number[], B: number, T: number): CpuTensor {
  const E = params.get('embeddings.weight')!;
  const x = cpuTensor([B, T, D]);
  ids.forEach((id, i) => x.data.set(E.data.subarray(id * D, (id + 1) * D), i * D));
  const configs = Array.from({ length: LAYERS }, (_, l) => rwkv7Config(D, { ...options, layer_idx: l }));
  const layers = configs.map((_, l) => {
    const prefix = `layers.${l}.attn.`;
    return new Map(
      [...params].filter(([name]) => name.startsWith(prefix)).map(([name, t]) => [name.slice(prefix.length), t]),
    );
  });
  const h = rwkv7StackRef(configs, layers, x);
  const logits = cpuTensor([B, T, VOCAB]);
  for (let r = 0; r < B * T; r++)
    for (let v = 0; v < VOCAB; v++) {
      let acc = 0;
      for (let i = 0; i < D; i++) acc += h.data[r * D + i] * E.data[v * D + i];
      logits.data[r * VOCAB + v] = acc;
    }
  return logits;
}

const randomIds = (n: number, seed: number) => {
  const next = rng(seed);
  return Array.from({ length: n }, () => Math.floor(next() * VOCAB));
};

describe('RWKV-7 value residual across layers (3 layers, graph-compiled)', () => {
  for (const implementation of ['chunk', 'recurrent']) {
    const options = { ...OPTIONS, implementation };

    it(`${implementation}: logits equal the float64 reference at T=37 (not a chunk multiple), and differ from the model without the residual`, async () => {
      const e = await engine();
      const s = freshSeed();
      const doc = graph(options);
      const params = modelParams(doc, s);
      const [B, T] = [2, 37];
      const ids = randomIds(B * T, s + 2);
      const expected = referenceLogits(options, params, ids, B, T);
      const model = compileGraph(doc);
      const gpu = e.noGrad(() => model.logits(uploadParams(e, params), e.fromArray(ids, [B, T], 'i32')));
      await expectGpuClose(gpu, expected, 1e-4, `logits (seed ${s})`);
      // The residual changes the function: the same parameters without it give other logits, by far
      // more than the GPU tolerance above (over 300 seeds the smallest difference was 6e-3, median 3e-2).
      const without = referenceLogits({ ...options, value_residual: 'off' }, params, ids, B, T);
      expect(relativeError(without.data, expected.data), `seed ${s}`).toBeGreaterThan(1e-3);
    });

    it(`${implementation}: every parameter's gradient equals central differences of the reference at T=21; layer 0's v_lora gets none`, async () => {
      const e = await engine();
      const s = freshSeed();
      const doc = graph(options);
      const params = modelParams(doc, s);
      const [B, T] = [2, 21];
      const ids = randomIds(B * T, s + 2);
      const upstream = toFloat32(randn([B, T, VOCAB], s + 3));
      const gpuParams = uploadParams(e, params);
      const model = compileGraph(doc);
      backward(sumAll(mul(model.logits(gpuParams, e.fromArray(ids, [B, T], 'i32')), upload(e, upstream))));
      const names = [...params.keys()];
      const grads = centralDifferences(
        (values) => referenceLogits(options, new Map(names.map((n, i) => [n, values[i]])), ids, B, T),
        names.map((n) => params.get(n)!),
        upstream,
      );
      // The first layer publishes v and mixes nothing in: its v_lora is not on the tape (no gradient, and
      // central differences agree that it has none); every other parameter's gradient matches.
      const unused = names.filter((n) => n.startsWith('layers.0.attn.v_lora.'));
      expect(unused).toHaveLength(3);
      for (const [i, name] of names.entries()) {
        const grad = gpuParams.get(name)!.grad;
        if (unused.includes(name)) {
          expect(grad, name).toBeNull();
          expect(Math.max(...grads[i].data.map(Math.abs)), name).toBeLessThan(1e-8);
        } else await expectGpuClose(grad!, grads[i], 1e-4, `d ${name} (seed ${s})`);
      }
    });
  }

  it('prefill in parallel, then one-token steps, equals the parallel logits (v_first carried within each step)', async () => {
    const e = await engine();
    const s = freshSeed();
    const doc = graph(OPTIONS);
    const params = uploadParams(e, modelParams(doc, s));
    const model = compileGraph(doc);
    const [B, T, P] = [2, 11, 4];
    const ids = randomIds(B * T, s + 2);
    const whole = await e.noGrad(() => model.logits(params, e.fromArray(ids, [B, T], 'i32'))).read();
    let state = model.initialState(e, B);
    const prefix = [0, 1].flatMap((b) => ids.slice(b * T, b * T + P));
    e.noGrad(() => model.logits(params, e.fromArray(prefix, [B, P], 'i32'), { initial: state, final: state }));
    for (let t = P; t < T; t++) {
      const out = e.noGrad(() =>
        model.step(
          params,
          e.fromArray(
            [0, 1].map((b) => ids[b * T + t]),
            [B],
            'i32',
          ),
          state,
        ),
      );
      state = out.state;
      const got = await out.logits.read();
      for (let b = 0; b < B; b++) {
        const expected = whole.subarray((b * T + t) * VOCAB, (b * T + t + 1) * VOCAB);
        expect(relativeError(got.subarray(b * VOCAB, (b + 1) * VOCAB), expected), `t=${t} b=${b}`).toBeLessThan(1e-4);
      }
    }
  });

  it('a value-residual layer with none before it acts as the first; value-residual layers of different widths fail naming the option', async () => {
    const e = await engine();
    const s = freshSeed();
    const narrow = mixerFactory('rwkv7').create(D, OPTIONS);
    const wide = mixerFactory('rwkv7').create(12, OPTIONS);
    const off = mixerFactory('rwkv7').create(D, { ...OPTIONS, value_residual: 'off' });
    const narrowParams = noisyParams(narrow.params(), s, 0.2);
    const x = toFloat32(randn([1, 5, D], s + 1));
    // Alone (fresh context), the layer is the first: it equals the same layer without the option.
    const p = paramView(uploadParams(e, narrowParams), '');
    const alone = e.noGrad(() => narrow.forward(p, upload(e, x), { context: mixerContext() }).y);
    const plain = e.noGrad(() => off.forward(p, upload(e, x)).y);
    expect(relativeError(await alone.read(), await plain.read())).toBe(0);

    const context = mixerContext();
    e.noGrad(() => narrow.forward(p, upload(e, x), { context }));
    const wideParams = paramView(uploadParams(e, noisyParams(wide.params(), s + 2, 0.2)), '');
    const xWide = upload(e, toFloat32(randn([1, 5, 12], s + 3)));
    expect(() => e.noGrad(() => wide.forward(wideParams, xWide, { context }))).toThrow(
      /rwkv7: option "value_residual" is 'on' but the first value-residual RWKV-7 layer's values have shape \[1,5,8\] and this layer's \[1,5,12\]/,
    );
    expect(() => rwkv7Config(D, { value_residual: 'yes' })).toThrow(/rwkv7: option "value_residual"/);
    expect(() => rwkv7Config(D, { v_low_rank_dim: 0 })).toThrow(/rwkv7: option "v_low_rank_dim"/);
    // Off (the default), the layer has exactly the parameters checkpoints made before the option have.
    expect(off.params().some((spec) => spec.name.startsWith('v_lora.'))).toBe(false);
    expect(narrow.params().map((spec) => spec.name)).toEqual(
      expect.arrayContaining(['v_lora.lora.0.weight', 'v_lora.lora.2.weight', 'v_lora.lora.2.bias']),
    );
  });
});

describe('implicit attention of value-residual RWKV-7 layers', () => {
  it("given the first layer's v, post(A · ṽ) reproduces a later layer's output; without it the matrices are the same and nothing is reconstructed", () => {
    const s = freshSeed();
    const T = 13;
    const mixer = mixerFactory('rwkv7').create(D, OPTIONS);
    const configs = [0, 1, 2].map((l) => rwkv7Config(D, { ...OPTIONS, layer_idx: l }));
    const layers = [0, 1, 2].map((l) => noisyParams(mixer.params(), s + 10 * l, 0.2));
    for (const p of layers) p.set('o_proj.weight', toFloat32(randn([D, D], s + 5, 0.5)));
    // The stack by hand: layer 0 publishes v, layers 1 and 2 mix it in.
    let h = toFloat32(randn([1, T, D], s + 1));
    const first = rwkv7Ref(configs[0], layers[0], h);
    const inputs = [h];
    const outputs = [first];
    for (const l of [1, 2]) {
      h = cpuTensor(
        h.shape,
        h.data.map((z, i) => z + outputs[l - 1].y.data[i]),
      );
      inputs.push(h);
      outputs.push(rwkv7Ref(configs[l], layers[l], h, undefined, first.v));
    }
    for (const l of [0, 2]) {
      const built = rwkv7Implicit(layers[l], { ...OPTIONS, layer_idx: l }, D, inputs[l].data, T, first.v.data);
      expect(relativeError(reconstruct(built), outputs[l].y.data), `layer ${l}`).toBeLessThan(1e-9);
    }
    const blind = rwkv7Implicit(layers[2], { ...OPTIONS, layer_idx: 2 }, D, inputs[2].data, T);
    const seen = rwkv7Implicit(layers[2], { ...OPTIONS, layer_idx: 2 }, D, inputs[2].data, T, first.v.data);
    expect(blind.values).toBeUndefined();
    expect(summarizeLayer(blind).reconstruction).toBeNull();
    expect(blind.description).toMatch(
      /value residual: .* not given, so the matrices are exact but the output is not reconstructed/,
    );
    for (let u = 0; u < blind.count; u++) expect(blind.matrix(u)).toEqual(seen.matrix(u));
    // Its own values would not reproduce the output: the residual matters here.
    const own = rwkv7Implicit(layers[2], { ...OPTIONS, layer_idx: 2, value_residual: 'off' }, D, inputs[2].data, T);
    expect(relativeError(reconstruct(own), outputs[2].y.data)).toBeGreaterThan(1e-3);
    expect(() => rwkv7Implicit(layers[2], OPTIONS, D, inputs[2].data, T, new Float64Array(3))).toThrow(
      /implicit attention: rwkv7 vFirst has 3 values, expected \[13, 8\]/,
    );
  });
});
