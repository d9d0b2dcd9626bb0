// LSTM, GRU, Elman and sLSTM mixers on the fused sequential kernel (gpu/ops/rnn): x → W x for all t
// at once (`linear`), the recurrence with a multi-head block-diagonal R (FlashRNN's layout), then an
// output projection back to d_model. Parameters:
//   in_proj.weight   [NI·hidden, d_model]   gate blocks in the cell's input-gate order
//   recurrent.weight [NR, heads, D, D]      one D×D block per (recurrent gate, head), D = hidden/heads
//   bias             [NB, hidden]           one per raw gate (GRU: b_g, b_r, b_z, b_n as FlashRNN)
//   out_proj.weight  [d_model, hidden]
// The carried state is one tensor named after its components (`h_c` for the LSTM: [B, 2, hidden]; `h`
// for GRU and Elman: [B, hidden]). It is a constant to autograd (truncated BPTT).

import { linear } from '../../../ops/matmul.js';
import { zeros } from '../../../ops/elementwise.js';
import { reshape } from '../../../ops/shape.js';
import { FUSED_CELLS, type FusedCell, type FusedCellKind } from '../../../ops/rnn/cells.js';
import { fusedRnn, fusedRnnStep } from '../../../ops/rnn/fused-rnn.js';
import type { Tensor } from '../../../tensor.js';
import { registerMixer, resolveOptions, type Mixer, type MixerFactory, type MixerState } from '../../mixer.js';
import type { Init, ParamView } from '../../module.js';

interface Variant {
  kind: FusedCellKind;
  title: string;
  description: string;
  /** Initial bias per raw gate g and hidden unit u. */
  bias(g: number, u: number, hidden: number): number;
  /** Recurrent blocks start at zero (xLSTM's sLSTM) or uniform ±1/√D (PyTorch's RNN default). */
  zeroRecurrent?: boolean;
}

/** The state tensor's key: its components joined, e.g. `h_c`. */
export function stateKey(states: readonly string[]): string {
  return states.join('_');
}

/** [B, S, hidden] kernel layout ↔ the mixer's state ([B, hidden] when there is one component). */
export function packState(cell: { states: readonly string[] }, state: MixerState, kind: string): Tensor {
  const key = stateKey(cell.states);
  const t = state[key];
  if (!t)
    throw new Error(
      `${kind}: the carried state has no "${key}" entry (got ${Object.keys(state).join(', ') || 'none'})`,
    );
  if (t.requiresGrad) {
    throw new Error(
      `${kind}: gradients with respect to the carried state are not supported (truncated BPTT); detach it`,
    );
  }
  const [B] = t.shape;
  return t.shape.length === 2 ? reshape(t, [B, 1, t.shape[1]]) : t;
}

export function unpackState(cell: { states: readonly string[] }, state: Tensor): MixerState {
  const [B, S, hidden] = state.shape;
  return { [stateKey(cell.states)]: S === 1 ? reshape(state, [B, hidden]) : state };
}

/** Width of the recurrent state (0 = d_model) and the head size; errors name the layer and option. */
export function resolveWidth(
  kind: string,
  dModel: number,
  hiddenOption: number,
  heads: number,
): { hidden: number; D: number } {
  const hidden = hiddenOption === 0 ? dModel : hiddenOption;
  if (hidden % heads !== 0) {
    throw new RangeError(`${kind}: hidden size ${hidden} is not divisible by heads ${heads} (option "heads")`);
  }
  return { hidden, D: hidden / heads };
}

function torchUniform(fanIn: number): Init {
  const bound = 1 / Math.sqrt(fanIn);
  return { kind: 'uniform', low: -bound, high: bound };
}

function fusedMixer(v: Variant, cell: FusedCell, dModel: number, hidden: number, heads: number): Mixer {
  const D = hidden / heads;
  const NI = cell.inputGates.length;
  const NR = cell.recurrentGates.length;
  const NB = cell.gates.length;
  const S = cell.states.length;
  const weights = (p: ParamView) => [p.get('recurrent.weight'), p.get('bias')] as const;
  return {
    kind: v.kind,
    params: () => [
      { name: 'in_proj.weight', shape: [NI * hidden, dModel], init: torchUniform(dModel) },
      {
        name: 'recurrent.weight',
        shape: [NR, heads, D, D],
        init: v.zeroRecurrent ? { kind: 'constant', value: 0 } : torchUniform(D),
      },
      {
        name: 'bias',
        shape: [NB, hidden],
        init: {
          kind: 'custom',
          values: () =>
            Float64Array.from({ length: NB * hidden }, (_, i) => v.bias(Math.floor(i / hidden), i % hidden, hidden)),
        },
        noDecay: true,
      },
      { name: 'out_proj.weight', shape: [dModel, hidden], init: torchUniform(hidden) },
    ],
    forward(p, x, { initialState, returnState } = {}) {
      const s0 = initialState ? packState(cell, initialState, v.kind) : null;
      const { y, state } = fusedRnn(cell, linear(x, p.get('in_proj.weight')), ...weights(p), s0);
      const out = linear(y, p.get('out_proj.weight'));
      return returnState ? { y: out, state: unpackState(cell, state) } : { y: out };
    },
    step(p, x, state) {
      const out = fusedRnnStep(cell, linear(x, p.get('in_proj.weight')), ...weights(p), packState(cell, state, v.kind));
      return { y: linear(out.y, p.get('out_proj.weight')), state: unpackState(cell, out.state) };
    },
    initialState: (engine, batch) => unpackState(cell, zeros(engine, [batch, S, hidden])),
    stateSize: () => S * hidden,
    // Projections in and out, the block-diagonal recurrent product, ~10 FLOPs per unit and gate pointwise.
    flopsPerToken: () => 2 * dModel * NI * hidden + 2 * NR * hidden * D + 2 * hidden * dModel + 10 * NB * hidden,
  };
}

function factory(v: Variant): MixerFactory {
  const cell = FUSED_CELLS[v.kind];
  const f: MixerFactory = {
    kind: v.kind,
    title: v.title,
    family: 'nonlinear-rnn',
    description: v.description,
    options: [
      { name: 'hidden', type: 'int', default: 0, min: 0, max: 65536, help: 'Recurrent state width; 0 = d_model.' },
      {
        name: 'heads',
        type: 'int',
        default: 4,
        min: 1,
        max: 4096,
        help: 'Blocks of the block-diagonal recurrent matrix (FlashRNN heads); must divide the hidden width.',
      },
    ],
    create(dModel, options) {
      const o = resolveOptions(f, options);
      const heads = o.heads as number;
      const { hidden, D } = resolveWidth(v.kind, dModel, o.hidden as number, heads);
      // One invocation per unit of a head: beyond 1024 no device can run it.
      if (D > 1024)
        throw new RangeError(`${v.kind}: head size ${D} exceeds 1024 units; use more heads (option "heads")`);
      return fusedMixer(v, cell, dModel, hidden, heads);
    },
  };
  return f;
}

const linspace = (from: number, to: number, u: number, n: number) =>
  n > 1 ? from + ((to - from) * u) / (n - 1) : from;

export const LSTM = factory({
  kind: 'lstm',
  title: 'LSTM',
  description:
    'LSTM with a multi-head block-diagonal recurrent matrix, fused sequential kernel (FlashRNN style). State h_c: [B, 2, hidden].',
  // Forget-gate bias 1 (Jozefowicz et al.), the usual recipe for remembering by default.
  bias: (g) => (g === 1 ? 1 : 0),
});
export const GRU = factory({
  kind: 'gru',
  title: 'GRU',
  description: "GRU in FlashRNN's gate form (reset gate applied to R_g h + b_g), multi-head block-diagonal recurrence.",
  bias: () => 0,
});
export const ELMAN = factory({
  kind: 'elman',
  title: 'Elman RNN',
  description: 'h = tanh(W x + R h + b) with a multi-head block-diagonal R, fused sequential kernel.',
  bias: () => 0,
});
export const SLSTM = factory({
  kind: 'slstm',
  title: 'sLSTM',
  description:
    "xLSTM's sLSTM: exponential input gate with stabilizer m and normalizer n, head-wise recurrence. State h_c_n_m: [B, 4, hidden].",
  // xLSTM: recurrent kernel zero at init, forget bias linspace(3, 6).
  zeroRecurrent: true,
  bias: (g, u, hidden) => (g === 1 ? linspace(3, 6, u, hidden) : 0),
});

for (const f of [LSTM, GRU, ELMAN, SLSTM]) registerMixer(f);
