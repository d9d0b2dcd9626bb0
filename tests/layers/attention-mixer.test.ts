import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { mixerFactory, type MixerOptions, type MixerState } from '../../gpu/nn/mixer.js';
import '../../gpu/nn/mixers/attention/index.js';
import { attentionConfig } from '../../gpu/nn/mixers/attention/attention.js';
import { attentionLayerRef } from '../../gpu/nn/mixers/attention/attention.ref.js';
import type { RefParams, RefState } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { paramView } from '../../gpu/nn/module.js';
import { download, expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';
import { centralDifferences, stack, tokens } from './diagonal-helpers.js';
import { freshSeed, noisyParams, uploadParams } from './delta-helpers.js';

const engine = useEngine();
const D_MODEL = 8;

function randomParams(options: MixerOptions, seed: number): RefParams {
  return noisyParams(mixerFactory('attention').create(D_MODEL, options).params(), seed, 0.3);
}

/** A cache of L earlier tokens: keys, values and (FoX) a decreasing cumulative log forget gate. */
function randomCache(options: MixerOptions, B: number, L: number, seed: number): RefState {
  const c = attentionConfig(D_MODEL, options);
  const cache: RefState = {
    k: toFloat32(randn([B, L, c.kvHeads, c.headDim], seed)),
    v: toFloat32(randn([B, L, c.kvHeads, c.headDim], seed + 1)),
  };
  if (c.forgetGate) {
    const steps = uniform([B, L, c.heads], seed + 2, -0.3, -0.01);
    const f = cpuTensor(steps.shape);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < c.heads; h++) {
        let acc = 0;
        for (let t = 0; t < L; t++) f.data[(b * L + t) * c.heads + h] = acc += steps.data[(b * L + t) * c.heads + h];
      }
    cache.f = toFloat32(f);
  }
  return cache;
}

const CASES: [string, MixerOptions][] = [
  [
    'grouped heads, RoPE (base 500), the FoX forget gate and q/k/v biases',
    { num_heads: 4, num_kv_heads: 2, forget_gate: true, qkv_bias: true, rope_theta: 500 },
  ],
  [
    'multi-query local attention with RoPE, window 5 (the cache keeps the last 5 tokens, re-rotated)',
    { num_heads: 2, num_kv_heads: 1, window: 5, forget_gate: true },
  ],
];

for (const [title, options] of CASES) {
  describe(`attention mixer: ${title}`, () => {
    const mixer = mixerFactory('attention').create(D_MODEL, options);
    const config = attentionConfig(D_MODEL, options);
    const stateKeys = config.forgetGate ? ['k', 'v', 'f'] : ['k', 'v'];

    it('parallel form after a cached prefix equals the float64 reference (output and returned cache)', async () => {
      const e = await engine();
      const s = freshSeed();
      const params = randomParams(options, s);
      const x = toFloat32(randn([2, 13, D_MODEL], s + 1));
      const cache = randomCache(options, 2, 6, s + 2);
      const ref = attentionLayerRef(config, params, x, cache);
      const state: MixerState = Object.fromEntries(Object.entries(cache).map(([k, t]) => [k, upload(e, t)]));
      const out = mixer.forward(paramView(uploadParams(e, params), ''), upload(e, x), {
        initialState: state,
        returnState: true,
      });
      await expectGpuClose(out.y, ref.y, 1e-4, 'y');
      for (const key of stateKeys) await expectGpuClose(out.state![key], ref.state[key], 1e-4, `cache ${key}`);
    });

    it('gradients of every parameter, the input and the cache equal central differences of the reference', async () => {
      const e = await engine();
      const s = freshSeed();
      const params = randomParams(options, s);
      const x = toFloat32(randn([2, 9, D_MODEL], s + 1));
      const cache = randomCache(options, 2, 4, s + 2);
      const upstream = toFloat32(randn([2, 9, D_MODEL], s + 3));
      const gpuParams = uploadParams(e, params);
      const xt = upload(e, x, true);
      const state: MixerState = Object.fromEntries(Object.entries(cache).map(([k, t]) => [k, upload(e, t, true)]));
      backward(
        sumAll(mul(mixer.forward(paramView(gpuParams, ''), xt, { initialState: state }).y, upload(e, upstream))),
      );
      const names = [...params.keys()];
      const inputs = [...names.map((n) => params.get(n)!), x, ...stateKeys.map((k) => cache[k])];
      const grads = centralDifferences(
        (values) => {
          const p: RefParams = new Map(names.map((n, i) => [n, values[i]]));
          const c2: RefState = Object.fromEntries(stateKeys.map((k, j) => [k, values[names.length + 1 + j]]));
          return attentionLayerRef(config, p, values[names.length], c2).y;
        },
        inputs,
        upstream,
      );
      for (const [i, name] of names.entries())
        await expectGpuClose(gpuParams.get(name)!.grad!, grads[i], 1e-4, `d ${name}`);
      await expectGpuClose(xt.grad!, grads[names.length], 1e-4, 'dx');
      for (const [j, key] of stateKeys.entries())
        await expectGpuClose(state[key].grad!, grads[names.length + 1 + j], 1e-4, `d cache ${key}`);
    });

    it('KV-cache steps from the empty cache equal the parallel form (outputs and cache), T=11', async () => {
      const e = await engine();
      const s = freshSeed();
      const p = paramView(uploadParams(e, randomParams(options, s)), '');
      const x = toFloat32(randn([2, 11, D_MODEL], s + 1));
      const parallel = e.noGrad(() => mixer.forward(p, upload(e, x), { returnState: true }));
      let state = mixer.initialState(e, 2);
      const ys: CpuTensor[] = [];
      for (const token of tokens(x)) {
        const out = e.noGrad(() => mixer.step(p, upload(e, token), state));
        ys.push(await download(out.y));
        state = out.state;
      }
      expect(relativeError(stack(ys).data, (await download(parallel.y)).data)).toBeLessThan(1e-5);
      for (const key of stateKeys) {
        expect(
          relativeError((await download(state[key])).data, (await download(parallel.state![key])).data),
          key,
        ).toBeLessThan(1e-5);
      }
    });
  });
}

describe('attention mixer options', () => {
  it('head counts that do not divide and windows beyond the maximum raise errors naming the layer and option', () => {
    const create = (options: MixerOptions) => () => mixerFactory('attention').create(D_MODEL, options);
    expect(create({ num_heads: 4, num_kv_heads: 3 })).toThrow(
      /attention: option "num_kv_heads" 3 must divide num_heads 4/,
    );
    expect(create({ num_heads: 3 })).toThrow(/attention: option "num_heads" 3 must divide d_model 8/);
    expect(create({ window: (1 << 20) + 1 })).toThrow(/attention: option "window" must be at most 1048576/);
    expect(create({ window: -2 })).toThrow(/attention: option "window" must be at least 0/);
    expect(create({ num_heads: 8 })).toThrow(/attention: option "rope_theta" needs an even head_dim \(got 1\)/);
    expect(create({ rope_theta: 0.5 })).toThrow(/attention: option "rope_theta" must be 0 \(off\) or greater than 1/);
  });
  it('a wrong input width or cache shape raises an error naming the layer and the state entry', async () => {
    const e = await engine();
    const mixer = mixerFactory('attention').create(D_MODEL, { num_heads: 4, num_kv_heads: 2, forget_gate: true });
    const p = paramView(new Map(), 'layers.1.attn');
    expect(() => mixer.forward(p, e.empty([2, 5, 7]))).toThrow(
      'attention layer "layers.1.attn": parallel input must be [B, T, 8], got [2,5,7]',
    );
    const cache = { k: e.empty([2, 3, 2, 2]), v: e.empty([2, 3, 2, 2]), f: e.empty([2, 4, 4]) };
    expect(() => mixer.forward(p, e.empty([2, 5, 8]), { initialState: cache })).toThrow(
      'attention layer "layers.1.attn": state "f" must have shape [2,3,4], got [2,4,4]',
    );
    expect(() => mixer.step(p, e.empty([2, 1, 8]), mixer.initialState(e, 2))).toThrow(
      'attention layer "layers.1.attn": step input must be [B, 8]',
    );
  });
  it('stateSize() is the KV cache per token: 2·kv_heads·head_dim (+ heads with the forget gate)', () => {
    expect(mixerFactory('attention').create(D_MODEL, { num_heads: 4, num_kv_heads: 2 }).stateSize()).toBe(2 * 2 * 2);
    expect(mixerFactory('attention').create(D_MODEL, { num_heads: 4, forget_gate: true }).stateSize()).toBe(
      2 * 4 * 2 + 4,
    );
  });
});
