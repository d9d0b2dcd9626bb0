// Gated DeltaNet (Yang, Kautz & Hatamizadeh, "Gated Delta Networks"; fla/layers/gated_deltanet.py): the
// delta rule with a data-dependent scalar decay per head, g = −exp(A_log)·softplus(W_a x + dt_bias), and
// a swish-gated RMSNorm on the output.

import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions, type OptionSpec } from '../../mixer.js';
import { SHARED_OPTIONS, deltaMixer, type DeltaCoreConfig, headDims, negativeEigenvaluesOption } from './delta-core.js';

const HEAD_DIM: OptionSpec = {
  name: 'head_dim',
  type: 'int',
  default: 0,
  min: 0,
  max: 512,
  help: 'Key head dim (fla head_dim, 256 there); 0 = d_model / num_heads.',
};
const EXPAND_V: OptionSpec = {
  name: 'expand_v',
  type: 'float',
  default: 2,
  min: 0.125,
  max: 4,
  help: 'Value head dim as a multiple of the key head dim.',
};

/** Head dims of the gated layers: keys head_dim wide (or d/H), values expand_v times that. */
export function gatedHeadDims(kind: string, dModel: number, heads: number, headDim: number, expandV: number) {
  const keyWidth = headDim > 0 ? headDim * heads : dModel;
  const keyOrigin = headDim > 0 ? `head_dim ${headDim} × num_heads ${heads}` : `d_model ${dModel}`;
  return headDims(
    kind,
    heads,
    [keyWidth, keyOrigin],
    [keyWidth * expandV, `key width ${keyWidth} × expand_v ${expandV}`],
  );
}

/** The layer's shape from its options (also used by the reference in tests). */
export function gatedDeltanetConfig(dModel: number, given: MixerOptions): DeltaCoreConfig {
  const o = resolveOptions(GATED_DELTANET, given);
  const heads = o.num_heads as number;
  return {
    kind: 'gated_deltanet',
    dModel,
    heads,
    ...gatedHeadDims('gated_deltanet', dModel, heads, o.head_dim as number, o.expand_v as number),
    householder: 1,
    gated: true,
    outputGate: o.use_output_gate as boolean,
    convSize: o.conv_size as number,
    negativeEigenvalues: o.negative_eigenvalues as boolean,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const GATED_DELTANET: MixerFactory = {
  kind: 'gated_deltanet',
  title: 'Gated DeltaNet',
  family: 'delta-rule',
  description:
    'DeltaNet with a learned, data-dependent forgetting rate per head (fla GatedDeltaNet; Qwen3-Next, Kimi hybrids).',
  options: [
    SHARED_OPTIONS.heads,
    HEAD_DIM,
    EXPAND_V,
    SHARED_OPTIONS.convSize,
    {
      name: 'use_output_gate',
      type: 'bool',
      default: true,
      help: 'Swish output gate through a gated RMSNorm (fla use_gate).',
    },
    negativeEigenvaluesOption(false),
    SHARED_OPTIONS.normEps,
    SHARED_OPTIONS.chunkSize,
  ],
  create: (dModel, given) => deltaMixer(gatedDeltanetConfig(dModel, given)),
};

export { HEAD_DIM, EXPAND_V };

registerMixer(GATED_DELTANET);
