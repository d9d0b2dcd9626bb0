// Mamba-1's selective SSM block (Gu & Dao; reference state-spaces/mamba mamba_ssm/modules/mamba_simple.py
// and selective_scan_ref in ops/selective_scan_interface.py):
//   [x, z] = in_proj(u);  x = silu(conv1d_K(x));  [dt_low, B, C] = x_proj(x)
//   dt = softplus(dt_proj(dt_low) + dt_bias);  A = −exp(A_log)   ([d_inner, N])
//   h[c,n] ← exp(dt_c A[c,n]) h[c,n] + dt_c B_n x_c;   y_c = Σ_n C_n h[c,n] + D_c x_c
//   out = out_proj(y ⊙ silu(z))
// The scan runs over d_inner·N independent channels (c, n), n fastest. `negative_eigenvalues` uses
// 2·exp(dt·A) − 1 ∈ (−1, 1] as the transition (Grazzi et al., adankow/unlocking_state_tracking), which
// the real scan takes as it is (no log space involved).

import { add, mul, silu, softplus } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { sum } from '../../../ops/reduce.js';
import { linearScan } from '../../../ops/scan/linear-scan.js';
import { linearStep } from '../../../ops/scan/step.js';
import { reshape, slice } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { shortConv, shortConvStep } from '../../blocks/short-conv.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { ParamSpec, ParamView } from '../../module.js';
import { checkMixerCall, zeroState, dtBiasInit, fusedMap, s4dRealInit, torchDefaultInit } from './common.js';

function mambaMixer(dModel: number, options: MixerOptions): Mixer {
  const N = options.d_state as number;
  const taps = options.d_conv as number;
  const dInner = (options.expand as number) * dModel;
  const rank = (options.dt_rank as number) || Math.ceil(dModel / 16);
  const negative = options.negative_eigenvalues as boolean;
  const dtMin = options.dt_min as number;
  const dtMax = options.dt_max as number;
  if (!(dtMin < dtMax)) throw new RangeError(`mamba: option "dt_min" ${dtMin} must be below dt_max ${dtMax}`);

  /** in_proj → (x, z); x through the short conv is done by the caller (parallel or step). */
  const split = (t: Tensor, sizes: number[]) => {
    const axis = t.shape.length - 1;
    let start = 0;
    return sizes.map((n) => slice(t, axis, start, (start += n)));
  };
  /** The selective coefficients of the scan for the conv output u ([..., d_inner]) → [..., d_inner·N]. */
  const selective = (p: ParamView, u: Tensor) => {
    const lead = u.shape.slice(0, -1);
    const [dtLow, Bm, Cm] = split(linear(u, p.get('x_proj.weight')), [rank, N, N]);
    const dt = softplus(linear(dtLow, p.get('dt_proj.weight'), p.get('dt_proj.bias')));
    // exp(dt·A) with A = −exp(A_log): the exponent is never positive.
    const decay = negative ? '2.0 * exp(-a * exp(b)) - 1.0' : 'exp(-a * exp(b))';
    const scale = negative ? '2.0' : '1.0';
    const a = fusedMap('mamba.decay', [reshape(dt, [...lead, dInner, 1]), p.get('A_log')], decay, [
      `-${scale} * dy * exp(b) * exp(-a * exp(b))`,
      `-${scale} * dy * a * exp(b) * exp(-a * exp(b))`,
    ]);
    const b = mul(reshape(mul(dt, u), [...lead, dInner, 1]), reshape(Bm, [...lead, 1, N]));
    return {
      a: reshape(a, [...lead, dInner * N]),
      b: reshape(b, [...lead, dInner * N]),
      C: reshape(Cm, [...lead, 1, N]),
    };
  };
  const output = (p: ParamView, h: Tensor, C: Tensor, u: Tensor, z: Tensor) => {
    const lead = u.shape.slice(0, -1);
    const y = add(sum(mul(reshape(h, [...lead, dInner, N]), C), -1), mul(u, p.get('D')));
    const gated = fusedMap('mamba.gate', [y, z], 'a * b * sigmoid_(b)', [
      'dy * b * sigmoid_(b)',
      'dy * a * sigmoid_(b) * (1.0 + b * sigmoid_(-b))',
    ]);
    return linear(gated, p.get('out_proj.weight'));
  };

  const stateShapes = (batch: number) => ({ ssm: [batch, dInner, N], conv: [batch, taps - 1, dInner] });

  return {
    kind: 'mamba',
    params(): ParamSpec[] {
      const dtStd = rank ** -0.5;
      return [
        { name: 'in_proj.weight', shape: [2 * dInner, dModel], init: torchDefaultInit(dModel) },
        // Depthwise Conv1d(d_inner, d_inner, K, groups=d_inner): fan_in = K.
        { name: 'conv1d.weight', shape: [dInner, taps], init: torchDefaultInit(taps) },
        { name: 'conv1d.bias', shape: [dInner], init: torchDefaultInit(taps), noDecay: true },
        { name: 'x_proj.weight', shape: [rank + 2 * N, dInner], init: torchDefaultInit(dInner) },
        { name: 'dt_proj.weight', shape: [dInner, rank], init: { kind: 'uniform', low: -dtStd, high: dtStd } },
        {
          name: 'dt_proj.bias',
          shape: [dInner],
          init: dtBiasInit(dtMin, dtMax, options.dt_init_floor as number),
          noDecay: true,
        },
        { name: 'A_log', shape: [dInner, N], init: s4dRealInit(), noDecay: true },
        { name: 'D', shape: [dInner], init: { kind: 'constant', value: 1 }, noDecay: true },
        { name: 'out_proj.weight', shape: [dModel, dInner], init: torchDefaultInit(dInner) },
      ];
    },
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall('mamba', p, x, dModel, 'parallel', initialState, stateShapes);
      const [batch] = x.shape;
      const [xi, z] = split(linear(x, p.get('in_proj.weight')), [dInner, dInner]);
      const conv = shortConv(xi, p.get('conv1d.weight'), p.get('conv1d.bias'), initialState?.conv);
      const u = silu(conv.y);
      const { a, b, C } = selective(p, u);
      const h0 = initialState ? reshape(initialState.ssm, [batch, dInner * N]) : undefined;
      const scan = linearScan(a, b, h0);
      const y = output(p, scan.h, C, u, z);
      if (!returnState) return { y };
      return { y, state: { ssm: reshape(scan.last, [batch, dInner, N]), conv: conv.state } };
    },
    step(p, x, state) {
      checkMixerCall('mamba', p, x, dModel, 'step', state, stateShapes);
      const [batch] = x.shape;
      const [xi, z] = split(linear(x, p.get('in_proj.weight')), [dInner, dInner]);
      const conv = shortConvStep(xi, p.get('conv1d.weight'), p.get('conv1d.bias'), state.conv);
      const u = silu(conv.y);
      const { a, b, C } = selective(p, u);
      const h = linearStep(a, b, reshape(state.ssm, [batch, dInner * N]));
      return { y: output(p, h, C, u, z), state: { ssm: reshape(h, [batch, dInner, N]), conv: conv.state } };
    },
    initialState: (engine, batch) => zeroState(engine, stateShapes(batch)),
    stateSize: () => dInner * N + (taps - 1) * dInner,
    flopsPerToken: () =>
      2 * dModel * 2 * dInner +
      2 * taps * dInner +
      2 * dInner * (rank + 2 * N) +
      2 * rank * dInner +
      8 * dInner * N +
      2 * dInner * dModel,
  };
}

export const MAMBA: MixerFactory = {
  kind: 'mamba',
  title: 'Mamba (S6)',
  family: 'linear-diagonal',
  description:
    'Mamba-1 selective SSM block: input-dependent dt, B, C over a diagonal state per channel, with conv and gating.',
  options: [
    { name: 'd_state', type: 'int', default: 16, min: 1, help: 'State size N per channel.' },
    { name: 'd_conv', type: 'int', default: 4, min: 1, max: 16, help: 'Taps of the short causal convolution.' },
    { name: 'expand', type: 'int', default: 2, min: 1, max: 8, help: 'd_inner as a multiple of d_model.' },
    {
      name: 'dt_rank',
      type: 'int',
      default: 0,
      min: 0,
      help: 'Rank of the dt projection; 0 means ceil(d_model / 16).',
    },
    { name: 'dt_min', type: 'float', default: 0.001, min: 1e-6, help: 'Smallest dt at initialization.' },
    { name: 'dt_max', type: 'float', default: 0.1, min: 1e-6, help: 'Largest dt at initialization.' },
    { name: 'dt_init_floor', type: 'float', default: 1e-4, min: 0, help: 'Floor of the initial dt.' },
    {
      name: 'negative_eigenvalues',
      type: 'bool',
      default: false,
      help: 'Transition 2·exp(dt·A) − 1 ∈ (−1, 1] instead of exp(dt·A) ∈ (0, 1] (state tracking, e.g. parity).',
    },
  ],
  create: (dModel, options) => mambaMixer(dModel, resolveOptions(MAMBA, options)),
};

registerMixer(MAMBA);
