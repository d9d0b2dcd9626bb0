// LRU (Orvieto et al., "Resurrecting Recurrent Neural Networks for Long Sequences"; reference
// NicolasZucchet/minimal-LRU lru/model.py): a complex diagonal recurrence that does not depend on the data,
//   λ = exp(−exp(ν) + i·exp(θ)),  h_t = λ ⊙ h_{t-1} + (γ ⊙ B) x_t,  y_t = Re(C h_t) + D ⊙ x_t,
// with γ = sqrt(1 − |λ|²) a learned normalization (stored as log γ). Complex channels are (re, im) pairs
// of the complex scan; B is applied as one real matmul with a weight whose rows alternate re/im, and
// Re(C h) as one with columns (C_re, −C_im).

import { add, exp, mul, neg } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { complexLinearScan } from '../../../ops/scan/linear-scan.js';
import { pairUp } from '../../../ops/scan/pairs.js';
import { complexLinearStep } from '../../../ops/scan/step.js';
import { reshape } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { ParamSpec, ParamView } from '../../module.js';
import {
  checkMixerCall,
  broadcastTo,
  fusedMap,
  rejectNegativeEigenvalues,
  scaledNormalInit,
  uniformSamples,
  zeroState,
} from './common.js';

function lruMixer(dModel: number, options: MixerOptions): Mixer {
  const N = options.d_state as number;
  const rMin = options.r_min as number;
  const rMax = options.r_max as number;
  const maxPhase = options.max_phase as number;
  if (!(rMin < rMax)) throw new RangeError(`lru: option "r_min" ${rMin} must be below r_max ${rMax}`);

  /** λ as [N, 2] (re, im) pairs. */
  const lambda = (p: ParamView) => {
    const nu = p.get('nu_log');
    const theta = p.get('theta_log');
    const re = fusedMap('lru.lambda_re', [nu, theta], 'exp(-exp(a)) * cos(exp(b))', [
      '-dy * exp(a) * exp(-exp(a)) * cos(exp(b))',
      '-dy * exp(-exp(a)) * sin(exp(b)) * exp(b)',
    ]);
    const im = fusedMap('lru.lambda_im', [nu, theta], 'exp(-exp(a)) * sin(exp(b))', [
      '-dy * exp(a) * exp(-exp(a)) * sin(exp(b))',
      'dy * exp(-exp(a)) * cos(exp(b)) * exp(b)',
    ]);
    return pairUp(re, im);
  };
  /** γ ⊙ B as a real [2N, d] weight whose rows alternate Re and Im. */
  const inputWeight = (p: ParamView) => {
    const gamma = reshape(exp(p.get('gamma_log')), [N, 1]);
    return reshape(pairUp(mul(p.get('B_re'), gamma), mul(p.get('B_im'), gamma), 0), [2 * N, dModel]);
  };
  /** Re(C h) = C_re h_re − C_im h_im as a [d, 2N] weight over interleaved (re, im) states. */
  const outputWeight = (p: ParamView) => reshape(pairUp(p.get('C_re'), neg(p.get('C_im')), 1), [dModel, 2 * N]);
  const readout = (p: ParamView, h: Tensor, x: Tensor) =>
    add(linear(reshape(h, [...x.shape.slice(0, -1), 2 * N]), outputWeight(p)), mul(x, p.get('D')));
  const inputs = (p: ParamView, x: Tensor) => reshape(linear(x, inputWeight(p)), [...x.shape.slice(0, -1), N, 2]);

  // γ's initial value is a function of ν's (as in the reference's gamma_log_init): ν's init records
  // its values for γ's, which follows it in declaration order (createParams initializes in order).
  let initialNu: Float64Array | null = null;
  const stateShapes = (batch: number) => ({ h: [batch, N, 2] });
  return {
    kind: 'lru',
    params(): ParamSpec[] {
      return [
        {
          name: 'nu_log',
          shape: [N],
          noDecay: true,
          init: {
            kind: 'custom',
            values: (shape, seed) => {
              // |λ| uniform on the ring's area: |λ|² ~ U[r_min², r_max²].
              initialNu = uniformSamples(shape, seed).map((u) =>
                Math.log(-0.5 * Math.log(u * (rMax ** 2 - rMin ** 2) + rMin ** 2)),
              );
              return initialNu;
            },
          },
        },
        {
          name: 'theta_log',
          shape: [N],
          noDecay: true,
          init: {
            kind: 'custom',
            values: (shape, seed) => uniformSamples(shape, seed).map((u) => Math.log(maxPhase * u)),
          },
        },
        {
          name: 'gamma_log',
          shape: [N],
          noDecay: true,
          init: {
            kind: 'custom',
            values: () => {
              if (!initialNu)
                throw new Error('lru: gamma_log is initialized from nu_log, which must be initialized first');
              return initialNu.map((nu) => 0.5 * Math.log(1 - Math.exp(-2 * Math.exp(nu))));
            },
          },
        },
        // Glorot-style scales of the reference: B ~ N(0, 1/(2d)), C ~ N(0, 1/N), D ~ N(0, 1).
        { name: 'B_re', shape: [N, dModel], init: scaledNormalInit(Math.sqrt(2 * dModel)) },
        { name: 'B_im', shape: [N, dModel], init: scaledNormalInit(Math.sqrt(2 * dModel)) },
        { name: 'C_re', shape: [dModel, N], init: scaledNormalInit(Math.sqrt(N)) },
        { name: 'C_im', shape: [dModel, N], init: scaledNormalInit(Math.sqrt(N)) },
        { name: 'D', shape: [dModel], init: scaledNormalInit(1) },
      ];
    },
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall('lru', p, x, dModel, 'parallel', initialState, stateShapes);
      const bu = inputs(p, x);
      const scan = complexLinearScan(broadcastTo(lambda(p), bu.shape), bu, initialState?.h);
      const y = readout(p, scan.h, x);
      return returnState ? { y, state: { h: scan.last } } : { y };
    },
    step(p, x, state) {
      checkMixerCall('lru', p, x, dModel, 'step', state, stateShapes);
      const bu = inputs(p, x);
      const h = complexLinearStep(broadcastTo(lambda(p), bu.shape), bu, state.h);
      return { y: readout(p, h, x), state: { h } };
    },
    initialState: (engine, batch) => zeroState(engine, stateShapes(batch)),
    stateSize: () => 2 * N,
    flopsPerToken: () => 2 * dModel * 2 * N * 2 + 8 * N + 2 * dModel,
  };
}

export const LRU: MixerFactory = {
  kind: 'lru',
  title: 'LRU',
  family: 'linear-diagonal',
  description:
    'Linear Recurrent Unit: complex diagonal recurrence with ring-initialized eigenvalues and γ normalization.',
  options: [
    { name: 'd_state', type: 'int', default: 64, min: 1, help: 'Number of complex state channels N.' },
    { name: 'r_min', type: 'float', default: 0.9, min: 0, max: 1, help: 'Smallest |λ| at initialization.' },
    { name: 'r_max', type: 'float', default: 0.999, min: 0, max: 1, help: 'Largest |λ| at initialization.' },
    {
      name: 'max_phase',
      type: 'float',
      default: 6.283,
      min: 0,
      max: 6.2832,
      help: 'Largest arg(λ) at initialization.',
    },
  ],
  create(dModel, options) {
    const given = rejectNegativeEigenvalues(
      'lru',
      'LRU',
      options,
      'its complex eigenvalues already cover the unit disc',
    );
    return lruMixer(dModel, resolveOptions(LRU, given));
  },
};

registerMixer(LRU);
