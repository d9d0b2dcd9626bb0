// HGRN2 (Qin et al., "HGRN2: Gated Linear RNNs with State Expansion"; fla/layers/hgrn2.py): HGRN's
// forget gate λ becomes the decay of a GLA state and its complement the key ("forget/input tying"):
//   q = swish(W_q x),  λ = lb + (1 − lb) σ(W_f x),  k = 1 − λ,  v = W_i x,
//   S_t = Diag(λ_t) S_{t−1} + k_t v_tᵀ per head,  o_t = K^−½ S_tᵀ q_t,  y = W_o RMSNorm(o).
// Heads = d_model / expand_ratio, each with key and value dims expand_ratio. fla writes log λ as
// logaddexp(log lb, log(1 − lb) + logsigmoid(W_f x)); that is the same number as log(lb + (1 − lb) σ),
// and k = (1 − lb) σ(−W_f x) avoids the cancellation of 1 − λ near λ = 1. `lower_bound` is this layer's
// floor (fla derives it per layer from a learned softmax over layers: 0 for the first layer).

import { logsigmoid, silu } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { rmsNorm } from '../../../ops/norm.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import { fusedMap } from '../linear-diagonal/common.js';
import { CHUNK_OPTION, NORM_EPS_OPTION, ONES, fromHeads, gla, matrixMixer, normal, toHeads } from './common.js';

export interface Hgrn2Config {
  dModel: number;
  heads: number;
  /** Key and value dims per head (fla expand_ratio). */
  headDim: number;
  lowerBound: number;
  normEps: number;
  chunkSize: number;
}

export function hgrn2Mixer(c: Hgrn2Config) {
  const { dModel: d, heads: H, headDim: E, lowerBound: lb } = c;
  return matrixMixer({
    kind: 'hgrn2',
    dModel: d,
    params: () => [
      { name: 'q_proj.weight', shape: [d, d], init: normal() },
      { name: 'f_proj.weight', shape: [d, d], init: normal() },
      { name: 'i_proj.weight', shape: [d, d], init: normal() },
      { name: 'g_norm.weight', shape: [d], init: ONES, noDecay: true },
      { name: 'o_proj.weight', shape: [d, d], init: normal() },
    ],
    stateShapes: (batch) => ({ S: [batch, H, E, E] }),
    run(p, x, state, recurrent) {
      const f = linear(x, p.get('f_proj.weight'));
      const logForget =
        lb === 0
          ? logsigmoid(f)
          : fusedMap(
              'hgrn2.log_forget',
              [f],
              'log(p0 + p1 * sigmoid_(a))',
              ['dy * p1 * sigmoid_(a) * sigmoid_(-a) / (p0 + p1 * sigmoid_(a))'],
              [lb, 1 - lb],
            );
      const key = fusedMap('hgrn2.key', [f], 'p0 * sigmoid_(-a)', ['-dy * p0 * sigmoid_(a) * sigmoid_(-a)'], [1 - lb]);
      const q = toHeads(silu(linear(x, p.get('q_proj.weight'))), H);
      const v = toHeads(linear(x, p.get('i_proj.weight')), H);
      const out = gla(
        q,
        toHeads(key, H),
        v,
        { g: toHeads(logForget, H), initialState: state?.S, chunkSize: c.chunkSize },
        recurrent,
      );
      const o = rmsNorm(fromHeads(out.o), p.get('g_norm.weight'), c.normEps);
      return { y: linear(o, p.get('o_proj.weight')), state: { S: out.finalState } };
    },
    stateSize: () => H * E * E,
    flopsPerToken: () => 2 * d * d * 4 + 4 * H * E * E + 10 * d,
  });
}

export function hgrn2Config(dModel: number, given: MixerOptions): Hgrn2Config {
  const o = resolveOptions(HGRN2, given);
  const headDim = o.expand_ratio as number;
  if (dModel % headDim !== 0) {
    throw new RangeError(
      `hgrn2: option "expand_ratio" ${headDim} must divide d_model ${dModel} (heads = d_model / expand_ratio)`,
    );
  }
  return {
    dModel,
    heads: dModel / headDim,
    headDim,
    lowerBound: o.lower_bound as number,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const HGRN2: MixerFactory = {
  kind: 'hgrn2',
  title: 'HGRN2',
  family: 'linear-matrix',
  description:
    'HGRN with state expansion: the forget gate decays a GLA state and its complement is the key (fla HGRN2).',
  options: [
    {
      name: 'expand_ratio',
      type: 'int',
      default: 16,
      min: 1,
      max: 1024,
      help: 'Key and value dims per head; heads = d_model / expand_ratio (fla uses 128 at d_model 2048).',
    },
    {
      name: 'lower_bound',
      type: 'float',
      default: 0,
      min: 0,
      max: 0.999,
      help: 'Forget-gate floor of this layer (fla: 0 for the first layer, growing with depth).',
    },
    NORM_EPS_OPTION,
    CHUNK_OPTION,
  ],
  create: (dModel, options) => hgrn2Mixer(hgrn2Config(dModel, options)),
};

registerMixer(HGRN2);
