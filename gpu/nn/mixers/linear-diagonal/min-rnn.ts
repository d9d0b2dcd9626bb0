// minGRU and minLSTM ("Were RNNs All We Needed?", Feng et al. 2024; reference lucidrains/minGRU-pytorch
// minGRU.py, minLSTM.py): gates that depend on x_t only, so h_t = a_t ⊙ h_{t-1} + b_t is linear in h.
//   minGRU:  z = σ(k),  h̃ = g(x_h),  a = 1 − z,  b = z ⊙ h̃
//   minLSTM: f' = σ(f)/(σ(f)+σ(i)),  i' = σ(i)/(σ(f)+σ(i)),  a = f',  b = i' ⊙ h̃
// with g(x) = x + 0.5 (x ≥ 0), σ(x) (x < 0) keeping every state positive. The parallel form scans
// log h_t = logaddexp(log a_t + log h_{t-1}, log b_t) (appendix B.3.1); the step form is the linear
// update, as in the reference's seq_len == 1 path. One projection produces [h̃ | gates]; the output
// projection exists when the expansion factor is not 1 (the reference's proj_out default).
//
// Deliberate difference: with a carried state the reference enters log space with log_g(h_prev); we
// use log(h_prev), so that the parallel form with a carried state equals the step form token by token.

import { exp, log, mul } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { linearStep } from '../../../ops/scan/step.js';
import { logLinearScan } from '../../../ops/scan/log-scan.js';
import { slice } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { ParamSpec, ParamView } from '../../module.js';
import {
  checkMixerCall,
  zeroState,
  fusedMap,
  rejectNegativeEigenvalues,
  scaledWidth,
  torchDefaultInit,
} from './common.js';

// g and log g of the reference (appendix B.3), and their derivatives, as WGSL in the input named X.
const G = 'select(sigmoid_(X), max(X, 0.0) + 0.5, X >= 0.0)';
const G_GRAD = 'select(sigmoid_(X) * (1.0 - sigmoid_(X)), 1.0, X >= 0.0)';
const LOG_G = 'select(-softplus_(-X), log(max(X, 0.0) + 0.5), X >= 0.0)';
const LOG_G_GRAD = 'select(sigmoid_(-X), 1.0 / (max(X, 0.0) + 0.5), X >= 0.0)';
const on = (expr: string, input: string) => expr.replace(/\bX\b/g, input);

interface Gates {
  /** Log-space coefficients for the parallel scan: log a, log b ([B, T, D]). */
  logSpace(proj: Tensor[]): { logA: Tensor; logB: Tensor };
  /** Linear-space coefficients for one step: a, b ([B, D]). */
  linear(proj: Tensor[]): { a: Tensor; b: Tensor };
}

/** minGRU: proj = [h̃ pre-activation x_h, gate k]. */
const MIN_GRU_GATES: Gates = {
  logSpace: ([hidden, k]) => ({
    // log(1 − σ(k)) = −softplus(k); log σ(k) = −softplus(−k).
    logA: fusedMap('mingru.log_a', [k], '-softplus_(a)', ['-dy * sigmoid_(a)']),
    logB: fusedMap('mingru.log_b', [k, hidden], `-softplus_(-a) + ${on(LOG_G, 'b')}`, [
      'dy * sigmoid_(-a)',
      `dy * ${on(LOG_G_GRAD, 'b')}`,
    ]),
  }),
  linear: ([hidden, k]) => ({
    a: fusedMap('mingru.a', [k], 'sigmoid_(-a)', ['-dy * sigmoid_(a) * sigmoid_(-a)']),
    b: fusedMap('mingru.b', [k, hidden], `sigmoid_(a) * ${on(G, 'b')}`, [
      `dy * sigmoid_(a) * sigmoid_(-a) * ${on(G, 'b')}`,
      `dy * sigmoid_(a) * ${on(G_GRAD, 'b')}`,
    ]),
  }),
};

/** minLSTM: proj = [x_h, f, i]; with δ = softplus(−f) − softplus(−i): log f' = −softplus(δ), log i' = −softplus(−δ). */
const MIN_LSTM_GATES: Gates = {
  logSpace: ([hidden, f, i]) => {
    const delta = 'softplus_(-a) - softplus_(-b)';
    const logA = fusedMap('minlstm.log_f', [f, i], `-softplus_(${delta})`, [
      `dy * sigmoid_(${delta}) * sigmoid_(-a)`,
      `-dy * sigmoid_(${delta}) * sigmoid_(-b)`,
    ]);
    const logI = fusedMap('minlstm.log_i', [f, i], `-softplus_(-(${delta}))`, [
      `-dy * sigmoid_(-(${delta})) * sigmoid_(-a)`,
      `dy * sigmoid_(-(${delta})) * sigmoid_(-b)`,
    ]);
    const logG = fusedMap('minlstm.log_g', [hidden], on(LOG_G, 'a'), [`dy * ${on(LOG_G_GRAD, 'a')}`]);
    return { logA, logB: addLog(logI, logG) };
  },
  linear: ([hidden, f, i]) => {
    // f' = σ(f)/(σ(f)+σ(i)) = σ(δ') with δ' = log σ(f) − log σ(i) = softplus(−i) − softplus(−f).
    const delta = 'softplus_(-b) - softplus_(-a)';
    const a = fusedMap('minlstm.f', [f, i], `sigmoid_(${delta})`, [
      `dy * sigmoid_(${delta}) * sigmoid_(-(${delta})) * sigmoid_(-a)`,
      `-dy * sigmoid_(${delta}) * sigmoid_(-(${delta})) * sigmoid_(-b)`,
    ]);
    const iPrime = fusedMap('minlstm.i', [f, i], `sigmoid_(-(${delta}))`, [
      `-dy * sigmoid_(${delta}) * sigmoid_(-(${delta})) * sigmoid_(-a)`,
      `dy * sigmoid_(${delta}) * sigmoid_(-(${delta})) * sigmoid_(-b)`,
    ]);
    const g = fusedMap('minlstm.g', [hidden], on(G, 'a'), [`dy * ${on(G_GRAD, 'a')}`]);
    return { a, b: mul(iPrime, g) };
  },
};

function addLog(x: Tensor, y: Tensor): Tensor {
  return fusedMap('minlstm.log_b', [x, y], 'a + b', ['dy', 'dy']);
}

interface Variant {
  kind: string;
  title: string;
  projName: string;
  /** Pre-activations in the projection: h̃ plus the gates. */
  blocks: number;
  gates: Gates;
}

function minRnnMixer(v: Variant, dModel: number, options: MixerOptions): Mixer {
  const expansion = options.expansion as number;
  const dInner = scaledWidth(v.kind, 'expansion', dModel, expansion);
  const projOut = expansion !== 1;
  const project = (p: ParamView, x: Tensor): Tensor[] => {
    const proj = linear(x, p.get(`${v.projName}.weight`));
    const axis = proj.shape.length - 1;
    return Array.from({ length: v.blocks }, (_, k) => slice(proj, axis, k * dInner, (k + 1) * dInner));
  };
  const output = (p: ParamView, h: Tensor) => (projOut ? linear(h, p.get('to_out.weight')) : h);
  const stateShapes = (batch: number) => ({ h: [batch, dInner] });
  return {
    kind: v.kind,
    params(): ParamSpec[] {
      return [
        { name: `${v.projName}.weight`, shape: [v.blocks * dInner, dModel], init: torchDefaultInit(dModel) },
        ...(projOut ? [{ name: 'to_out.weight', shape: [dModel, dInner], init: torchDefaultInit(dInner) }] : []),
      ];
    },
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall(v.kind, p, x, dModel, 'parallel', initialState, stateShapes);
      const { logA, logB } = v.gates.logSpace(project(p, x));
      // States are positive; max(h, 1e-30) keeps log finite for a zero initial state (its weight in the
      // first step is then e^-69 ≈ 1e-30, far below f32 resolution of the other term).
      const logH0 = initialState
        ? log(fusedMap('clamp_tiny', [initialState.h], 'max(a, 1e-30)', ['select(0.0, dy, a > 1e-30)']))
        : undefined;
      const scan = logLinearScan(logA, logB, logH0);
      const y = output(p, exp(scan.h));
      return returnState ? { y, state: { h: exp(scan.last) } } : { y };
    },
    step(p, x, state) {
      checkMixerCall(v.kind, p, x, dModel, 'step', state, stateShapes);
      const { a, b } = v.gates.linear(project(p, x));
      const h = linearStep(a, b, state.h);
      return { y: output(p, h), state: { h } };
    },
    initialState: (engine, batch) => zeroState(engine, stateShapes(batch)),
    stateSize: () => dInner,
    flopsPerToken: () => 2 * dModel * v.blocks * dInner + (projOut ? 2 * dInner * dModel : 0) + 10 * dInner,
  };
}

function factory(v: Variant, description: string): MixerFactory {
  const f: MixerFactory = {
    kind: v.kind,
    title: v.title,
    family: 'linear-diagonal',
    description,
    options: [
      {
        name: 'expansion',
        type: 'float',
        default: 1,
        min: 0.0625,
        max: 16,
        help: 'Inner width as a multiple of d_model; an output projection is added when it is not 1.',
      },
    ],
    create(dModel, options) {
      const given = rejectNegativeEigenvalues(v.kind, v.title, options, 'its log-space scan needs positive decays');
      return minRnnMixer(v, dModel, resolveOptions(f, given));
    },
  };
  return f;
}

export const MIN_GRU = factory(
  { kind: 'mingru', title: 'minGRU', projName: 'to_hidden_and_gate', blocks: 2, gates: MIN_GRU_GATES },
  'GRU without hidden-state dependence in its gates: h = (1 − z) h + z g(h̃), trained with a log-space parallel scan.',
);
export const MIN_LSTM = factory(
  { kind: 'minlstm', title: 'minLSTM', projName: 'to_hidden_and_f_i_gate', blocks: 3, gates: MIN_LSTM_GATES },
  'LSTM with normalized forget/input gates that depend on x only: h = f′ h + i′ g(h̃), log-space parallel scan.',
);

registerMixer(MIN_GRU);
registerMixer(MIN_LSTM);
