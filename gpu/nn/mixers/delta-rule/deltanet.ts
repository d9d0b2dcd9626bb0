// DeltaNet (Yang et al., "Parallelizing Linear Transformers with the Delta Rule over Sequence Length";
// fla/layers/delta_net.py): S_t = S_{t-1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ with L2-normalized keys.

import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import { SHARED_OPTIONS, deltaMixer, type DeltaCoreConfig, headDims, negativeEigenvaluesOption } from './delta-core.js';

/** The layer's shape from its options (also used by the reference in tests). */
export function deltanetConfig(dModel: number, given: MixerOptions): DeltaCoreConfig {
  const o = resolveOptions(DELTANET, given);
  const heads = o.num_heads as number;
  const expandK = o.expand_k as number;
  const expandV = o.expand_v as number;
  const dims = headDims(
    'deltanet',
    heads,
    [dModel * expandK, `d_model ${dModel} × expand_k ${expandK}`],
    [dModel * expandV, `d_model ${dModel} × expand_v ${expandV}`],
  );
  return {
    kind: 'deltanet',
    dModel,
    heads,
    ...dims,
    householder: 1,
    gated: false,
    outputGate: o.use_output_gate as boolean,
    convSize: o.conv_size as number,
    negativeEigenvalues: o.negative_eigenvalues as boolean,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const DELTANET: MixerFactory = {
  kind: 'deltanet',
  title: 'DeltaNet',
  family: 'delta-rule',
  description:
    'Linear attention whose memory is corrected by the delta rule (fla DeltaNet): strong recall per state float.',
  options: [
    SHARED_OPTIONS.heads,
    { name: 'expand_k', type: 'float', default: 1, min: 0.125, max: 4, help: 'Key width as a multiple of d_model.' },
    { name: 'expand_v', type: 'float', default: 1, min: 0.125, max: 4, help: 'Value width as a multiple of d_model.' },
    SHARED_OPTIONS.convSize,
    {
      name: 'use_output_gate',
      type: 'bool',
      default: false,
      help: 'Swish output gate through a gated RMSNorm (fla use_gate).',
    },
    negativeEigenvaluesOption(false),
    SHARED_OPTIONS.normEps,
    SHARED_OPTIONS.chunkSize,
  ],
  create: (dModel, given) => deltaMixer(deltanetConfig(dModel, given)),
};

registerMixer(DELTANET);
