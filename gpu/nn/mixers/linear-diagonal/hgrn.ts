// HGRN (Qin et al., "Hierarchically Gated Recurrent Neural Network", real-valued as in fla's
// fla/layers/hgrn.py): forget gate λ = lb + (1 − lb) σ(W_f x), input i = silu(W_i x) ⊙ (1 − λ),
// h_t = λ_t ⊙ h_{t-1} + i_t, output o = W_o RMSNormGated(h, W_g x).
// `lower_bound` is the layer's forget-gate floor lb: fla derives it per layer from a learned softmax over
// layers (0 for the first layer, growing with depth); here each layer takes it as an option so a graph
// can set the schedule explicitly. fla writes λ in log space as logaddexp(log lb, log(1 − lb) + log σ);
// we scan λ itself, which is the same number and never needs a cumulative sum.

import { linear } from '../../../ops/matmul.js';
import { linearScan } from '../../../ops/scan/linear-scan.js';
import { linearStep } from '../../../ops/scan/step.js';
import type { Tensor } from '../../../tensor.js';
import { rmsNormGated } from '../../blocks/gated-rms-norm.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { ParamView } from '../../module.js';
import { checkMixerCall, zeroState, fusedMap, normalInit, rejectNegativeEigenvalues } from './common.js';

/** fla's initializer_range for every projection. */
const INIT_STD = 0.02;

function hgrnMixer(dModel: number, options: MixerOptions): Mixer {
  const dInner = dModel * (options.expand_ratio as number);
  const lowerBound = options.lower_bound as number;
  const eps = options.norm_eps as number;
  const gates = (p: ParamView, x: Tensor) => {
    const f = linear(x, p.get('f_proj.weight'));
    const i = linear(x, p.get('i_proj.weight'));
    const forget = fusedMap(
      'hgrn.forget',
      [f],
      'p0 + p1 * sigmoid_(a)',
      ['dy * p1 * sigmoid_(a) * sigmoid_(-a)'],
      [lowerBound, 1 - lowerBound],
    );
    const input = fusedMap('hgrn.input', [i, forget], 'a * sigmoid_(a) * (1.0 - b)', [
      'dy * (1.0 - b) * sigmoid_(a) * (1.0 + a * sigmoid_(-a))',
      '-dy * a * sigmoid_(a)',
    ]);
    return { forget, input };
  };
  const output = (p: ParamView, x: Tensor, h: Tensor) =>
    linear(rmsNormGated(h, linear(x, p.get('g_proj.weight')), p.get('g_norm.weight'), eps), p.get('o_proj.weight'));
  const stateShapes = (batch: number) => ({ h: [batch, dInner] });
  return {
    kind: 'hgrn',
    params: () => [
      { name: 'i_proj.weight', shape: [dInner, dModel], init: normalInit(INIT_STD) },
      { name: 'f_proj.weight', shape: [dInner, dModel], init: normalInit(INIT_STD) },
      { name: 'g_proj.weight', shape: [dInner, dModel], init: normalInit(INIT_STD) },
      { name: 'g_norm.weight', shape: [dInner], init: { kind: 'constant', value: 1 }, noDecay: true },
      { name: 'o_proj.weight', shape: [dModel, dInner], init: normalInit(INIT_STD) },
    ],
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall('hgrn', p, x, dModel, 'parallel', initialState, stateShapes);
      const { forget, input } = gates(p, x);
      const scan = linearScan(forget, input, initialState?.h);
      const y = output(p, x, scan.h);
      return returnState ? { y, state: { h: scan.last } } : { y };
    },
    step(p, x, state) {
      checkMixerCall('hgrn', p, x, dModel, 'step', state, stateShapes);
      const { forget, input } = gates(p, x);
      const h = linearStep(forget, input, state.h);
      return { y: output(p, x, h), state: { h } };
    },
    initialState: (engine, batch) => zeroState(engine, stateShapes(batch)),
    stateSize: () => dInner,
    flopsPerToken: () => 2 * dModel * dInner * 4 + 20 * dInner,
  };
}

export const HGRN: MixerFactory = {
  kind: 'hgrn',
  title: 'HGRN',
  family: 'linear-diagonal',
  description: 'Gated linear RNN with a forget gate bounded below per layer and a gated RMSNorm output (fla HGRN).',
  options: [
    {
      name: 'expand_ratio',
      type: 'int',
      default: 1,
      min: 1,
      max: 8,
      help: 'Recurrent width as a multiple of d_model.',
    },
    {
      name: 'lower_bound',
      type: 'float',
      default: 0,
      min: 0,
      max: 0.999,
      help: 'Forget-gate floor of this layer (fla: 0 for the first layer, growing with depth).',
    },
    { name: 'norm_eps', type: 'float', default: 1e-5, min: 0, max: 1, help: 'Epsilon of the gated RMSNorm.' },
  ],
  create(dModel, options) {
    const given = rejectNegativeEigenvalues(
      'hgrn',
      'HGRN',
      options,
      'its forget gate is a sigmoid in (lower_bound, 1)',
    );
    return hgrnMixer(dModel, resolveOptions(HGRN, given));
  },
};

registerMixer(HGRN);
