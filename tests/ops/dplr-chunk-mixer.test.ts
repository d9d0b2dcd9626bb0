// The RWKV-7 mixer on the chunked generalized delta rule: its 'chunk' and 'recurrent' implementations
// give the same outputs, states and gradients, and 'chunk' equals the layer's float64 reference.

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { chooseDplrImplementation, DPLR_CHUNK_MIN_T } from '../../gpu/ops/delta/dplr-chunk.js';
import { add, mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import '../../gpu/nn/mixers/delta-rule/index.js';
import { mixerFactory, type MixerOptions } from '../../gpu/nn/mixer.js';
import { paramView } from '../../gpu/nn/module.js';
import { rwkv7Config } from '../../gpu/nn/mixers/delta-rule/rwkv7.js';
import { rwkv7Ref } from '../../gpu/nn/mixers/delta-rule/rwkv7.ref.js';
import { expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';
import { freshSeed, noisyParams, uploadParams } from '../layers/delta-helpers.js';

const engine = useEngine();
const D = 16;
const OPTIONS: MixerOptions = {
  head_dim: 8,
  decay_low_rank_dim: 4,
  gate_low_rank_dim: 4,
  a_low_rank_dim: 3,
  layer_idx: 1,
  num_layers: 3,
  chunk_size: '16',
};
const T = 50; // three chunks of 16 and a partial one
const create = (implementation: string) => mixerFactory('rwkv7').create(D, { ...OPTIONS, implementation });

function randomState(batch: number, seed: number) {
  return {
    S: toFloat32(randn([batch, 2, 8, 8], seed, 0.5)),
    shift: toFloat32(randn([batch, D], seed + 1)),
  };
}

describe('RWKV-7 mixer: chunked and recurrent implementations', () => {
  it(`'chunk' equals the float64 layer reference at T=${T} from a carried state`, async () => {
    const e = await engine();
    const s = freshSeed();
    const mixer = create('chunk');
    const params = noisyParams(mixer.params(), s, 0.05);
    const x = toFloat32(randn([2, T, D], s + 1));
    const state = randomState(2, s + 2);
    const ref = rwkv7Ref(rwkv7Config(D, OPTIONS), params, x, state);
    const out = mixer.forward(paramView(uploadParams(e, params), ''), upload(e, x), {
      initialState: { S: upload(e, state.S), shift: upload(e, state.shift) },
      returnState: true,
    });
    await expectGpuClose(out.y, ref.y, 1e-4, `y (seed ${s})`);
    for (const key of ['S', 'shift']) await expectGpuClose(out.state![key], ref.state[key], 1e-4, `state ${key}`);
  });

  it(`'chunk' and 'recurrent' agree on y, the final state and every gradient (parameters, input, carried state) at T=${T}`, async () => {
    const e = await engine();
    const s = freshSeed();
    const params = noisyParams(create('chunk').params(), s, 0.05);
    const x = toFloat32(randn([2, T, D], s + 1));
    const state = randomState(2, s + 2);
    const upstream = upload(e, toFloat32(randn([2, T, D], s + 3)));
    const upstreamS = upload(e, toFloat32(randn([2, 2, 8, 8], s + 4)));
    const run = async (implementation: string) => {
      const p = uploadParams(e, params);
      const xt = upload(e, x, true);
      const st = { S: upload(e, state.S, true), shift: upload(e, state.shift, true) };
      const out = create(implementation).forward(paramView(p, ''), xt, { initialState: st, returnState: true });
      backward(add(sumAll(mul(out.y, upstream)), sumAll(mul(out.state!.S, upstreamS))));
      const values = new Map<string, ArrayLike<number>>([
        ['y', await out.y.read()],
        ['S', await out.state!.S.read()],
        ['dx', await xt.grad!.read()],
        ['dS0', await st.S.grad!.read()],
        ['dshift', await st.shift.grad!.read()],
      ]);
      for (const [name, t] of p) values.set(`d ${name}`, await t.grad!.read());
      return values;
    };
    const chunked = await run('chunk');
    const recurrent = await run('recurrent');
    expect(chunked.size).toBe(recurrent.size);
    for (const [name, expected] of recurrent) {
      expect(relativeError(chunked.get(name)!, expected), `${name} (seed ${s})`).toBeLessThan(1e-4);
    }
  });

  it(`'auto' runs chunked from ${DPLR_CHUNK_MIN_T} tokens on; an unknown implementation is refused`, () => {
    expect(chooseDplrImplementation(DPLR_CHUNK_MIN_T - 1)).toBe('recurrent');
    expect(chooseDplrImplementation(DPLR_CHUNK_MIN_T)).toBe('chunk');
    expect(chooseDplrImplementation(1, 'chunk')).toBe('chunk');
    expect(chooseDplrImplementation(4096, 'recurrent')).toBe('recurrent');
    expect(() => create('fast')).toThrow(/rwkv7: option "implementation"/);
    expect(() => mixerFactory('rwkv7').create(D, { ...OPTIONS, chunk_size: '8' })).toThrow(
      /rwkv7: option "chunk_size"/,
    );
  });
});
