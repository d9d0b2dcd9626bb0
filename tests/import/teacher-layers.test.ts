// The pieces GPT-2 (and Llama with attention_bias) teachers need beyond StateLab's own layers: attention
// with an output bias and without RoPE, the non-gated MLP with biases, and learned absolute positions
// with their step form. Each is compared on fresh random inputs with a float64 reference, forward and
// backward (gradients by central differences of the reference), and step-by-step against parallel.

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { builtinForward, builtinParamSpecs, statefulBuiltin } from '../../gpu/graph/builtin-nodes.js';
import { erf } from '../../gpu/ops/elementwise.defs.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { mixerFactory, type MixerOptions, type MixerState } from '../../gpu/nn/mixer.js';
import '../../gpu/nn/mixers/attention/index.js';
import { attentionConfig } from '../../gpu/nn/mixers/attention/attention.js';
import { attentionLayerRef } from '../../gpu/nn/mixers/attention/attention.ref.js';
import type { RefParams, RefState } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { paramView } from '../../gpu/nn/module.js';
import { download, expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';
import { centralDifferences, stack, tokens } from '../layers/diagonal-helpers.js';
import { freshSeed, noisyParams, uploadParams } from '../layers/delta-helpers.js';

const engine = useEngine();
const D_MODEL = 8;

/** Σ y · upstream backpropagated on the GPU. */
const backwardWith = (y: ReturnType<typeof upload>, upstream: CpuTensor) =>
  backward(sumAll(mul(y, upload(y.engine, upstream))));

describe('attention without RoPE and with projection biases', () => {
  const CASES: [string, MixerOptions][] = [
    ['GPT-2: q/k/v and output biases, no RoPE', { num_heads: 2, rope_theta: 0, qkv_bias: true, o_bias: true }],
    [
      'Llama attention_bias: grouped heads, RoPE, all four biases',
      { num_heads: 4, num_kv_heads: 2, rope_theta: 10000, qkv_bias: true, o_bias: true },
    ],
  ];
  for (const [title, options] of CASES) {
    const mixer = mixerFactory('attention').create(D_MODEL, options);
    const config = attentionConfig(D_MODEL, options);
    const randomCache = (B: number, L: number, seed: number): RefState => ({
      k: toFloat32(randn([B, L, config.kvHeads, config.headDim], seed)),
      v: toFloat32(randn([B, L, config.kvHeads, config.headDim], seed + 1)),
    });

    it(`${title}: declares o_proj.bias, and the parallel form after a cache equals the float64 reference`, async () => {
      expect(mixer.params().map((p) => p.name)).toContain('o_proj.bias');
      const e = await engine();
      const s = freshSeed();
      const params = noisyParams(mixer.params(), s, 0.3);
      const x = toFloat32(randn([2, 9, D_MODEL], s + 1));
      const cache = randomCache(2, 5, s + 2);
      const ref = attentionLayerRef(config, params, x, cache);
      const state: MixerState = { k: upload(e, cache.k), v: upload(e, cache.v) };
      const out = mixer.forward(paramView(uploadParams(e, params), ''), upload(e, x), {
        initialState: state,
        returnState: true,
      });
      await expectGpuClose(out.y, ref.y, 1e-4, 'y');
      await expectGpuClose(out.state!.k, ref.state.k, 1e-4, 'cache k');
    });

    it(`${title}: gradients of every parameter (biases included) and the input equal central differences`, async () => {
      const e = await engine();
      const s = freshSeed();
      const params = noisyParams(mixer.params(), s, 0.3);
      const x = toFloat32(randn([2, 7, D_MODEL], s + 1));
      const upstream = toFloat32(randn([2, 7, D_MODEL], s + 2));
      const gpuParams = uploadParams(e, params);
      const xt = upload(e, x, true);
      backwardWith(mixer.forward(paramView(gpuParams, ''), xt).y, upstream);
      const names = [...params.keys()];
      const grads = centralDifferences(
        (values) =>
          attentionLayerRef(config, new Map(names.map((n, i) => [n, values[i]])) as RefParams, values[names.length]).y,
        [...names.map((n) => params.get(n)!), x],
        upstream,
      );
      const dxScale = Math.max(...grads[names.length].data.map(Math.abs));
      for (const [i, name] of names.entries()) {
        if (name === 'k_proj.bias' && config.ropeTheta === 0) {
          // Without RoPE, q·(k_j + b) shifts every score of a query by the same q·b, which softmax ignores:
          // the true gradient is zero, so only its size (noise) is checked.
          const gpu = await gpuParams.get(name)!.grad!.read();
          expect(Math.max(...gpu.map(Math.abs))).toBeLessThan(1e-4 * dxScale);
          continue;
        }
        await expectGpuClose(gpuParams.get(name)!.grad!, grads[i], 1e-4, `d ${name}`);
      }
      await expectGpuClose(xt.grad!, grads[names.length], 1e-4, 'dx');
    });

    it(`${title}: KV-cache steps equal the parallel form, T=10`, async () => {
      const e = await engine();
      const s = freshSeed();
      const p = paramView(uploadParams(e, noisyParams(mixer.params(), s, 0.3)), '');
      const x = toFloat32(randn([2, 10, D_MODEL], s + 1));
      const parallel = e.noGrad(() => mixer.forward(p, upload(e, x)));
      let state = mixer.initialState(e, 2);
      const ys: CpuTensor[] = [];
      for (const token of tokens(x)) {
        const out = e.noGrad(() => mixer.step(p, upload(e, token), state));
        ys.push(await download(out.y));
        state = out.state;
      }
      expect(relativeError(stack(ys).data, (await download(parallel.y)).data)).toBeLessThan(1e-5);
    });
  }
});

// ---------------------------------------------------------------- the non-gated MLP

const ACTIVATIONS: Record<string, (x: number) => number> = {
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  relu: (x) => Math.max(0, x),
};

/** down(act(up·x + b_up)) + b_down, row by row in float64. */
function ffnRef(p: RefParams, x: CpuTensor, activation: string, bias: boolean): CpuTensor {
  const up = p.get('up_proj.weight')!;
  const down = p.get('down_proj.weight')!;
  const [hidden, d] = up.shape;
  const y = cpuTensor(x.shape);
  for (let r = 0; r < x.data.length / d; r++) {
    const h = Array.from({ length: hidden }, (_, j) => {
      let acc = bias ? p.get('up_proj.bias')!.data[j] : 0;
      for (let i = 0; i < d; i++) acc += up.data[j * d + i] * x.data[r * d + i];
      return ACTIVATIONS[activation](acc);
    });
    for (let o = 0; o < d; o++) {
      let acc = bias ? p.get('down_proj.bias')!.data[o] : 0;
      for (let j = 0; j < hidden; j++) acc += down.data[o * hidden + j] * h[j];
      y.data[r * d + o] = acc;
    }
  }
  return y;
}

describe('non-gated MLP (ffn)', () => {
  for (const activation of Object.keys(ACTIVATIONS))
    for (const bias of [true, false]) {
      it(`${activation}, bias ${bias}: GPU forward and every gradient equal the float64 reference`, async () => {
        const e = await engine();
        const s = freshSeed();
        const options = { activation, hidden: 12, bias };
        const specs = builtinParamSpecs('ffn', options, D_MODEL, D_MODEL, 0, 2);
        expect(specs.map((p) => p.name)).toEqual(
          bias
            ? ['up_proj.weight', 'up_proj.bias', 'down_proj.weight', 'down_proj.bias']
            : ['up_proj.weight', 'down_proj.weight'],
        );
        const params = noisyParams(specs, s, 0.3);
        const x = toFloat32(randn([2, 5, D_MODEL], s + 1));
        const upstream = toFloat32(randn([2, 5, D_MODEL], s + 2));
        const gpuParams = uploadParams(e, params);
        const xt = upload(e, x, true);
        const y = builtinForward('ffn', paramView(gpuParams, ''), options, { x: xt }, () => {
          throw new Error('no tied weight here');
        });
        await expectGpuClose(y, ffnRef(params, x, activation, bias), 1e-4, 'y');
        backwardWith(y, upstream);
        const names = [...params.keys()];
        const grads = centralDifferences(
          (values) => ffnRef(new Map(names.map((n, i) => [n, values[i]])), values[names.length], activation, bias),
          [...names.map((n) => params.get(n)!), x],
          upstream,
        );
        for (const [i, name] of names.entries())
          await expectGpuClose(gpuParams.get(name)!.grad!, grads[i], 1e-4, `d ${name}`);
        await expectGpuClose(xt.grad!, grads[names.length], 1e-4, 'dx');
      });
    }

  it('hidden 0 means 4·d (GPT-2)', () => {
    const specs = builtinParamSpecs('ffn', { activation: 'gelu_tanh', hidden: 0, bias: true }, 8, 8, 0, 1);
    expect(specs[0].shape).toEqual([32, 8]);
  });
});

// ---------------------------------------------------------------- learned positions

/** x + W[seen + t] for every row. */
function positionsRef(weight: CpuTensor, x: CpuTensor, seen: number): CpuTensor {
  const [B, T, d] = x.shape;
  const y = cpuTensor(x.shape);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let i = 0; i < d; i++)
        y.data[(b * T + t) * d + i] = x.data[(b * T + t) * d + i] + weight.data[(seen + t) * d + i];
  return y;
}

describe('learned position embedding', () => {
  const MAX = 16;
  const layer = statefulBuiltin('position_embedding', D_MODEL, { max_positions: MAX })!;

  it('is the only stateful built-in; its table is [max_positions, d]', () => {
    expect(statefulBuiltin('norm', D_MODEL, {})).toBeUndefined();
    expect(layer.params()).toEqual([expect.objectContaining({ name: 'weight', shape: [MAX, D_MODEL] })]);
  });

  it('after 5 tokens seen, adds rows 5… to the input (forward) and routes gradients to those rows', async () => {
    const e = await engine();
    const s = freshSeed();
    const weight = toFloat32(randn([MAX, D_MODEL], s));
    const x = toFloat32(randn([2, 6, D_MODEL], s + 1));
    const upstream = toFloat32(randn([2, 6, D_MODEL], s + 2));
    const w = upload(e, weight, true);
    const xt = upload(e, x, true);
    const p = paramView(new Map([['pos.weight', w]]), 'pos');
    const out = layer.forward(p, xt, { initialState: { positions: e.empty([2, 5, 0]) }, returnState: true });
    await expectGpuClose(out.y, positionsRef(weight, x, 5), 1e-6, 'y');
    expect(out.state!.positions.shape).toEqual([2, 11, 0]);
    backwardWith(out.y, upstream);
    const [dw, dx] = centralDifferences((v) => positionsRef(v[0], v[1], 5), [weight, x], upstream);
    await expectGpuClose(w.grad!, dw, 1e-4, 'd weight');
    await expectGpuClose(xt.grad!, dx, 1e-4, 'dx');
  });

  it('one-token steps from the empty state equal the parallel form: positions advance, T=9', async () => {
    const e = await engine();
    const s = freshSeed();
    const p = paramView(new Map([['pos.weight', upload(e, toFloat32(randn([MAX, D_MODEL], s)))]]), 'pos');
    const x = toFloat32(randn([3, 9, D_MODEL], s + 1));
    const parallel = await download(e.noGrad(() => layer.forward(p, upload(e, x)).y));
    let state = layer.initialState(e, 3);
    const ys: CpuTensor[] = [];
    for (const token of tokens(x)) {
      const out = e.noGrad(() => layer.step(p, upload(e, token), state));
      ys.push(await download(out.y));
      state = out.state;
    }
    expect(relativeError(stack(ys).data, parallel.data)).toBeLessThan(1e-6);
    expect(state.positions.shape).toEqual([3, 9, 0]);
  });

  it('a sequence past max_positions, or a state of the wrong batch, is refused naming the node', async () => {
    const e = await engine();
    const p = paramView(new Map([['pos.weight', e.fromArray(new Float32Array(MAX * D_MODEL), [MAX, D_MODEL])]]), 'pos');
    const x = e.fromArray(new Float32Array(2 * 4 * D_MODEL), [2, 4, D_MODEL]);
    expect(() => layer.forward(p, x, { initialState: { positions: e.empty([2, 13, 0]) } })).toThrow(
      /position_embedding "pos": position 16 is beyond max_positions 16/,
    );
    expect(() => layer.forward(p, x, { initialState: { positions: e.empty([3, 2, 0]) } })).toThrow(
      /position_embedding "pos": state "positions" must have shape \[2, count, 0\]/,
    );
  });
});
