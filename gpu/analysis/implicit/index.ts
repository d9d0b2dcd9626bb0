// The implicit-attention builders by mixer kind, and the one entry point the analyses call.

import type { CpuTensor } from '../../cpu/tensor.js';
import type { MixerOptions } from '../../nn/mixer.js';
import type { RefParams } from '../../nn/mixers/linear-diagonal/ref-utils.js';
import type { ImplicitLayer } from './core.js';
import { COMPLEX_BUILDERS } from './complex.js';
import { DIAGONAL_BUILDERS } from './diagonal.js';
import { DELTA_BUILDERS } from './delta.js';
import { GATED_BUILDERS } from './gated.js';
import { JACOBIAN_BUILDERS } from './jacobian.js';
import { MATRIX_BUILDERS } from './matrix.js';
import { RWKV7_BUILDERS } from './rwkv7.js';
import { SOFTMAX_BUILDERS } from './softmax.js';

/** params: the mixer's parameters by their names relative to the mixer; x: its input [T, d_model]. */
export type ImplicitBuilder = (
  params: RefParams,
  options: MixerOptions,
  dModel: number,
  x: Float64Array,
  T: number,
) => ImplicitLayer;

const BUILDERS: Record<string, ImplicitBuilder> = {
  ...DIAGONAL_BUILDERS,
  ...COMPLEX_BUILDERS,
  ...GATED_BUILDERS,
  ...RWKV7_BUILDERS,
  ...MATRIX_BUILDERS,
  ...DELTA_BUILDERS,
  ...SOFTMAX_BUILDERS,
  ...JACOBIAN_BUILDERS,
};

export function implicitKinds(): string[] {
  return Object.keys(BUILDERS).sort();
}

export function supportsImplicit(kind: string): boolean {
  return kind in BUILDERS;
}

export function implicitLayer(
  kind: string,
  params: Map<string, CpuTensor>,
  options: MixerOptions,
  dModel: number,
  x: Float64Array,
): ImplicitLayer {
  const build = BUILDERS[kind];
  if (!build)
    throw new Error(`implicit attention: no formulation for mixer "${kind}" yet (have: ${implicitKinds().join(', ')})`);
  if (x.length % dModel !== 0)
    throw new RangeError(`implicit attention: input of ${x.length} values is not [T, ${dModel}]`);
  return build(params, options, dModel, x, x.length / dModel);
}
