// Hawk's recurrent block with the RG-LRU (De et al., "Griffin"; reference google-deepmind/recurrentgemma
// torch/modules.py RecurrentBlock and torch/layers.py RGLRU):
//   y = gelu_tanh(W_y x + b_y);  u = Conv1D_4(W_x x + b_x)
//   r = σ(BlockDiag_a(u)),  i = σ(BlockDiag_x(u)),  log a_t = −8 r_t softplus(Λ)
//   h_t = a_t ⊙ h_{t-1} + sqrt(1 − a_t²) ⊙ (i_t ⊙ u_t)
//   out = W_out (h ⊙ y) + b_out
// At a document start (the first token without a carried state) the reference resets: a = 0 and the
// sqrt(1 − a²) normalization is replaced by 1. The state therefore carries a `reset` flag per row:
// 1 in `initialState`, 0 after any token, so the step form reproduces the parallel form exactly.

import { add, exp, full, mul, zeros } from '../../../ops/elementwise.js';
import { linear, matmul } from '../../../ops/matmul.js';
import { linearScan } from '../../../ops/scan/linear-scan.js';
import { linearStep } from '../../../ops/scan/step.js';
import { permute, reshape } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { shortConv, shortConvStep } from '../../blocks/short-conv.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { ParamSpec, ParamView } from '../../module.js';
import {
  checkMixerCall,
  expm1Wgsl,
  fusedMap,
  normalInit,
  rejectNegativeEigenvalues,
  uniformSamples,
  zeroState,
} from './common.js';

/** The reference's c in a_t = σ(Λ)^(c r_t). */
const GATE_EXPONENT = 8;
/** Griffin's ring for |a| at r = 1/c: uniform area between radii 0.9 and 0.999. */
const MIN_RADIUS = 0.9;
const MAX_RADIUS = 0.999;

/** 1 − exp(y) for y ≤ 0 without cancellation near 0 (a → 1 is exactly where the RG-LRU lives). */
const oneMinusExp = (y: string) => `-(${expm1Wgsl(y)})`;

/** GELU with the tanh approximation (JAX's default, which RecurrentGemma uses), as WGSL in `a`. */
const GELU_TANH = '0.5 * a * (1.0 + tanh_(0.7978845608028654 * (a + 0.044715 * a * a * a)))';
const GELU_TANH_GRAD =
  'dy * (0.5 * (1.0 + tanh_(0.7978845608028654 * (a + 0.044715 * a * a * a))) + 0.5 * a * ' +
  '(1.0 - tanh_(0.7978845608028654 * (a + 0.044715 * a * a * a)) * tanh_(0.7978845608028654 * (a + 0.044715 * a * a * a))) * ' +
  '0.7978845608028654 * (1.0 + 0.134145 * a * a))';

/** Griffin's rnn_param_init: a² uniform in [min², max²], stored so that softplus(Λ) = −log a. */
function ringInit(shape: readonly number[], seed: number): Float64Array {
  return uniformSamples(shape, seed).map((u) => {
    const aSquared = MIN_RADIUS ** 2 + 1e-8 + u * (MAX_RADIUS ** 2 - MIN_RADIUS ** 2);
    const negLogA = -0.5 * Math.log(aSquared);
    return Math.log(Math.expm1(negLogA));
  });
}

function hawkMixer(dModel: number, options: MixerOptions): Mixer {
  const width = (options.lru_width as number) || dModel;
  const heads = options.num_heads as number;
  const taps = options.conv_width as number;
  if (width % heads !== 0) {
    throw new RangeError(`hawk: option "num_heads" ${heads} must divide lru_width ${width}`);
  }
  const blockWidth = width / heads;

  /** The reference's BlockDiagonalLinear: per head, x_h W_h + b_h, as one matmul batched over heads. */
  const blockDiagonal = (p: ParamView, name: string, u: Tensor) => {
    const lead = u.shape.slice(0, -1);
    const rows = lead.reduce((a, b) => a * b, 1);
    const perHead = permute(reshape(u, [rows, heads, blockWidth]), [1, 0, 2]);
    const y = reshape(permute(matmul(perHead, p.get(`${name}.w`)), [1, 0, 2]), [...lead, width]);
    return add(y, reshape(p.get(`${name}.b`), [width]));
  };

  /** The RG-LRU's coefficients for inputs u ([..., W]); `reset` (broadcastable, 1 = first token) zeroes a. */
  const rgLruCoefficients = (p: ParamView, u: Tensor, reset: Tensor) => {
    const gateX = blockDiagonal(p, 'rg_lru.input_gate', u);
    const gateA = blockDiagonal(p, 'rg_lru.a_gate', u);
    const logA = fusedMap(
      'hawk.log_a',
      [gateA, p.get('rg_lru.a_param')],
      `-${GATE_EXPONENT}.0 * sigmoid_(a) * softplus_(b)`,
      [
        `-${GATE_EXPONENT}.0 * dy * sigmoid_(a) * sigmoid_(-a) * softplus_(b)`,
        `-${GATE_EXPONENT}.0 * dy * sigmoid_(a) * sigmoid_(b)`,
      ],
    );
    // sqrt(1 − a²) with the reference's bounded derivative: d sqrt(v)/dv ≤ 1000 (v clipped at 1e-6 / 4).
    const multiplier = fusedMap('hawk.multiplier', [logA], `sqrt(${oneMinusExp('2.0 * a')})`, [
      `-2.0 * dy * exp(2.0 * a) / sqrt(max(4.0 * ${oneMinusExp('2.0 * a')}, 1e-6))`,
    ]);
    const a = fusedMap('hawk.reset_a', [exp(logA), reset], 'a * (1.0 - b)', ['dy * (1.0 - b)', '0.0']);
    const scale = fusedMap('hawk.reset_scale', [multiplier, reset], 'select(a, 1.0, b > 0.5)', [
      'select(dy, 0.0, b > 0.5)',
      '0.0',
    ]);
    const gatedX = fusedMap('hawk.input', [u, gateX], 'a * sigmoid_(b)', [
      'dy * sigmoid_(b)',
      'dy * a * sigmoid_(b) * sigmoid_(-b)',
    ]);
    return { a, b: mul(gatedX, scale) };
  };

  const branches = (p: ParamView, x: Tensor) => ({
    y: fusedMap('hawk.gelu_tanh', [linear(x, p.get('linear_y.weight'), p.get('linear_y.bias'))], GELU_TANH, [
      GELU_TANH_GRAD,
    ]),
    u: linear(x, p.get('linear_x.weight'), p.get('linear_x.bias')),
  });
  const output = (p: ParamView, h: Tensor, y: Tensor) =>
    linear(mul(h, y), p.get('linear_out.weight'), p.get('linear_out.bias'));

  const stateShapes = (batch: number) => ({ h: [batch, width], conv: [batch, taps - 1, width], reset: [batch, 1] });

  return {
    kind: 'hawk',
    params(): ParamSpec[] {
      const blockDiag = (name: string): ParamSpec[] => [
        { name: `${name}.w`, shape: [heads, blockWidth, blockWidth], init: normalInit(Math.sqrt(1 / blockWidth)) },
        { name: `${name}.b`, shape: [heads, blockWidth], init: { kind: 'constant', value: 0 }, noDecay: true },
      ];
      return [
        { name: 'linear_y.weight', shape: [width, dModel], init: normalInit(Math.sqrt(1 / dModel)) },
        { name: 'linear_y.bias', shape: [width], init: { kind: 'constant', value: 0 }, noDecay: true },
        { name: 'linear_x.weight', shape: [width, dModel], init: normalInit(Math.sqrt(1 / dModel)) },
        { name: 'linear_x.bias', shape: [width], init: { kind: 'constant', value: 0 }, noDecay: true },
        { name: 'linear_out.weight', shape: [dModel, width], init: normalInit(Math.sqrt(1 / width)) },
        { name: 'linear_out.bias', shape: [dModel], init: { kind: 'constant', value: 0 }, noDecay: true },
        // Our conv layout is [C, K] (PyTorch's depthwise weight); recurrentgemma stores w as [K, C].
        { name: 'conv_1d.weight', shape: [width, taps], init: normalInit(Math.sqrt(0.01 / taps)) },
        { name: 'conv_1d.bias', shape: [width], init: { kind: 'constant', value: 0 }, noDecay: true },
        { name: 'rg_lru.a_param', shape: [width], init: { kind: 'custom', values: ringInit }, noDecay: true },
        ...blockDiag('rg_lru.input_gate'),
        ...blockDiag('rg_lru.a_gate'),
      ];
    },
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall('hawk', p, x, dModel, 'parallel', initialState, stateShapes);
      const [batch, T] = x.shape;
      const { y, u } = branches(p, x);
      const conv = shortConv(u, p.get('conv_1d.weight'), p.get('conv_1d.bias'), initialState?.conv);
      // The reset mask [B, T, 1]: the first token of rows whose state says "start of a document".
      const first = x.engine.fromArray(
        Float32Array.from({ length: T }, (_, t) => (t === 0 ? 1 : 0)),
        [1, T, 1],
      );
      const reset = initialState ? mul(reshape(initialState.reset, [batch, 1, 1]), first) : first;
      const { a, b } = rgLruCoefficients(p, conv.y, reset);
      const scan = linearScan(a, b, initialState?.h);
      const out = output(p, scan.h, y);
      if (!returnState) return { y: out };
      return { y: out, state: { h: scan.last, conv: conv.state, reset: zeros(x.engine, [batch, 1]) } };
    },
    step(p, x, state) {
      checkMixerCall('hawk', p, x, dModel, 'step', state, stateShapes);
      const { y, u } = branches(p, x);
      const conv = shortConvStep(u, p.get('conv_1d.weight'), p.get('conv_1d.bias'), state.conv);
      const { a, b } = rgLruCoefficients(p, conv.y, state.reset);
      const h = linearStep(a, b, state.h);
      return { y: output(p, h, y), state: { h, conv: conv.state, reset: zeros(x.engine, [x.shape[0], 1]) } };
    },
    initialState: (engine, batch) => ({ ...zeroState(engine, stateShapes(batch)), reset: full(engine, [batch, 1], 1) }),
    // The RG-LRU state plus the convolution's K−1 inputs (the reset flag is bookkeeping, not state).
    stateSize: () => width + (taps - 1) * width,
    flopsPerToken: () => 2 * dModel * width * 3 + 2 * width * blockWidth * 2 + 2 * taps * width + 30 * width,
  };
}

export const HAWK: MixerFactory = {
  kind: 'hawk',
  title: 'Hawk (RG-LRU block)',
  family: 'linear-diagonal',
  description:
    'Griffin/Hawk recurrent block: GELU-gated branch × (short conv → RG-LRU), real-gated diagonal recurrence.',
  options: [
    { name: 'lru_width', type: 'int', default: 0, min: 0, help: 'Width of the RG-LRU; 0 means d_model.' },
    { name: 'num_heads', type: 'int', default: 1, min: 1, help: 'Blocks of the block-diagonal gate projections.' },
    { name: 'conv_width', type: 'int', default: 4, min: 1, max: 16, help: 'Taps of the temporal convolution.' },
  ],
  create(dModel, options) {
    const given = rejectNegativeEigenvalues('hawk', 'the RG-LRU', options, 'its decay σ(Λ)^(8r) is defined in (0, 1)');
    return hawkMixer(dModel, resolveOptions(HAWK, given));
  },
};

registerMixer(HAWK);
