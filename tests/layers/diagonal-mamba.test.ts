import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { mambaRef } from '../../gpu/nn/mixers/linear-diagonal/mamba.ref.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { describeMixer } from './diagonal-mixer-harness.js';

// Strong decay: dt ≈ softplus(8) ≈ 8 and A down to −N, so exp(dt·A) reaches e^-32 per step.
function strongDecay(params: RefParams): void {
  const bias = params.get('dt_proj.bias')!;
  params.set(
    'dt_proj.bias',
    cpuTensor(
      bias.shape,
      bias.data.map(() => 8),
    ),
  );
}

for (const negativeEigenvalues of [false, true]) {
  describeMixer({
    kind: 'mamba',
    options: { d_state: 4, expand: 2, d_conv: 4, negative_eigenvalues: negativeEigenvalues },
    dModel: 6,
    reference: (params, x, state) => mambaRef(params, { negativeEigenvalues }, x, state),
    randomState: (batch, seed) => ({
      ssm: toFloat32(randn([batch, 12, 4], seed)),
      conv: toFloat32(randn([batch, 3, 12], seed + 1)),
    }),
    stateGradKeys: ['ssm', 'conv'],
    strongDecay,
    gradT: 21,
    badOptions: [
      [{ dt_min: 0.5, dt_max: 0.1 }, /mamba: option "dt_min" 0.5 must be below dt_max 0.1/],
      [{ d_state: 0 }, /mamba: option "d_state"/],
      [{ negative_eigenvalues: 'yes' }, /mamba: option "negative_eigenvalues"/],
    ],
  });
}
