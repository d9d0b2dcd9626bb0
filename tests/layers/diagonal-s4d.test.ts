import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { s4dRef } from '../../gpu/nn/mixers/linear-diagonal/s4d.ref.js';
import { describeMixer } from './diagonal-mixer-harness.js';

// Strong decay: dt = e^2 and Re A from −1/2 to −20 give |λ| = exp(dt·Re A) down to e^-150.
function strongDecay(params: RefParams): void {
  const logDt = params.get('kernel.log_dt')!;
  params.set(
    'kernel.log_dt',
    cpuTensor(
      logDt.shape,
      logDt.data.map(() => 2),
    ),
  );
  const aRe = params.get('kernel.log_A_real')!;
  params.set(
    'kernel.log_A_real',
    cpuTensor(
      aRe.shape,
      aRe.data.map((_, i) => Math.log(0.5 + (i % 4) * 6)),
    ),
  );
}

describeMixer({
  kind: 's4d',
  options: { d_state: 4 },
  dModel: 6,
  reference: s4dRef,
  randomState: (batch, seed) => ({ h: toFloat32(randn([batch, 6 * 2, 2], seed)) }),
  stateGradKeys: ['h'],
  strongDecay,
  badOptions: [
    [{ d_state: 5 }, /s4d: option "d_state" 5 must be even/],
    [{ dt_min: 0.2, dt_max: 0.1 }, /s4d: option "dt_min" 0.2 must be below dt_max 0.1/],
    [{ negative_eigenvalues: true }, /s4d: option "negative_eigenvalues" is not defined for S4D/],
  ],
});
