// DeltaNet, Gated DeltaNet and DeltaProduct (with and without negative eigenvalues) through the shared
// mixer property suite: parallel = float64 reference, every gradient = central differences of the
// reference, step-by-step = parallel, T=2048 stays finite, state size, bad options.

import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import type { MixerOptions } from '../../gpu/nn/mixer.js';
import '../../gpu/nn/mixers/delta-rule/index.js';
import type { DeltaCoreConfig } from '../../gpu/nn/mixers/delta-rule/delta-core.js';
import { deltaMixerRef } from '../../gpu/nn/mixers/delta-rule/delta-core.ref.js';
import { deltanetConfig } from '../../gpu/nn/mixers/delta-rule/deltanet.js';
import { deltaproductConfig } from '../../gpu/nn/mixers/delta-rule/deltaproduct.js';
import { gatedDeltanetConfig } from '../../gpu/nn/mixers/delta-rule/gated-deltanet.js';
import type { RefParams, RefState } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { describeMixer } from './diagonal-mixer-harness.js';

const D_MODEL = 8;

function randomState(c: DeltaCoreConfig) {
  return (batch: number, seed: number): RefState => {
    const { heads: H, headK: K, headV: V, householder: n } = c;
    const state: RefState = { S: toFloat32(randn([batch, H, K, V], seed, 0.5)) };
    if (c.convSize > 0) {
      state.q_conv1d = toFloat32(randn([batch, c.convSize - 1, H * K], seed + 1));
      state.k_conv1d = toFloat32(randn([batch, c.convSize - 1, n * H * K], seed + 2));
      state.v_conv1d = toFloat32(randn([batch, c.convSize - 1, n * H * V], seed + 3));
    }
    return state;
  };
}

/** Forget gates near zero (g ≈ −100 per token) where the layer has them; β saturated at its maximum otherwise. */
function strongDecay(c: DeltaCoreConfig) {
  return (params: RefParams) => {
    if (c.gated) {
      params.set('A_log', cpuTensor([c.heads], new Array(c.heads).fill(4)));
      params.set('dt_bias', cpuTensor([c.heads], new Array(c.heads).fill(2)));
    }
    const b = params.get('b_proj.weight')!;
    params.set(
      'b_proj.weight',
      cpuTensor(
        b.shape,
        b.data.map((v) => v * 50),
      ),
    );
  };
}

// Gated DeltaNet's A_log and dt_bias are one scalar per head whose gradients sum every token's and every
// state entry's contribution, of both signs: when they cancel, f32 summation error relative to the small
// total reaches 1e-4 (over 8 runs 1e-6 to 9e-6; one CI run 1.2e-4). A wrong gradient is off by O(1).
const PER_HEAD_SCALARS = { A_log: 1e-3, dt_bias: 1e-3 };

function suite(kind: string, options: MixerOptions, config: DeltaCoreConfig, badOptions: [MixerOptions, RegExp][]) {
  describeMixer({
    kind,
    options,
    dModel: D_MODEL,
    reference: (params, x, state) => deltaMixerRef(config, params, x, state),
    randomState: randomState(config),
    stateGradKeys: config.convSize > 0 ? ['S', 'q_conv1d', 'k_conv1d', 'v_conv1d'] : ['S'],
    strongDecay: strongDecay(config),
    badOptions,
    gradT: 17,
    gradTolerance: config.gated ? PER_HEAD_SCALARS : undefined,
  });
}

const deltanet: MixerOptions = { num_heads: 2, chunk_size: '16' };
suite('deltanet', deltanet, deltanetConfig(D_MODEL, deltanet), [
  [{ num_heads: 3 }, /deltanet: option "num_heads" 3 must divide the key width 8 \(d_model 8 × expand_k 1\)/],
  [{ chunk_size: '24' }, /deltanet: option "chunk_size" must be one of 16, 32/],
  [{ conv_size: 1 }, /deltanet: option "conv_size" 1 carries no history/],
]);

const gated: MixerOptions = { num_heads: 2, head_dim: 4, expand_v: 1.5, chunk_size: '16' };
suite('gated_deltanet', gated, gatedDeltanetConfig(D_MODEL, gated), [
  [{ num_heads: 3, head_dim: 0 }, /gated_deltanet: option "num_heads" 3 must divide the key width 8/],
  [{ expand_v: 0.3 }, /gated_deltanet: value width 2.4 \(key width 8 × expand_v 0.3\) must be a positive integer/],
]);

// DeltaProduct runs with its defaults' negative eigenvalues (β ∈ [0, 2]) and without convolutions.
const product: MixerOptions = {
  num_heads: 2,
  head_dim: 3,
  expand_v: 1,
  num_householder: 2,
  conv_size: 0,
  chunk_size: '16',
};
suite('deltaproduct', product, deltaproductConfig(D_MODEL, product), [
  [{ num_householder: 0 }, /deltaproduct: option "num_householder" must be at least 1/],
]);
