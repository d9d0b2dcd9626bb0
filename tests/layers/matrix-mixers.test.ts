// Every class-B mixer through the shared mixer property suite: parallel form = float64 reference (with
// and without a carried state), every gradient = central differences of the reference, step-by-step =
// parallel form, T=2048 with strong decay stays finite and on the reference, state size by formula,
// and bad options fail naming the layer and the option.

import { describe, expect, it } from 'vitest';
import { cpuTensor, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { mixerFactory, type MixerOptions } from '../../gpu/nn/mixer.js';
import { createParams, paramView } from '../../gpu/nn/module.js';
import '../../gpu/nn/mixers/linear-matrix/index.js';
import type { RefParams, RefState } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { glaConfig } from '../../gpu/nn/mixers/linear-matrix/gla.js';
import { glaMixerRef } from '../../gpu/nn/mixers/linear-matrix/gla.ref.js';
import { linearAttentionConfig } from '../../gpu/nn/mixers/linear-matrix/linear-attention.js';
import { linearAttentionRef } from '../../gpu/nn/mixers/linear-matrix/linear-attention.ref.js';
import { retnetConfig } from '../../gpu/nn/mixers/linear-matrix/retnet.js';
import { retnetRef } from '../../gpu/nn/mixers/linear-matrix/retnet.ref.js';
import { mamba2Config } from '../../gpu/nn/mixers/linear-matrix/mamba2.js';
import { mamba2Ref } from '../../gpu/nn/mixers/linear-matrix/mamba2.ref.js';
import { hgrn2Config } from '../../gpu/nn/mixers/linear-matrix/hgrn2.js';
import { hgrn2Ref } from '../../gpu/nn/mixers/linear-matrix/hgrn2.ref.js';
import { mlstmConfig } from '../../gpu/nn/mixers/linear-matrix/mlstm.js';
import { mlstmRef } from '../../gpu/nn/mixers/linear-matrix/mlstm.ref.js';
import { rwkv6Config } from '../../gpu/nn/mixers/linear-matrix/rwkv6.js';
import { rwkv6Ref } from '../../gpu/nn/mixers/linear-matrix/rwkv6.ref.js';
import { gsaConfig } from '../../gpu/nn/mixers/linear-matrix/gsa.js';
import { gsaRef } from '../../gpu/nn/mixers/linear-matrix/gsa.ref.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { describeMixer } from './diagonal-mixer-harness.js';

const D = 8;

/** Sets a parameter to a constant (strong-decay settings). */
function setAll(params: RefParams, name: string, value: number) {
  const t = params.get(name)!;
  params.set(name, cpuTensor(t.shape, new Array(t.data.length).fill(value)));
}

function scaleParam(params: RefParams, name: string, factor: number) {
  const t = params.get(name)!;
  params.set(
    name,
    cpuTensor(
      t.shape,
      t.data.map((v) => v * factor),
    ),
  );
}

const normalState =
  (shapes: Record<string, number[]>, std = 0.5) =>
  (seed: number) =>
    Object.fromEntries(Object.entries(shapes).map(([k, s], i) => [k, toFloat32(randn(s, seed + i, std))])) as RefState;

// ---------------------------------------------------------------- linear attention

for (const options of [
  { num_heads: 2, feature_map: 'elu', chunk_size: '16' },
  // Smooth feature maps only here: finite differences across a ReLU kink are not a derivative (relu
  // and identity are checked forward and step-by-step below).
  { num_heads: 2, expand_v: 1.5, feature_map: 'elu', normalize: true, norm_k: true, output_norm: 'identity' },
] as MixerOptions[]) {
  const c = linearAttentionConfig(D, options);
  const width = c.headV + (c.normalize ? 1 : 0);
  describeMixer({
    kind: 'linear_attn',
    options,
    dModel: D,
    reference: (p, x, s) => linearAttentionRef(c, p, x, s),
    // The normalizer column z = Σ φ(k) of a real state is positive.
    randomState: (batch, seed) => {
      const S = toFloat32(randn([batch, c.heads, c.headK, width], seed, 0.5));
      if (c.normalize) for (let i = width - 1; i < S.data.length; i += width) S.data[i] = Math.abs(S.data[i]) + 1;
      return { S };
    },
    stateGradKeys: ['S'],
    // No decay to strengthen: the long test checks that an ever-growing state stays finite.
    strongDecay: () => {},
    badOptions: [
      [{ num_heads: 3 }, /linear_attn: option "num_heads" 3 must divide the key width 8/],
      [{ feature_map: 'hedgehog' }, /linear_attn: option "feature_map" must be one of identity, elu, relu/],
      [{ chunk_size: '64' }, /linear_attn: option "chunk_size" must be one of 16, 32/],
    ],
    gradT: 17,
  });
}

// ---------------------------------------------------------------- RetNet

for (const options of [
  { num_heads: 2, chunk_size: '16' },
  { num_heads: 2, expand_v: 1, use_output_gate: false },
] as MixerOptions[]) {
  const c = retnetConfig(D, options);
  describeMixer({
    kind: 'retnet',
    options,
    dModel: D,
    reference: (p, x, s) => retnetRef(c, p, x, s),
    randomState: (batch, seed) => ({
      S: toFloat32(randn([batch, c.heads, c.headK, c.headV], seed, 0.5)),
      position: cpuTensor(
        [batch],
        uniform([batch], seed + 1, 0, 500).data.map((p) => Math.floor(p)),
      ),
    }),
    stateGradKeys: ['S'],
    strongDecay: () => {},
    badOptions: [
      [{ num_heads: 3 }, /retnet: option "num_heads" 3 must divide the key width 8/],
      [{ num_heads: 8 }, /retnet: key head dim 1 must be even for the rotary embedding/],
    ],
    gradT: 17,
  });
}

// ---------------------------------------------------------------- GLA

for (const options of [
  { num_heads: 2, gate_low_rank_dim: 4, chunk_size: '16' },
  { num_heads: 1, expand_k: 1, gate_low_rank_dim: 3, use_output_gate: false },
] as MixerOptions[]) {
  const c = glaConfig(D, options);
  describeMixer({
    kind: 'gla',
    options,
    dModel: D,
    reference: (p, x, s) => glaMixerRef(c, p, x, s),
    randomState: (batch, seed) => normalState({ S: [batch, c.heads, c.headK, c.headV] })(seed),
    stateGradKeys: ['S'],
    // logsigmoid(−100)/16 ≈ −6.25 per token and channel.
    strongDecay: (p) => setAll(p, 'gk_proj.1.bias', -100),
    badOptions: [
      [{ num_heads: 3 }, /gla: option "num_heads" 3 must divide the key width 4/],
      [{ expand_k: 0.3 }, /gla: key width 2.4 \(d_model 8 × expand_k 0.3\) must be a positive integer/],
      [{ gate_low_rank_dim: 0 }, /gla: option "gate_low_rank_dim" must be at least 1/],
    ],
    gradT: 17,
  });
}

// ---------------------------------------------------------------- Mamba-2

for (const options of [
  { d_state: 4, headdim: 4, chunk_size: '16' },
  { d_state: 3, headdim: 4, ngroups: 2, d_conv: 3 },
] as MixerOptions[]) {
  const c = mamba2Config(D, options);
  const convDim = c.dInner + 2 * c.groups * c.dState;
  describeMixer({
    kind: 'mamba2',
    options,
    dModel: D,
    reference: (p, x, s) => mamba2Ref(c, p, x, s),
    randomState: (batch, seed) =>
      normalState({ S: [batch, c.heads, c.dState, c.headDim], conv: [batch, c.convSize - 1, convDim] })(seed),
    stateGradKeys: ['S', 'conv'],
    // A = −e³ ≈ −20 and dt ≈ softplus(3 + ·): log decay ≈ −60 per token.
    strongDecay: (p) => {
      setAll(p, 'A_log', 3);
      setAll(p, 'dt_bias', 3);
    },
    badOptions: [
      [{ headdim: 5 }, /mamba2: option "headdim" 5 must divide d_inner 16/],
      [{ headdim: 4, ngroups: 3 }, /mamba2: option "ngroups" 3 must divide the number of heads 4/],
      [{ d_conv: 1 }, /mamba2: option "d_conv" must be at least 2/],
    ],
    gradT: 17,
  });
}

// ---------------------------------------------------------------- HGRN2

for (const options of [
  { expand_ratio: 4 },
  { expand_ratio: 2, lower_bound: 0.5, chunk_size: '16' },
] as MixerOptions[]) {
  const c = hgrn2Config(D, options);
  describeMixer({
    kind: 'hgrn2',
    options,
    dModel: D,
    reference: (p, x, s) => hgrn2Ref(c, p, x, s),
    randomState: (batch, seed) => normalState({ S: [batch, c.heads, c.headDim, c.headDim] })(seed),
    stateGradKeys: ['S'],
    // Forget-gate logits of ±50·|W_f x|: many channels forget almost everything every token.
    strongDecay: (p) => scaleParam(p, 'f_proj.weight', 50),
    badOptions: [
      [{ expand_ratio: 3 }, /hgrn2: option "expand_ratio" 3 must divide d_model 8/],
      [{ lower_bound: 1 }, /hgrn2: option "lower_bound" must be at most 0.999/],
    ],
    gradT: 17,
  });
}

// ---------------------------------------------------------------- mLSTM

for (const options of [
  { num_heads: 2, proj_factor: 1, round_proj_up_to_multiple_of: 4, qkv_proj_blocksize: 2, conv_size: 3, norm_eps: 1 },
  {
    num_heads: 1,
    proj_factor: 1.5,
    round_proj_up_to_multiple_of: 4,
    qkv_proj_blocksize: 4,
    norm_eps: 0.1,
    chunk_size: '16',
  },
] as MixerOptions[]) {
  // A large GroupNorm epsilon: with a small one the norm is scale invariant, which cancels the
  // normalizer's gradient almost exactly and leaves only float32 noise for the n check to compare.
  const c = mlstmConfig(D, options);
  const { heads: H, headDim: K } = c;
  describeMixer({
    kind: 'mlstm',
    options,
    dModel: D,
    reference: (p, x, s) => mlstmRef(c, p, x, s),
    // A normalizer large against exp(−m), so that |nᵀq| wins the max and the n path carries gradient.
    randomState: (batch, seed) => ({
      ...normalState({ S: [batch, H, K, K], conv: [batch, c.convSize - 1, c.inner] })(seed),
      n: toFloat32(randn([batch, H, K], seed + 8, 3)),
      m: toFloat32(uniform([batch, H], seed + 9, 0, 3)),
    }),
    stateGradKeys: ['S', 'n', 'm', 'conv'],
    // log σ(−20) ≈ −20 per token: the memory is replaced at every step.
    strongDecay: (p) => setAll(p, 'fgate.bias', -20),
    badOptions: [
      [{ num_heads: 3, round_proj_up_to_multiple_of: 4 }, /mlstm: option "num_heads" 3 must divide the inner width 16/],
      [{ qkv_proj_blocksize: 5, num_heads: 1 }, /mlstm: option "qkv_proj_blocksize" 5 must divide the inner width 64/],
    ],
    gradT: 17,
  });
}

// ---------------------------------------------------------------- RWKV-6

for (const options of [
  { num_heads: 2, proj_low_rank_dim: 2, gate_low_rank_dim: 3, chunk_size: '16' },
  { num_heads: 1, expand_k: 1, expand_v: 0.5, proj_low_rank_dim: 3, gate_low_rank_dim: 4 },
] as MixerOptions[]) {
  const c = rwkv6Config(D, options);
  describeMixer({
    kind: 'rwkv6',
    options,
    dModel: D,
    reference: (p, x, s) => rwkv6Ref(c, p, x, s),
    randomState: (batch, seed) => normalState({ S: [batch, c.heads, c.headK, c.headV], shift: [batch, D] })(seed),
    stateGradKeys: ['S', 'shift'],
    // log w = −e³ ≈ −20 per token and channel.
    strongDecay: (p) => setAll(p, 'w_proj.linear.lora.2.bias', 3),
    badOptions: [
      [{ num_heads: 3 }, /rwkv6: option "num_heads" 3 must divide the key width 4/],
      [{ proj_low_rank_dim: 0 }, /rwkv6: option "proj_low_rank_dim" must be at least 1/],
    ],
    gradT: 17,
  });
}

// ---------------------------------------------------------------- GSA

for (const options of [
  { num_heads: 2, num_slots: 3, chunk_size: '16' },
  { num_heads: 1, expand_k: 0.5, num_slots: 0 },
] as MixerOptions[]) {
  const c = gsaConfig(D, options);
  describeMixer({
    kind: 'gsa',
    options,
    dModel: D,
    reference: (p, x, s) => gsaRef(c, p, x, s),
    randomState: (batch, seed) =>
      normalState({ Sk: [batch, c.heads, c.slots, c.headK], Sv: [batch, c.heads, c.slots, c.headV] })(seed),
    stateGradKeys: ['Sk', 'Sv'],
    // Slot gates of ±50·|W_f x|: many slots are overwritten at every token.
    strongDecay: (p) => scaleParam(p, 'f_proj.weight', 50),
    badOptions: [
      [{ num_heads: 3 }, /gsa: option "num_heads" 3 must divide the key width 8/],
      [{ feature_map: 't2r' }, /gsa: option "feature_map" must be one of swish, relu/],
    ],
    gradT: 17,
  });
}

// Finite differences across a ReLU kink are not a derivative, so the non-smooth feature maps are
// checked here forward and step-by-step only (their gradients are the same code paths as above).
describe('non-smooth feature maps: parallel form = float64 reference = step-by-step (T=19)', () => {
  const engine = useEngine();
  const cases: [string, MixerOptions, (p: RefParams, x: CpuTensor) => CpuTensor][] = [];
  for (const options of [
    { num_heads: 2, feature_map: 'relu', norm_q: true },
    { num_heads: 2, feature_map: 'identity' },
  ] as MixerOptions[]) {
    cases.push(['linear_attn', options, (p, x) => linearAttentionRef(linearAttentionConfig(D, options), p, x).y]);
  }
  const gsaRelu: MixerOptions = { num_heads: 2, num_slots: 3, feature_map: 'relu' };
  cases.push(['gsa', gsaRelu, (p, x) => gsaRef(gsaConfig(D, gsaRelu), p, x).y]);
  for (const [kind, options, reference] of cases) {
    it(`${kind} ${JSON.stringify(options)}`, async () => {
      const e = await engine();
      const mixer = mixerFactory(kind).create(D, options);
      const params: RefParams = new Map(mixer.params().map((s, i) => [s.name, toFloat32(randn(s.shape, i + 1, 0.3))]));
      const gpu = paramView(new Map([...params].map(([n, t]) => [n, e.fromArray(t.data, t.shape)])), '');
      const x = toFloat32(randn([2, 19, D], 7));
      const expected = reference(params, x).data;
      expect(relativeError(await mixer.forward(gpu, e.fromArray(x.data, x.shape)).y.read(), expected)).toBeLessThan(
        1e-4,
      );
      let state = mixer.initialState(e, 2);
      const steps = new Float64Array(expected.length);
      for (let t = 0; t < 19; t++) {
        const token = cpuTensor([2, D]);
        for (let b = 0; b < 2; b++) token.data.set(x.data.subarray((b * 19 + t) * D, (b * 19 + t + 1) * D), b * D);
        const out = mixer.step(gpu, e.fromArray(token.data, token.shape), state);
        const y = await out.y.read();
        for (let b = 0; b < 2; b++) steps.set(y.subarray(b * D, (b + 1) * D), (b * 19 + t) * D);
        state = out.state;
      }
      expect(relativeError(steps, expected)).toBeLessThan(1e-4);
    });
  }
});

// ---------------------------------------------------------------- bad calls

describe('bad inputs and states raise errors naming the layer, the entry and the shapes', () => {
  const engine = useEngine();
  it('wrong input width, wrong step rank, a missing or misshapen state entry', async () => {
    const e = await engine();
    const gla = mixerFactory('gla').create(D, { num_heads: 2 });
    const prefixed = createParams(
      e,
      gla.params().map((s) => ({ ...s, name: `layers.3.mixer.${s.name}` })),
      1,
    );
    const q = paramView(prefixed, 'layers.3.mixer');
    expect(() => gla.forward(q, e.empty([2, 5, 7]))).toThrow(
      /gla layer "layers.3.mixer": parallel input must be \[B, T, 8\], got \[2,5,7\]/,
    );
    expect(() => gla.step(q, e.empty([2, 1, 8]), gla.initialState(e, 2))).toThrow(
      /gla layer "layers.3.mixer": step input must be \[B, 8\], got \[2,1,8\]/,
    );
    expect(() => gla.forward(q, e.empty([2, 5, 8]), { initialState: { S: e.empty([2, 2, 4, 4]) } })).toThrow(
      /gla layer "layers.3.mixer": state "S" must have shape \[2,2,2,4\], got \[2,2,4,4\]/,
    );
    const mlstm = mixerFactory('mlstm').create(D, { num_heads: 2, round_proj_up_to_multiple_of: 4 });
    const m = paramView(createParams(e, mlstm.params(), 1), '');
    const state = mlstm.initialState(e, 2);
    delete state.m;
    expect(() => mlstm.step(m, e.empty([2, D]), state)).toThrow(
      /mlstm layer "": state "m" is missing \(expected \[2,2\]\)/,
    );
  });
});
