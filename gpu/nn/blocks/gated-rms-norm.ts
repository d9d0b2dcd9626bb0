// Gated RMSNorm (fla's FusedRMSNormGated with the default swish gate, Mamba-2's RMSNormGated with
// norm_before_gate=True): y = RMSNorm(x) ⊙ weight ⊙ silu(gate), over the last axis. Used by HGRN's
// output and by the class-B families' output gates.

import { mul, silu } from '../../ops/elementwise.js';
import { rmsNorm } from '../../ops/norm.js';
import { formatShape, type Tensor } from '../../tensor.js';

export function rmsNormGated(x: Tensor, gate: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  if (gate.shape.join() !== x.shape.join()) {
    throw new RangeError(`rmsNormGated: gate ${formatShape(gate.shape)} must match x ${formatShape(x.shape)}`);
  }
  return mul(rmsNorm(x, weight, eps), silu(gate));
}
