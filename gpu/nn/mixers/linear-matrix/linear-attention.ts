// Linear attention (Katharopoulos et al., "Transformers are RNNs"; fla/layers/linear_attn.py):
//   q = φ(W_q x), k = φ(W_k x), v = W_v x per head,   S_t = S_{t−1} + k_t v_tᵀ,   o_t = scale · S_tᵀ q_t,
// optionally divided by scale · q_t · Σ_{s≤t} k_s (fla's do_feature_map_norm), then RMSNorm per head
// and W_o. The normalizer rides along as one extra value column of ones, so the state carries z = Σ k
// in its last column and the step form needs nothing else.

import { addScalar, div, full } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { rmsNorm } from '../../../ops/norm.js';
import { sum } from '../../../ops/reduce.js';
import { concat, slice } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import { headDims } from '../delta-rule/delta-core.js';
import {
  CHUNK_OPTION,
  FEATURE_MAPS,
  NORM_EPS_OPTION,
  ONES,
  expandOption,
  featureMap,
  fromHeads,
  gla,
  headsOption,
  matrixMixer,
  normal,
  toHeads,
  type FeatureMap,
} from './common.js';

export interface LinearAttentionConfig {
  dModel: number;
  heads: number;
  headK: number;
  headV: number;
  featureMap: FeatureMap;
  normQ: boolean;
  normK: boolean;
  /** Divide by the running normalizer scale · q·Σk (fla do_feature_map_norm). */
  normalize: boolean;
  /** RMSNorm per head on the output (fla output_norm 'rmsnorm'), else none. */
  outputNorm: boolean;
  normEps: number;
  chunkSize: number;
}

/** q / (Σ q + 1e-4) over each head (fla norm_q / norm_k). */
function sumNormalize(x: Tensor): Tensor {
  return div(x, addScalar(sum(x, 3, true), 1e-4));
}

export function linearAttentionMixer(c: LinearAttentionConfig) {
  const { dModel: d, heads: H, headK: K, headV: V } = c;
  const stateV = V + (c.normalize ? 1 : 0);
  return matrixMixer({
    kind: 'linear_attn',
    dModel: d,
    params: () => [
      { name: 'q_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'k_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'v_proj.weight', shape: [H * V, d], init: normal() },
      ...(c.outputNorm ? [{ name: 'norm.weight', shape: [V], init: ONES, noDecay: true }] : []),
      { name: 'o_proj.weight', shape: [d, H * V], init: normal() },
    ],
    stateShapes: (batch) => ({ S: [batch, H, K, stateV] }),
    run(p, x, state, recurrent) {
      const [B, T] = x.shape;
      let q = featureMap(c.featureMap, toHeads(linear(x, p.get('q_proj.weight')), H));
      let k = featureMap(c.featureMap, toHeads(linear(x, p.get('k_proj.weight')), H));
      if (c.normQ) q = sumNormalize(q);
      if (c.normK) k = sumNormalize(k);
      let v = toHeads(linear(x, p.get('v_proj.weight')), H);
      if (c.normalize) v = concat([v, full(x.engine, [B, T, H, 1], 1)], 3);
      const out = gla(q, k, v, { initialState: state?.S, chunkSize: c.chunkSize }, recurrent);
      let o = out.o;
      if (c.normalize) o = div(slice(o, 3, 0, V), addScalar(slice(o, 3, V, V + 1), 1e-10));
      if (c.outputNorm) o = rmsNorm(o, p.get('norm.weight'), c.normEps);
      return { y: linear(fromHeads(o), p.get('o_proj.weight')), state: { S: out.finalState } };
    },
    stateSize: () => H * K * stateV,
    flopsPerToken: () => 2 * d * H * (2 * K + V) + 2 * H * V * d + 4 * H * K * stateV,
  });
}

export function linearAttentionConfig(dModel: number, given: MixerOptions): LinearAttentionConfig {
  const o = resolveOptions(LINEAR_ATTENTION, given);
  const heads = o.num_heads as number;
  const expandK = o.expand_k as number;
  const expandV = o.expand_v as number;
  const dims = headDims(
    'linear_attn',
    heads,
    [dModel * expandK, `d_model ${dModel} × expand_k ${expandK}`],
    [dModel * expandV, `d_model ${dModel} × expand_v ${expandV}`],
  );
  return {
    dModel,
    heads,
    ...dims,
    featureMap: o.feature_map as FeatureMap,
    normQ: o.norm_q as boolean,
    normK: o.norm_k as boolean,
    normalize: o.normalize as boolean,
    outputNorm: o.output_norm === 'rmsnorm',
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const LINEAR_ATTENTION: MixerFactory = {
  kind: 'linear_attn',
  title: 'Linear attention',
  family: 'linear-matrix',
  description:
    'Attention with a feature map instead of softmax: a matrix state that never forgets (fla LinearAttention).',
  options: [
    headsOption(8),
    expandOption('expand_k', 1),
    expandOption('expand_v', 1),
    {
      name: 'feature_map',
      type: 'enum',
      default: 'elu',
      choices: [...FEATURE_MAPS],
      help: 'φ on queries and keys: elu(x)+1 (Katharopoulos), relu, or identity.',
    },
    { name: 'norm_q', type: 'bool', default: false, help: 'Divide each query head by its sum (fla norm_q).' },
    { name: 'norm_k', type: 'bool', default: false, help: 'Divide each key head by its sum (fla norm_k).' },
    {
      name: 'normalize',
      type: 'bool',
      default: false,
      help: 'Divide by q·Σk (the original normalizer; fla do_feature_map_norm). Adds one state column per head.',
    },
    {
      name: 'output_norm',
      type: 'enum',
      default: 'rmsnorm',
      choices: ['rmsnorm', 'identity'],
      help: 'Norm on each head output.',
    },
    NORM_EPS_OPTION,
    CHUNK_OPTION,
  ],
  create: (dModel, options) => linearAttentionMixer(linearAttentionConfig(dModel, options)),
};

registerMixer(LINEAR_ATTENTION);
