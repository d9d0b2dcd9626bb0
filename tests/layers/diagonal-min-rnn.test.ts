import { cpuTensor, toFloat32, uniform } from '../../gpu/cpu/tensor.js';
import { minRnnRef } from '../../gpu/nn/mixers/linear-diagonal/min-rnn.ref.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { describeMixer } from './diagonal-mixer-harness.js';

// Strong decay: gates pushed to saturation so that a_t = 1 − z_t (or f′) is as small as e^-10.
function saturateGates(projName: string) {
  return (params: RefParams) => {
    const w = params.get(projName)!;
    params.set(
      projName,
      toFloat32(
        cpuTensor(
          w.shape,
          w.data.map((v) => v * 4),
        ),
      ),
    );
  };
}

for (const kind of ['mingru', 'minlstm'] as const) {
  const projName = kind === 'mingru' ? 'to_hidden_and_gate.weight' : 'to_hidden_and_f_i_gate.weight';
  for (const expansion of [1, 1.5]) {
    describeMixer({
      kind,
      options: { expansion },
      dModel: 8,
      reference: (params, x, state) => minRnnRef(params, { kind, expansion }, x, state),
      randomState: (batch, seed) => ({ h: toFloat32(uniform([batch, 8 * expansion], seed, 0.05, 2)) }),
      stateGradKeys: ['h'],
      strongDecay: saturateGates(projName),
      badOptions: [
        [
          { expansion: 1.3 },
          new RegExp(`${kind}: option "expansion" 1.3 times d_model 8 must be a positive integer width`),
        ],
        [{ negative_eigenvalues: true }, new RegExp(`${kind}: option "negative_eigenvalues" is not defined`)],
        [{ heads: 2 }, new RegExp(`${kind}: option "heads"`)],
      ],
    });
  }
}
