// RetNet's multi-scale retention (Sun et al.; fla/layers/multiscale_retention.py): rotary q and k, a
// fixed decay per head γ_h = 1 − 2^(−5−h),
//   S_t = γ_h S_{t−1} + k_t v_tᵀ,   o_t = K^−½ S_tᵀ q_t,
// then RMSNorm per head gated by swish(W_g x) and W_o. The carried state holds S and each row's
// position (the rotary angle of the next token), so steps rotate by their true positions.

import { addScalar, full } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { rmsNorm } from '../../../ops/norm.js';
import { rotary } from '../../../ops/rotary.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import { rmsNormGated } from '../../blocks/gated-rms-norm.js';
import { headDims } from '../delta-rule/delta-core.js';
import { broadcastTo } from '../linear-diagonal/common.js';
import {
  CHUNK_OPTION,
  NORM_EPS_OPTION,
  ONES,
  expandOption,
  fromHeads,
  gla,
  headsOption,
  matrixMixer,
  normal,
  toHeads,
} from './common.js';

export interface RetNetConfig {
  dModel: number;
  heads: number;
  headK: number;
  headV: number;
  outputGate: boolean;
  normEps: number;
  chunkSize: number;
}

/** log γ_h = log(1 − 2^(−5−h)) (fla retention's decay). */
export function retentionLogDecay(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => Math.log(1 - Math.pow(2, -5 - h)));
}

export function retnetMixer(c: RetNetConfig) {
  const { dModel: d, heads: H, headK: K, headV: V } = c;
  return matrixMixer({
    kind: 'retnet',
    dModel: d,
    params: () => [
      { name: 'q_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'k_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'v_proj.weight', shape: [H * V, d], init: normal() },
      ...(c.outputGate ? [{ name: 'g_proj.weight', shape: [H * V, d], init: normal() }] : []),
      { name: 'g_norm.weight', shape: [V], init: ONES, noDecay: true },
      { name: 'o_proj.weight', shape: [d, H * V], init: normal() },
    ],
    stateShapes: (batch) => ({ S: [batch, H, K, V], position: [batch] }),
    run(p, x, state, recurrent) {
      const [B, T] = x.shape;
      const e = x.engine;
      const offset = state?.position;
      const q = rotary(toHeads(linear(x, p.get('q_proj.weight')), H), { offset });
      const k = rotary(toHeads(linear(x, p.get('k_proj.weight')), H), { offset });
      const v = toHeads(linear(x, p.get('v_proj.weight')), H);
      const g = broadcastTo(e.fromArray(retentionLogDecay(H), [H]), [B, T, H]);
      const out = gla(q, k, v, { g, initialState: state?.S, chunkSize: c.chunkSize }, recurrent);
      const o = c.outputGate
        ? rmsNormGated(out.o, toHeads(linear(x, p.get('g_proj.weight')), H), p.get('g_norm.weight'), c.normEps)
        : rmsNorm(out.o, p.get('g_norm.weight'), c.normEps);
      const position = offset ? addScalar(offset, T) : full(e, [B], T);
      return { y: linear(fromHeads(o), p.get('o_proj.weight')), state: { S: out.finalState, position } };
    },
    // The position counter is bookkeeping for the rotary angles, not memory: it is not counted.
    stateSize: () => H * K * V,
    flopsPerToken: () => 2 * d * H * (2 * K + V * (c.outputGate ? 2 : 1)) + 2 * H * V * d + 4 * H * K * V,
  });
}

export function retnetConfig(dModel: number, given: MixerOptions): RetNetConfig {
  const o = resolveOptions(RETNET, given);
  const heads = o.num_heads as number;
  const expandK = o.expand_k as number;
  const expandV = o.expand_v as number;
  const dims = headDims(
    'retnet',
    heads,
    [dModel * expandK, `d_model ${dModel} × expand_k ${expandK}`],
    [dModel * expandV, `d_model ${dModel} × expand_v ${expandV}`],
  );
  if (dims.headK % 2 !== 0) {
    throw new RangeError(
      `retnet: key head dim ${dims.headK} must be even for the rotary embedding (option "expand_k")`,
    );
  }
  return {
    dModel,
    heads,
    ...dims,
    outputGate: o.use_output_gate as boolean,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const RETNET: MixerFactory = {
  kind: 'retnet',
  title: 'RetNet (retention)',
  family: 'linear-matrix',
  description: 'Multi-scale retention: rotary q/k and a fixed decay per head, 1 − 2^(−5−h) (fla MultiScaleRetention).',
  options: [
    headsOption(8),
    expandOption('expand_k', 1),
    expandOption('expand_v', 2),
    {
      name: 'use_output_gate',
      type: 'bool',
      default: true,
      help: 'Swish output gate through a gated RMSNorm (fla use_output_gate).',
    },
    NORM_EPS_OPTION,
    CHUNK_OPTION,
  ],
  create: (dModel, options) => retnetMixer(retnetConfig(dModel, options)),
};

registerMixer(RETNET);
