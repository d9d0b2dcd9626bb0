import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { dplrDeltaRule, dplrStep } from '../../gpu/ops/delta/dplr.js';
import { dplrRef, type DplrRefInputs } from '../../gpu/ops/delta/dplr.ref.js';
import { add, mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { download, expectGpuClose, upload, useEngine } from '../helpers/gpu.js';
import { centralDifferences } from './diagonal-helpers.js';
import { describeMixer } from './diagonal-mixer-harness.js';
import '../../gpu/nn/mixers/delta-rule/index.js';
import { rwkv7Config } from '../../gpu/nn/mixers/delta-rule/rwkv7.js';
import { rwkv7Ref } from '../../gpu/nn/mixers/delta-rule/rwkv7.ref.js';
import type { MixerOptions } from '../../gpu/nn/mixer.js';
import { freshSeed, l2NormalizeRows } from './delta-helpers.js';

const engine = useEngine();

/** RWKV-7's domain: a = −κ̂ (unit rows), b = κ̂ ⊙ α with α ∈ (0, 1), log decay in [−0.6, 0). */
function randomInputs(B: number, T: number, H: number, K: number, V: number, seed: number): Required<DplrRefInputs> {
  const kappa = l2NormalizeRows(randn([B, T, H, K], seed));
  const alpha = uniform([B, T, H, K], seed + 1, 0, 1);
  return {
    q: toFloat32(randn([B, T, H, K], seed + 2)),
    k: toFloat32(randn([B, T, H, K], seed + 3, 0.5)),
    v: toFloat32(randn([B, T, H, V], seed + 4)),
    logw: toFloat32(uniform([B, T, H, K], seed + 5, -0.6, -0.01)),
    a: toFloat32(
      cpuTensor(
        kappa.shape,
        kappa.data.map((x) => -x),
      ),
    ),
    b: toFloat32(
      cpuTensor(
        kappa.shape,
        kappa.data.map((x, i) => x * alpha.data[i]),
      ),
    ),
    h0: toFloat32(randn([B, H, K, V], seed + 6, 0.5)),
  };
}

const NAMES = ['q', 'k', 'v', 'logw', 'a', 'b', 'h0'] as const;

describe('generalized delta rule (RWKV-7 DPLR transition), fused recurrent WGSL', () => {
  it('forward and every gradient (including the initial state, through o and the final state) equal the float64 reference at T=37', async () => {
    const e = await engine();
    const s = freshSeed();
    const [B, T, H, K, V] = [1, 37, 2, 4, 5];
    const x = randomInputs(B, T, H, K, V, s);
    const ref = dplrRef(x);
    const dO = toFloat32(randn([B, T, H, V], s + 7));
    const dS = toFloat32(randn([B, H, K, V], s + 8));
    const t = Object.fromEntries(NAMES.map((n) => [n, upload(e, x[n], true)]));
    const out = dplrDeltaRule({ q: t.q, k: t.k, v: t.v, logw: t.logw, a: t.a, b: t.b }, { initialState: t.h0 });
    await expectGpuClose(out.o, ref.o, 1e-4, 'o');
    await expectGpuClose(out.finalState, ref.finalState, 1e-4, 'final state');
    backward(add(sumAll(mul(out.o, upload(e, dO))), sumAll(mul(out.finalState, upload(e, dS)))));
    const joined = cpuTensor([dO.data.length + dS.data.length], [...dO.data, ...dS.data]);
    const grads = centralDifferences(
      (values) => {
        const r = dplrRef(Object.fromEntries(NAMES.map((n, i) => [n, values[i]])) as unknown as DplrRefInputs);
        return cpuTensor([joined.data.length], [...r.o.data, ...r.finalState.data]);
      },
      NAMES.map((n) => x[n]),
      joined,
    );
    for (const [i, n] of NAMES.entries()) await expectGpuClose(t[n].grad!, grads[i], 1e-4, `d${n}`);
  });

  it('one-token steps with carried state equal the whole-sequence form (T=9)', async () => {
    const e = await engine();
    const [B, T, H, K, V] = [2, 9, 2, 4, 3];
    const x = randomInputs(B, T, H, K, V, freshSeed());
    const pick = (c: CpuTensor, t: number) => {
      const inner = c.data.length / (B * T);
      const out = cpuTensor([B, ...c.shape.slice(2)]);
      for (let b = 0; b < B; b++)
        out.data.set(c.data.subarray((b * T + t) * inner, (b * T + t + 1) * inner), b * inner);
      return out;
    };
    const whole = e.noGrad(() =>
      dplrDeltaRule(
        {
          q: upload(e, x.q),
          k: upload(e, x.k),
          v: upload(e, x.v),
          logw: upload(e, x.logw),
          a: upload(e, x.a),
          b: upload(e, x.b),
        },
        { initialState: upload(e, x.h0) },
      ),
    );
    const wholeO = await download(whole.o);
    let state = upload(e, x.h0);
    for (let t = 0; t < T; t++) {
      const at = (n: 'q' | 'k' | 'v' | 'logw' | 'a' | 'b') => upload(e, pick(x[n], t));
      const step = e.noGrad(() =>
        dplrStep({ q: at('q'), k: at('k'), v: at('v'), logw: at('logw'), a: at('a'), b: at('b') }, state),
      );
      await expectGpuClose(step.o, pick(wholeO, t), 1e-5, `step ${t}`);
      state = step.state;
    }
    await expectGpuClose(state, await download(whole.finalState), 1e-5, 'state after the last step');
  });

  it('mismatched shapes raise errors naming the op and the input', async () => {
    const e = await engine();
    const x = randomInputs(1, 3, 2, 4, 3, 1);
    const t = Object.fromEntries(NAMES.map((n) => [n, upload(e, x[n])]));
    const bad = upload(e, randn([1, 3, 2, 5], 2));
    expect(() => dplrDeltaRule({ q: t.q, k: t.k, v: t.v, logw: bad, a: t.a, b: t.b })).toThrow(
      /dplrDeltaRule: logw must have shape \[1,3,2,4\]/,
    );
    expect(() =>
      dplrDeltaRule({ q: t.q, k: t.k, v: t.v, logw: t.logw, a: t.a, b: t.b }, { initialState: t.q }),
    ).toThrow(/dplrDeltaRule: initialState must have shape \[1,2,4,3\]/);
  });
});

// The RWKV-7 layer through the shared mixer property suite (parallel = reference, gradients = central
// differences, steps = parallel, T=2048 finite, state size, bad options).
const RWKV7_OPTIONS: MixerOptions = {
  head_dim: 4,
  decay_low_rank_dim: 3,
  gate_low_rank_dim: 4,
  a_low_rank_dim: 2,
  layer_idx: 1,
  num_layers: 3,
};
const rwkv7 = rwkv7Config(8, RWKV7_OPTIONS);
describeMixer({
  kind: 'rwkv7',
  options: RWKV7_OPTIONS,
  dModel: 8,
  reference: (params, x, state) => rwkv7Ref(rwkv7, params, x, state),
  randomState: (batch, seed) => ({
    S: toFloat32(randn([batch, rwkv7.heads, rwkv7.headDim, rwkv7.headDim], seed, 0.5)),
    shift: toFloat32(randn([batch, 8], seed + 1)),
  }),
  stateGradKeys: ['S', 'shift'],
  // The fastest decay RWKV-7 allows (log w → −0.607 per token in every channel).
  strongDecay: (params) => {
    const bias = params.get('w_lora.lora.2.bias')!;
    params.set(
      'w_lora.lora.2.bias',
      cpuTensor(
        bias.shape,
        bias.data.map(() => 8),
      ),
    );
  },
  badOptions: [
    [{ head_dim: 3 }, /rwkv7: option "head_dim" 3 must divide d_model 8/],
    [{ head_dim: 4, layer_idx: 3, num_layers: 3 }, /rwkv7: option "layer_idx" 3 must be below num_layers 3/],
  ],
  gradT: 11,
});
