// LSTM, GRU, Elman and sLSTM in ONNX (gpu/ops/rnn/cells.ts; FlashRNN's layout): per token, the input
// projection's gate blocks, the block-diagonal recurrent product R h (one MatMul over [gates, heads]),
// the bias, and the cell; the parallel graph scans that step over time. The state is one tensor named
// after its rows, as in StateLab: h [B, hidden], or h_c / h_c_n_m [B, rows, hidden].

import type { OnnxGraph } from '../builder.js';
import { num, scanParallel, type OnnxMixerFactory } from '../common.js';

interface Cell {
  gates: number;
  input: number[];
  recurrent: number[];
  rows: string[];
  /** raw gate pre-activations and the state rows → the next state rows (row 0 is h, the output). */
  step(g: OnnxGraph, raw: string[], rows: string[]): string[];
}

const one = (g: OnnxGraph) => g.floats(1);

const CELLS: Record<string, Cell> = {
  lstm: {
    gates: 4,
    input: [0, 1, 2, 3],
    recurrent: [0, 1, 2, 3],
    rows: ['h', 'c'],
    step(g, [i, f, z, o], [, c]) {
      const cNew = g.add(g.mul(g.sigmoid(f), c), g.mul(g.sigmoid(i), g.tanh(z)));
      return [g.mul(g.sigmoid(o), g.tanh(cNew)), cNew];
    },
  },
  gru: {
    gates: 4,
    input: [1, 2, 3],
    recurrent: [0, 1, 2],
    rows: ['h'],
    step(g, [rg, rr, rz, rn], [h]) {
      const z = g.sigmoid(rz);
      const candidate = g.tanh(g.add(rn, g.mul(g.sigmoid(rr), rg)));
      return [g.add(g.mul(z, h), g.mul(g.sub(one(g), z), candidate))];
    },
  },
  elman: {
    gates: 1,
    input: [0],
    recurrent: [0],
    rows: ['h'],
    step: (g, [ra]) => [g.tanh(ra)],
  },
  slstm: {
    gates: 4,
    input: [0, 1, 2, 3],
    recurrent: [0, 1, 2, 3],
    rows: ['h', 'c', 'n', 'm'],
    step(g, [ri, rf, rz, ro], [, c, n, m]) {
      const logF = g.logSigmoid(rf);
      const mNew = g.max(ri, g.add(logF, m));
      const inputGate = g.exp(g.sub(ri, mNew));
      const forgetGate = g.exp(g.sub(g.add(logF, m), mNew));
      const cNew = g.add(g.mul(forgetGate, c), g.mul(inputGate, g.tanh(rz)));
      const nNew = g.add(g.mul(forgetGate, n), inputGate);
      return [g.div(g.mul(g.sigmoid(ro), cNew), nNew), cNew, nNew, mNew];
    },
  },
};

function fusedRnn(kind: string): OnnxMixerFactory {
  const cell = CELLS[kind];
  return (config, w) => {
    const hidden = num(config, 'hidden') || num(config, 'd_model');
    const heads = num(config, 'heads');
    const D = hidden / heads;
    const key = cell.rows.join('_');
    const single = cell.rows.length === 1;
    const states = [{ name: key, dims: single ? [hidden] : [cell.rows.length, hidden] }];
    const step = (g: OnnxGraph, x: string, state: Record<string, string>) => {
      const pick = (t: string, index: number, axis: number) => g.gather(t, g.ints([index], true), axis);
      const rows = single ? [state[key]] : cell.rows.map((_, r) => pick(state[key], r, 1));
      const gx = g.reshape(g.linear(x, w('in_proj.weight')), [0, cell.input.length, hidden]);
      // R [NR, heads, D, D] @ h [B, 1, heads, D, 1] → [B, NR, heads, D, 1].
      const rh = g.reshape(g.matmul(w('recurrent.weight'), g.reshape(rows[0], [0, 1, heads, D, 1])), [
        0,
        cell.recurrent.length,
        hidden,
      ]);
      const raw = Array.from({ length: cell.gates }, (_, gate) => {
        let value = pick(w('bias'), gate, 0);
        const fromInput = cell.input.indexOf(gate);
        if (fromInput >= 0) value = g.add(value, pick(gx, fromInput, 1));
        const fromRecurrent = cell.recurrent.indexOf(gate);
        if (fromRecurrent >= 0) value = g.add(value, pick(rh, fromRecurrent, 1));
        return value;
      });
      const next = cell.step(g, raw, rows);
      const packed = single
        ? next[0]
        : g.concat(
            next.map((r) => g.unsqueeze(r, [1])),
            1,
          );
      return { y: g.linear(next[0], w('out_proj.weight')), state: { [key]: packed } };
    };
    return { states, step, parallel: (g: OnnxGraph, x: string) => scanParallel(g, x, states, step) };
  };
}

export const lstm = fusedRnn('lstm');
export const gru = fusedRnn('gru');
export const elman = fusedRnn('elman');
export const slstm = fusedRnn('slstm');
