// The implicit-attention builders by mixer kind, and the one entry point the analyses call.

import type { CpuTensor } from '../../cpu/tensor.js';
import type { MixerOptions } from '../../nn/mixer.js';
import type { RefParams } from '../../nn/mixers/linear-diagonal/ref-utils.js';
import type { ImplicitContext, ImplicitLayer } from './core.js';
import { COMPLEX_BUILDERS } from './complex.js';
import { DIAGONAL_BUILDERS } from './diagonal.js';
import { DELTA_BUILDERS } from './delta.js';
import { GATED_BUILDERS } from './gated.js';
import { JACOBIAN_BUILDERS } from './jacobian.js';
import { MATRIX_BUILDERS } from './matrix.js';
import { RWKV7_BUILDERS, RWKV7_PUBLISHERS } from './rwkv7.js';
import { SOFTMAX_BUILDERS } from './softmax.js';

/**
 * params: the mixer's parameters by their names relative to the mixer; x: its input [T, d_model]; context:
 * what earlier layers of the same forward published (absent: the layer stands alone).
 */
export type ImplicitBuilder = (
  params: RefParams,
  options: MixerOptions,
  dModel: number,
  x: Float64Array,
  T: number,
  context?: ImplicitContext,
) => ImplicitLayer;

/** Kinds whose layers may publish on the context, and whether this one would (given what is there). */
const PUBLISHERS: Record<string, (options: MixerOptions, dModel: number, context: ImplicitContext) => boolean> = {
  ...RWKV7_PUBLISHERS,
};

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

/**
 * Whether building this layer publishes something later layers read (RWKV-7's first value-residual layer):
 * such a layer is built in evaluation order even when its own matrices are not asked for.
 */
export function implicitPublishes(
  kind: string,
  options: MixerOptions,
  dModel: number,
  context: ImplicitContext,
): boolean {
  return PUBLISHERS[kind]?.(options, dModel, context) ?? false;
}

/** `context`: pass one per analysed sequence to every layer in evaluation order (see core.ts). */
export function implicitLayer(
  kind: string,
  params: Map<string, CpuTensor>,
  options: MixerOptions,
  dModel: number,
  x: Float64Array,
  context?: ImplicitContext,
): ImplicitLayer {
  const build = BUILDERS[kind];
  if (!build)
    throw new Error(`implicit attention: no formulation for mixer "${kind}" yet (have: ${implicitKinds().join(', ')})`);
  if (x.length % dModel !== 0)
    throw new RangeError(`implicit attention: input of ${x.length} values is not [T, ${dModel}]`);
  return build(params, options, dModel, x, x.length / dModel, context);
}
