// Every class-B mixer through the shared mixer property suite: parallel form = float64 reference (with
// and without a carried state), every gradient = central differences of the reference, step-by-step =
// parallel form, T=2048 with strong decay stays finite and on the reference, state size by formula,
// and bad options fail naming the layer and the option.

import { cpuTensor, randn, toFloat32, uniform } from '../../gpu/cpu/tensor.js';
import type { MixerOptions } from '../../gpu/nn/mixer.js';
import '../../gpu/nn/mixers/linear-matrix/index.js';
import type { RefParams, RefState } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { glaConfig } from '../../gpu/nn/mixers/linear-matrix/gla.js';
import { glaMixerRef } from '../../gpu/nn/mixers/linear-matrix/gla.ref.js';
import { linearAttentionConfig } from '../../gpu/nn/mixers/linear-matrix/linear-attention.js';
import { linearAttentionRef } from '../../gpu/nn/mixers/linear-matrix/linear-attention.ref.js';
import { retnetConfig } from '../../gpu/nn/mixers/linear-matrix/retnet.js';
import { retnetRef } from '../../gpu/nn/mixers/linear-matrix/retnet.ref.js';
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
  { num_heads: 2, expand_v: 1.5, feature_map: 'relu', normalize: true, norm_k: true, output_norm: 'identity' },
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

void scaleParam;
