import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { hawkRef } from '../../gpu/nn/mixers/linear-diagonal/hawk.ref.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { describeMixer } from './diagonal-mixer-harness.js';

// Strong decay: softplus(Λ) ≈ 6, so log a = −8 r · 6 reaches −48 when the gate r saturates.
function strongDecay(params: RefParams): void {
  const a = params.get('rg_lru.a_param')!;
  params.set(
    'rg_lru.a_param',
    cpuTensor(
      a.shape,
      a.data.map(() => 6),
    ),
  );
}

for (const [lruWidth, heads] of [
  [0, 1],
  [12, 3],
]) {
  const width = lruWidth || 8;
  describeMixer({
    kind: 'hawk',
    options: { lru_width: lruWidth, num_heads: heads, conv_width: 4 },
    dModel: 8,
    reference: hawkRef,
    randomState: (batch, seed) => ({
      h: toFloat32(randn([batch, width], seed)),
      conv: toFloat32(randn([batch, 3, width], seed + 1)),
      reset: cpuTensor([batch, 1]),
    }),
    stateGradKeys: ['h', 'conv'],
    strongDecay,
    badOptions: [
      [{ num_heads: 3 }, /hawk: option "num_heads" 3 must divide lru_width 8/],
      [{ conv_width: 0 }, /hawk: option "conv_width"/],
      [{ negative_eigenvalues: true }, /hawk: option "negative_eigenvalues" is not defined for the RG-LRU/],
    ],
  });
}
