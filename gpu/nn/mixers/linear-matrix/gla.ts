// Gated Linear Attention (Yang et al., "Gated Linear Attention Transformers with Hardware-Efficient
// Training"; fla/layers/gla.py): a data-dependent decay per key channel from a low-rank gate,
//   log α_t = logsigmoid(W₂ W₁ x_t + b) / 16,   S_t = Diag(α_t) S_{t−1} + k_t v_tᵀ,   o_t = K^−½ S_tᵀ q_t,
// then RMSNorm per head gated by swish(W_g x) (fla's FusedRMSNormGated) and W_o.

import { add, logsigmoid, scale } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { rmsNorm } from '../../../ops/norm.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import { rmsNormGated } from '../../blocks/gated-rms-norm.js';
import { headDims } from '../delta-rule/delta-core.js';
import {
  CHUNK_OPTION,
  NORM_EPS_OPTION,
  ONES,
  ZEROS,
  expandOption,
  fromHeads,
  gla,
  headsOption,
  matrixMixer,
  normal,
  toHeads,
} from './common.js';

export interface GlaConfig {
  dModel: number;
  heads: number;
  headK: number;
  headV: number;
  gateRank: number;
  /** The log decay is logsigmoid(·) divided by this (fla gate_logit_normalizer). */
  gateNormalizer: number;
  outputGate: boolean;
  normEps: number;
  chunkSize: number;
}

export function glaMixer(c: GlaConfig) {
  const { dModel: d, heads: H, headK: K, headV: V, gateRank: r } = c;
  return matrixMixer({
    kind: 'gla',
    dModel: d,
    params: () => [
      { name: 'q_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'k_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'v_proj.weight', shape: [H * V, d], init: normal() },
      ...(c.outputGate ? [{ name: 'g_proj.weight', shape: [H * V, d], init: normal() }] : []),
      { name: 'gk_proj.0.weight', shape: [r, d], init: normal() },
      { name: 'gk_proj.1.weight', shape: [H * K, r], init: normal() },
      { name: 'gk_proj.1.bias', shape: [H * K], init: ZEROS, noDecay: true },
      { name: 'g_norm.weight', shape: [V], init: ONES, noDecay: true },
      { name: 'o_proj.weight', shape: [d, H * V], init: normal() },
    ],
    stateShapes: (batch) => ({ S: [batch, H, K, V] }),
    run(p, x, state, recurrent) {
      const q = toHeads(linear(x, p.get('q_proj.weight')), H);
      const k = toHeads(linear(x, p.get('k_proj.weight')), H);
      const v = toHeads(linear(x, p.get('v_proj.weight')), H);
      const gate = linear(linear(x, p.get('gk_proj.0.weight')), p.get('gk_proj.1.weight'));
      const g = toHeads(scale(logsigmoid(add(gate, p.get('gk_proj.1.bias'))), 1 / c.gateNormalizer), H);
      const out = gla(q, k, v, { g, initialState: state?.S, chunkSize: c.chunkSize }, recurrent);
      const o = c.outputGate
        ? rmsNormGated(out.o, toHeads(linear(x, p.get('g_proj.weight')), H), p.get('g_norm.weight'), c.normEps)
        : rmsNorm(out.o, p.get('g_norm.weight'), c.normEps);
      return { y: linear(fromHeads(o), p.get('o_proj.weight')), state: { S: out.finalState } };
    },
    stateSize: () => H * K * V,
    flopsPerToken: () =>
      2 * d * H * (2 * K + V * (c.outputGate ? 2 : 1)) + 2 * r * (d + H * K) + 2 * H * V * d + 4 * H * K * V,
  });
}

export function glaConfig(dModel: number, given: MixerOptions): GlaConfig {
  const o = resolveOptions(GLA, given);
  const heads = o.num_heads as number;
  const expandK = o.expand_k as number;
  const expandV = o.expand_v as number;
  const dims = headDims(
    'gla',
    heads,
    [dModel * expandK, `d_model ${dModel} × expand_k ${expandK}`],
    [dModel * expandV, `d_model ${dModel} × expand_v ${expandV}`],
  );
  return {
    dModel,
    heads,
    ...dims,
    gateRank: o.gate_low_rank_dim as number,
    gateNormalizer: o.gate_logit_normalizer as number,
    outputGate: o.use_output_gate as boolean,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const GLA: MixerFactory = {
  kind: 'gla',
  title: 'Gated linear attention (GLA)',
  family: 'linear-matrix',
  description: 'Linear attention with a data-dependent decay per key channel from a low-rank gate (fla GLA).',
  options: [
    headsOption(4),
    expandOption('expand_k', 0.5),
    expandOption('expand_v', 1),
    {
      name: 'gate_low_rank_dim',
      type: 'int',
      default: 16,
      min: 1,
      max: 4096,
      help: 'Rank of the decay gate W₂W₁ (fla gate_low_rank_dim).',
    },
    {
      name: 'gate_logit_normalizer',
      type: 'float',
      default: 16,
      min: 1,
      max: 1024,
      help: 'log α = logsigmoid(·) / this: larger keeps decays closer to 1 (fla gate_logit_normalizer).',
    },
    {
      name: 'use_output_gate',
      type: 'bool',
      default: true,
      help: 'Swish output gate through a gated RMSNorm (fla use_output_gate).',
    },
    NORM_EPS_OPTION,
    CHUNK_OPTION,
  ],
  create: (dModel, options) => glaMixer(glaConfig(dModel, options)),
};

registerMixer(GLA);
