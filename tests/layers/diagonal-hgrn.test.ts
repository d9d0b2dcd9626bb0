import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { hgrnRef } from '../../gpu/nn/mixers/linear-diagonal/hgrn.ref.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { describeMixer } from './diagonal-mixer-harness.js';

// Strong decay: forget-gate pre-activations far negative, so λ_t ≈ lower_bound (e^-20 without one).
function strongForget(params: RefParams): void {
  const w = params.get('f_proj.weight')!;
  params.set(
    'f_proj.weight',
    toFloat32(
      cpuTensor(
        w.shape,
        w.data.map((v) => v * 100 - 0.5),
      ),
    ),
  );
}

for (const [expandRatio, lowerBound] of [
  [1, 0],
  [2, 0.6],
]) {
  describeMixer({
    kind: 'hgrn',
    options: { expand_ratio: expandRatio, lower_bound: lowerBound },
    dModel: 8,
    reference: (params, x, state) => hgrnRef(params, { expandRatio, lowerBound, eps: 1e-5 }, x, state),
    randomState: (batch, seed) => ({ h: toFloat32(randn([batch, 8 * expandRatio], seed)) }),
    stateGradKeys: ['h'],
    strongDecay: strongForget,
    badOptions: [
      [{ lower_bound: 1 }, /hgrn: option "lower_bound"/],
      [{ expand_ratio: 1.5 }, /hgrn: option "expand_ratio"/],
      [{ negative_eigenvalues: true }, /hgrn: option "negative_eigenvalues" is not defined for HGRN/],
    ],
  });
}
