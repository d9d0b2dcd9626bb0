// (Gated) DeltaProduct (Siems et al., "DeltaProduct: Improving State-Tracking in Linear RNNs via
// Householder Products"; fla/layers/gated_deltaproduct.py): n_h delta-rule steps per token, so each
// token's transition is a product of n_h generalized Householder factors (I − β_j k_j k_jᵀ).

import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import { SHARED_OPTIONS, deltaMixer, type DeltaCoreConfig, negativeEigenvaluesOption } from './delta-core.js';
import { EXPAND_V, HEAD_DIM, gatedHeadDims } from './gated-deltanet.js';

/** The layer's shape from its options (also used by the reference in tests). */
export function deltaproductConfig(dModel: number, given: MixerOptions): DeltaCoreConfig {
  const o = resolveOptions(DELTAPRODUCT, given);
  const heads = o.num_heads as number;
  return {
    kind: 'deltaproduct',
    dModel,
    heads,
    ...gatedHeadDims('deltaproduct', dModel, heads, o.head_dim as number, o.expand_v as number),
    householder: o.num_householder as number,
    gated: o.use_forget_gate as boolean,
    outputGate: o.use_output_gate as boolean,
    convSize: o.conv_size as number,
    negativeEigenvalues: o.negative_eigenvalues as boolean,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const DELTAPRODUCT: MixerFactory = {
  kind: 'deltaproduct',
  title: 'DeltaProduct',
  family: 'delta-rule',
  description: 'Several delta-rule (Householder) steps per token for richer state tracking (fla GatedDeltaProduct).',
  options: [
    SHARED_OPTIONS.heads,
    HEAD_DIM,
    EXPAND_V,
    { name: 'num_householder', type: 'int', default: 2, min: 1, max: 8, help: 'Householder steps n_h per token.' },
    { name: 'use_forget_gate', type: 'bool', default: true, help: "Gated DeltaNet's scalar decay, once per token." },
    SHARED_OPTIONS.convSize,
    { name: 'use_output_gate', type: 'bool', default: true, help: 'Swish output gate through a gated RMSNorm.' },
    negativeEigenvaluesOption(true),
    SHARED_OPTIONS.normEps,
    SHARED_OPTIONS.chunkSize,
  ],
  create: (dModel, given) => deltaMixer(deltaproductConfig(dModel, given)),
};

registerMixer(DELTAPRODUCT);
