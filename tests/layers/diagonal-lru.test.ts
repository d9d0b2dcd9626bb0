import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { lruRef } from '../../gpu/nn/mixers/linear-diagonal/lru.ref.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { describeMixer } from './diagonal-mixer-harness.js';

// Strong decay: |λ| = exp(−exp(ν)) from e^-1 (ν = 0) to e^-20 (ν = 3) per step. (Slow channels are not
// compared at T = 2048: λ rounded to f32 moves the phase by ~1e-7 per step, a drift that grows with T.)
function strongDecay(params: RefParams): void {
  const nu = params.get('nu_log')!;
  params.set(
    'nu_log',
    cpuTensor(
      nu.shape,
      nu.data.map((_, n) => (3 * n) / (nu.data.length - 1)),
    ),
  );
}

describeMixer({
  kind: 'lru',
  options: { d_state: 6 },
  dModel: 8,
  reference: lruRef,
  randomState: (batch, seed) => ({ h: toFloat32(randn([batch, 6, 2], seed)) }),
  stateGradKeys: ['h'],
  strongDecay,
  badOptions: [
    [{ r_min: 0.99, r_max: 0.9 }, /lru: option "r_min" 0.99 must be below r_max 0.9/],
    [{ d_state: 0 }, /lru: option "d_state"/],
    [{ negative_eigenvalues: true }, /lru: option "negative_eigenvalues" is not defined for LRU/],
  ],
});
