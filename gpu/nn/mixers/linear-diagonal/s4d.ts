// S4D (Gu et al., "On the Parameterization and Initialization of Diagonal State Space Models"; reference
// state-spaces/s4 models/s4/s4d.py) in its recurrent view. Per channel h and complex mode n:
//   A = −exp(log_A_real) + i·A_imag,  λ = exp(dt·A),  x_t = λ x_{t-1} + u_t,
//   y_t = 2·Re(Σ_n C′_n x_{n,t}) + D u_t  with C′ = C (exp(dt·A) − 1)/A (ZOH; B folded into C),
// then GELU and the position-wise output: Conv1d(H, 2H, 1) + GLU. The reference convolves with the kernel
// K_l = 2·Re(Σ_n C′_n λ_n^l) by FFT; unrolling that convolution gives exactly this recurrence, which the
// complex chunked scan computes with channels (h, n). C′ is formed as C·dt·φ(dt·A) with a stable φ
// (zoh.ts): (e^{dtA} − 1)/A cancels in f32 for small dt, and so does its gradient.

import { add, exp, gelu, mul, neg, sub } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { sum } from '../../../ops/reduce.js';
import { complexLinearScan } from '../../../ops/scan/linear-scan.js';
import { pairUp } from '../../../ops/scan/pairs.js';
import { complexLinearStep } from '../../../ops/scan/step.js';
import { concat, reshape, slice } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { ParamSpec, ParamView } from '../../module.js';
import {
  checkMixerCall,
  broadcastTo,
  fusedMap,
  rejectNegativeEigenvalues,
  torchDefaultInit,
  uniformSamples,
  zeroState,
} from './common.js';
import { zohFactor } from './zoh.js';

function s4dMixer(H: number, options: MixerOptions): Mixer {
  const N = options.d_state as number;
  if (N % 2 !== 0) throw new RangeError(`s4d: option "d_state" ${N} must be even (N/2 complex modes)`);
  const modes = N / 2;
  const dtMin = options.dt_min as number;
  const dtMax = options.dt_max as number;
  if (!(dtMin < dtMax)) throw new RangeError(`s4d: option "dt_min" ${dtMin} must be below dt_max ${dtMax}`);

  /** The discretized transition λ = exp(dt·A) and the readout 2·C′ = 2·C·dt·φ(dt·A), as [H, N/2, 2] pairs. */
  const discretize = (p: ParamView) => {
    const dt = reshape(exp(p.get('kernel.log_dt')), [H, 1]);
    const zRe = mul(neg(exp(p.get('kernel.log_A_real'))), dt);
    const zIm = mul(p.get('kernel.A_imag'), dt);
    const lambdaRe = fusedMap('s4d.exp_re', [zRe, zIm], 'exp(a) * cos(b)', [
      'dy * exp(a) * cos(b)',
      '-dy * exp(a) * sin(b)',
    ]);
    const lambdaIm = fusedMap('s4d.exp_im', [zRe, zIm], 'exp(a) * sin(b)', [
      'dy * exp(a) * sin(b)',
      'dy * exp(a) * cos(b)',
    ]);
    const phi = zohFactor(zRe, zIm);
    const part = (t: Tensor, k: number) => slice(t, 2, k, k + 1);
    const c = p.get('kernel.C');
    const twiceDt = reshape(fusedMap('s4d.twice', [dt], '2.0 * a', ['2.0 * dy']), [H, 1, 1]);
    // 2·Re(C′ x) = (2 C′_re) x_re + (−2 C′_im) x_im, with C′ = C·dt·φ written out on (re, im).
    const readRe = mul(twiceDt, sub(mul(part(c, 0), part(phi, 0)), mul(part(c, 1), part(phi, 1))));
    const readIm = mul(twiceDt, add(mul(part(c, 0), part(phi, 1)), mul(part(c, 1), part(phi, 0))));
    return { lambda: pairUp(lambdaRe, lambdaIm), readout: concat([readRe, neg(readIm)], 2) };
  };

  /** u [..., H] as complex inputs (u, 0) of every mode: [..., H·N/2, 2]. */
  const inputs = (x: Tensor) => {
    const lead = x.shape.slice(0, -1);
    const unitReal = x.engine.fromArray(
      Float32Array.from({ length: modes * 2 }, (_, i) => (i % 2 === 0 ? 1 : 0)),
      [modes, 2],
    );
    return reshape(mul(reshape(x, [...lead, H, 1, 1]), unitReal), [...lead, H * modes, 2]);
  };
  const output = (p: ParamView, states: Tensor, readout: Tensor, x: Tensor) => {
    const lead = x.shape.slice(0, -1);
    const y = sum(reshape(mul(reshape(states, [...lead, H, modes, 2]), readout), [...lead, H, modes * 2]), -1);
    const z = linear(gelu(add(y, mul(x, p.get('D')))), p.get('output_linear.0.weight'), p.get('output_linear.0.bias'));
    const axis = z.shape.length - 1;
    return fusedMap('s4d.glu', [slice(z, axis, 0, H), slice(z, axis, H, 2 * H)], 'a * sigmoid_(b)', [
      'dy * sigmoid_(b)',
      'dy * a * sigmoid_(b) * sigmoid_(-b)',
    ]);
  };

  const stateShapes = (batch: number) => ({ h: [batch, H * modes, 2] });

  return {
    kind: 's4d',
    params(): ParamSpec[] {
      const constant = (f: (h: number, n: number) => number) => ({
        kind: 'custom' as const,
        values: () => Float64Array.from({ length: H * modes }, (_, i) => f(Math.floor(i / modes), i % modes)),
      });
      return [
        { name: 'D', shape: [H], init: { kind: 'normal', std: 1 } },
        // torch.randn(cfloat): real and imaginary parts each N(0, 1/2).
        { name: 'kernel.C', shape: [H, modes, 2], init: { kind: 'normal', std: Math.SQRT1_2 } },
        {
          name: 'kernel.log_dt',
          shape: [H],
          noDecay: true,
          init: {
            kind: 'custom',
            values: (shape, seed) =>
              uniformSamples(shape, seed).map((u) => Math.log(dtMin) + u * (Math.log(dtMax) - Math.log(dtMin))),
          },
        },
        // S4D-Lin: A_n = −1/2 + iπn.
        { name: 'kernel.log_A_real', shape: [H, modes], noDecay: true, init: constant(() => Math.log(0.5)) },
        { name: 'kernel.A_imag', shape: [H, modes], noDecay: true, init: constant((_, n) => Math.PI * n) },
        // Conv1d(H, 2H, kernel_size=1) stored as its [2H, H] matrix.
        { name: 'output_linear.0.weight', shape: [2 * H, H], init: torchDefaultInit(H) },
        { name: 'output_linear.0.bias', shape: [2 * H], init: torchDefaultInit(H), noDecay: true },
      ];
    },
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall('s4d', p, x, H, 'parallel', initialState, stateShapes);
      const { lambda, readout } = discretize(p);
      const u = inputs(x);
      const scan = complexLinearScan(broadcastTo(reshape(lambda, [H * modes, 2]), u.shape), u, initialState?.h);
      const y = output(p, scan.h, readout, x);
      return returnState ? { y, state: { h: scan.last } } : { y };
    },
    step(p, x, state) {
      checkMixerCall('s4d', p, x, H, 'step', state, stateShapes);
      const { lambda, readout } = discretize(p);
      const u = inputs(x);
      const h = complexLinearStep(broadcastTo(reshape(lambda, [H * modes, 2]), u.shape), u, state.h);
      return { y: output(p, h, readout, x), state: { h } };
    },
    initialState: (engine, batch) => zeroState(engine, stateShapes(batch)),
    stateSize: () => H * N,
    flopsPerToken: () => 8 * H * modes + 2 * H * 2 * H + 10 * H,
  };
}

export const S4D: MixerFactory = {
  kind: 's4d',
  title: 'S4D',
  family: 'linear-diagonal',
  description: 'Diagonal state space model (S4D-Lin init, ZOH), run as its recurrence, with GELU and a GLU output.',
  options: [
    { name: 'd_state', type: 'int', default: 64, min: 2, help: 'State size N per channel (N/2 complex modes).' },
    { name: 'dt_min', type: 'float', default: 0.001, min: 1e-6, help: 'Smallest step size at initialization.' },
    { name: 'dt_max', type: 'float', default: 0.1, min: 1e-6, help: 'Largest step size at initialization.' },
  ],
  create(dModel, options) {
    const given = rejectNegativeEigenvalues('s4d', 'S4D', options, 'its eigenvalues exp(dt·A) are complex, Re A < 0');
    return s4dMixer(dModel, resolveOptions(S4D, given));
  },
};

registerMixer(S4D);
