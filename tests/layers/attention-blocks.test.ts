// The Llama-style Transformer block and the Griffin group (RG-LRU, RG-LRU, local MQA attention, each in a
// pre-norm residual block with a gated MLP): GPU = float64 reference composed from the mixers' own
// references, gradients = central differences, and the step form (KV cache + recurrent state) = parallel.

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { griffinGroup } from '../../gpu/nn/blocks/griffin.js';
import { transformerBlock } from '../../gpu/nn/blocks/transformer-block.js';
import { preNormBlockRef, subParams, type MixerRef } from '../../gpu/nn/blocks/transformer-block.ref.js';
import type { Mixer } from '../../gpu/nn/mixer.js';
import '../../gpu/nn/mixers/attention/index.js';
import '../../gpu/nn/mixers/linear-diagonal/index.js';
import { attentionConfig } from '../../gpu/nn/mixers/attention/attention.js';
import { attentionLayerRef } from '../../gpu/nn/mixers/attention/attention.ref.js';
import { hawkRef } from '../../gpu/nn/mixers/linear-diagonal/hawk.ref.js';
import type { RefParams, RefState } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { paramView } from '../../gpu/nn/module.js';
import { download, expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';
import { centralDifferences, stack, tokens } from './diagonal-helpers.js';
import { freshSeed, noisyParams, uploadParams } from './delta-helpers.js';

const engine = useEngine();
const D = 8;

const transformer = transformerBlock(D, { heads: 2, kvHeads: 1, mlpHidden: 16 });
const transformerAttention = attentionConfig(D, { num_heads: 2, num_kv_heads: 1 });
const transformerRef = (params: RefParams, x: CpuTensor, state?: RefState) =>
  preNormBlockRef(params, x, state, (p, xs, s) => attentionLayerRef(transformerAttention, p, xs, s), 'swiglu');

const griffin = griffinGroup(D, { heads: 2, window: 4, mlpHidden: 16 });
const griffinAttention = attentionConfig(D, { num_heads: 2, num_kv_heads: 1, window: 4 });
const griffinMixers: MixerRef[] = [hawkRef, hawkRef, (p, xs, s) => attentionLayerRef(griffinAttention, p, xs, s)];
function griffinRef(params: RefParams, x: CpuTensor, state?: RefState) {
  let y = x;
  const next: RefState = {};
  griffinMixers.forEach((mixerRef, i) => {
    const name = `blocks.${i}`;
    const inner =
      state &&
      Object.fromEntries(
        Object.entries(state)
          .filter(([k]) => k.startsWith(`${name}.`))
          .map(([k, t]) => [k.slice(name.length + 1), t]),
      );
    const out = preNormBlockRef(subParams(params, name), y, inner, mixerRef, 'geglu');
    y = out.y;
    for (const [k, t] of Object.entries(out.state)) next[`${name}.${k}`] = t;
  });
  return { y, state: next };
}

async function expectParallelMatchesReference(block: Mixer, reference: typeof transformerRef) {
  const e = await engine();
  const s = freshSeed();
  const params = noisyParams(block.params(), s, 0.2);
  const x = toFloat32(randn([2, 13, D], s + 1));
  const ref = reference(params, x);
  const out = block.forward(paramView(uploadParams(e, params), ''), upload(e, x), { returnState: true });
  await expectGpuClose(out.y, ref.y, 1e-4, 'y');
  for (const key of Object.keys(ref.state)) await expectGpuClose(out.state![key], ref.state[key], 1e-4, `state ${key}`);
}

async function expectStepsMatchParallel(block: Mixer) {
  const e = await engine();
  const s = freshSeed();
  const p = paramView(uploadParams(e, noisyParams(block.params(), s, 0.2)), '');
  const x = toFloat32(randn([2, 9, D], s + 1));
  const parallel = await download(e.noGrad(() => block.forward(p, upload(e, x)).y));
  let state = block.initialState(e, 2);
  const ys: CpuTensor[] = [];
  for (const token of tokens(x)) {
    const out = e.noGrad(() => block.step(p, upload(e, token), state));
    ys.push(await download(out.y));
    state = out.state;
  }
  expect(relativeError(stack(ys).data, parallel.data)).toBeLessThan(1e-5);
}

describe('Llama-style Transformer block (pre-norm attention + SwiGLU)', () => {
  it('forward equals the float64 reference at T=13 (output and KV cache)', async () => {
    await expectParallelMatchesReference(transformer, transformerRef);
  });
  it('gradients of every parameter and the input equal central differences of the reference', async () => {
    const e = await engine();
    const s = freshSeed();
    const params = noisyParams(transformer.params(), s, 0.2);
    const x = toFloat32(randn([1, 7, D], s + 1));
    const upstream = toFloat32(randn([1, 7, D], s + 2));
    const gpu = uploadParams(e, params);
    const xt = upload(e, x, true);
    backward(sumAll(mul(transformer.forward(paramView(gpu, ''), xt).y, upload(e, upstream))));
    const names = [...params.keys()];
    const grads = centralDifferences(
      (values) => transformerRef(new Map(names.map((n, i) => [n, values[i]])), values[names.length]).y,
      [...names.map((n) => params.get(n)!), x],
      upstream,
    );
    for (const [i, name] of names.entries()) await expectGpuClose(gpu.get(name)!.grad!, grads[i], 1e-4, `d ${name}`);
    await expectGpuClose(xt.grad!, grads[names.length], 1e-4, 'dx');
  });
  it('KV-cache steps equal the parallel form (T=9)', async () => {
    await expectStepsMatchParallel(transformer);
  });
});

describe('Griffin group (RG-LRU, RG-LRU, local MQA attention; GeGLU MLPs)', () => {
  it('forward equals the float64 reference composed from the Hawk and attention references (T=13, state)', async () => {
    await expectParallelMatchesReference(griffin, griffinRef);
  });
  it('steps with recurrent state and KV cache equal the parallel form (T=9)', async () => {
    await expectStepsMatchParallel(griffin);
  });
  it('parameters are named per block (blocks.i.attn_norm, blocks.i.attn.*, blocks.i.mlp.*)', () => {
    const names = griffin.params().map((p) => p.name);
    expect(names).toContain('blocks.0.attn.rg_lru.a_param');
    expect(names).toContain('blocks.2.attn.k_proj.weight');
    expect(names).toContain('blocks.2.mlp.down_proj.weight');
    expect(names.filter((n) => n.endsWith('attn_norm.weight'))).toHaveLength(3);
  });
});
