// ParaRNN's ParaGRU and ParaLSTM (CIFG) mixers (Apple ml-pararnn): diagonal recurrent weights, so the
// sequence can be solved by Newton's method in parallel. The option `mode` picks the evaluation —
// 'newton' (parallel, stops at `newton_tolerance` or after `newton_iterations`) or 'sequential'
// (exact) — over the same parameters, so a trained model can be evaluated either way. Parameters:
//   in_proj.weight  [NI·hidden, d_model], in_proj.bias [NI·hidden]   (ParaRNN's B x + b, dense here)
//   recurrent_diag  [NP, hidden]   paragru: a_z, a_r, a_h; paralstm: a_f, a_o, a_c, c_f, c_o (peepholes)
//   out_proj.weight [d_model, hidden]
// In Newton mode every forward leaves its convergence report in `lastNewtonReport` (residual per
// iteration, resolved after the next flush); a non-converged solve is also logged as a warning.

import { linear } from '../../../ops/matmul.js';
import { zeros } from '../../../ops/elementwise.js';
import { DIAG_CELLS, type DiagCell, type DiagCellKind } from '../../../ops/newton/diag-cells.js';
import { diagRnn, diagRnnStep, NEWTON_DEFAULTS, type DiagRnnMode } from '../../../ops/newton/diag-rnn.js';
import type { NewtonReport } from '../../../ops/newton/newton.js';
import { randn } from '../../../cpu/tensor.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory } from '../../mixer.js';
import { packState, resolveWidth, unpackState } from './fused.js';

export interface ParaRnnMixer extends Mixer {
  mode: DiagRnnMode;
  /** The report of the latest Newton-mode forward (null before the first one, or in sequential mode). */
  lastNewtonReport: NewtonReport | null;
}

interface Variant {
  kind: DiagCellKind;
  title: string;
  description: string;
}

function paraMixer(
  v: Variant,
  cell: DiagCell,
  dModel: number,
  hidden: number,
  options: Record<string, unknown>,
): ParaRnnMixer {
  const NI = cell.pre.length;
  const NP = cell.params.length;
  const S = cell.states.length;
  const iterations = options.newton_iterations as number;
  const tolerance = options.newton_tolerance as number;
  let warned = false;
  const mixer: ParaRnnMixer = {
    kind: v.kind,
    mode: options.mode as DiagRnnMode,
    lastNewtonReport: null,
    params: () => [
      { name: 'in_proj.weight', shape: [NI * hidden, dModel], init: xavierUniform(dModel, NI * hidden) },
      // ParaRNN's "bias_minus_linspace": the first gate's bias is −linspace(0, 1) over the units.
      {
        name: 'in_proj.bias',
        shape: [NI * hidden],
        init: {
          kind: 'custom',
          values: () =>
            Float64Array.from({ length: NI * hidden }, (_, i) => (i < hidden ? -i / Math.max(1, hidden - 1) : 0)),
        },
        noDecay: true,
      },
      // xLSTM's small init, N(0, 2/(5·hidden)), as ParaRNN's "xlstm" initializer for the diagonal A.
      {
        name: 'recurrent_diag',
        shape: [NP, hidden],
        init: { kind: 'custom', values: (shape, seed) => randn(shape, seed, Math.sqrt(2 / (5 * hidden))).data },
      },
      { name: 'out_proj.weight', shape: [dModel, hidden], init: xavierUniform(hidden, dModel) },
    ],
    forward(p, x, { initialState, returnState } = {}) {
      const s0 = initialState ? packState(cell, initialState, v.kind) : null;
      const pre = linear(x, p.get('in_proj.weight'), p.get('in_proj.bias'));
      const out = diagRnn(cell, pre, p.get('recurrent_diag'), s0, { mode: mixer.mode, iterations, tolerance });
      if (out.report) {
        mixer.lastNewtonReport = out.report;
        void out.report.outcome.then(
          (o) => {
            if (!o.converged && !warned) console.warn(`${v.kind} (${p.prefix || 'mixer'}): ${o.message}`);
            warned = !o.converged;
          },
          () => undefined,
        );
      }
      const y = linear(out.y, p.get('out_proj.weight'));
      return returnState ? { y, state: unpackState(cell, out.state) } : { y };
    },
    step(p, x, state) {
      const pre = linear(x, p.get('in_proj.weight'), p.get('in_proj.bias'));
      const out = diagRnnStep(cell, pre, p.get('recurrent_diag'), packState(cell, state, v.kind));
      return { y: linear(out.y, p.get('out_proj.weight')), state: unpackState(cell, out.state) };
    },
    initialState: (engine, batch) => unpackState(cell, zeros(engine, [batch, S, hidden])),
    stateSize: () => S * hidden,
    // Projections in and out plus ~12 FLOPs per unit and gate; Newton mode repeats the pointwise part
    // (and a Jacobian) per iteration, which this model-size count leaves out.
    flopsPerToken: () => 2 * dModel * NI * hidden + 2 * hidden * dModel + 12 * NI * hidden,
  };
  return mixer;
}

function xavierUniform(fanIn: number, fanOut: number) {
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  return { kind: 'uniform' as const, low: -bound, high: bound };
}

function factory(v: Variant): MixerFactory {
  const cell = DIAG_CELLS[v.kind];
  const f: MixerFactory = {
    kind: v.kind,
    title: v.title,
    family: 'nonlinear-rnn',
    description: v.description,
    options: [
      { name: 'hidden', type: 'int', default: 0, min: 0, max: 65536, help: 'Recurrent state width; 0 = d_model.' },
      {
        name: 'mode',
        type: 'enum',
        default: 'newton',
        choices: ['newton', 'sequential'],
        help: 'Newton: the whole sequence solved in parallel by Newton iterations; sequential: exact step-by-step loop. Same parameters.',
      },
      {
        name: 'newton_iterations',
        type: 'int',
        default: NEWTON_DEFAULTS.iterations,
        min: 0,
        max: 256,
        help: 'Most Newton iterations per forward pass.',
      },
      {
        name: 'newton_tolerance',
        type: 'float',
        default: NEWTON_DEFAULTS.tolerance,
        min: 0,
        max: 1,
        help: 'Newton stops (on the GPU) once max|f(s_{t-1}) - s_t| is at most this.',
      },
    ],
    create(dModel, options) {
      const o = resolveOptions(f, options);
      const { hidden } = resolveWidth(v.kind, dModel, o.hidden as number, 1);
      return paraMixer(v, cell, dModel, hidden, o);
    },
  };
  return f;
}

export const PARAGRU = factory({
  kind: 'paragru',
  title: 'ParaGRU',
  description:
    'ParaRNN diagonal GRU: z, r, candidate gates with diagonal recurrence; trainable in parallel by Newton iterations (mode) or sequentially.',
});
export const PARALSTM = factory({
  kind: 'paralstm',
  title: 'ParaLSTM',
  description:
    'ParaRNN CIFG LSTM with diagonal recurrence and peepholes; 2×2 block Jacobians, Newton-parallel (mode) or sequential. State c_h: [B, 2, hidden].',
});

for (const f of [PARAGRU, PARALSTM]) registerMixer(f);
