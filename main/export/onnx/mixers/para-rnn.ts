// ParaGRU and ParaLSTM in ONNX (the cells of gpu/ops/newton/diag-cells.ts): per token, the input
// projection's three pre-activation blocks (with bias), the cell with the per-unit diagonal recurrent
// weights recurrent_diag [rows, hidden], and the output projection of h; the parallel graph scans that
// step over time. StateLab's Newton solver (option mode, newton_*) converges to these same states, so the
// export is the sequential recurrence whatever the mode. State: h [B, hidden] (ParaGRU) or c_h
// [B, 2, hidden] (ParaLSTM, rows c then h), as in StateLab.

import type { OnnxGraph } from '../builder.js';
import { num, scanParallel, type OnnxMixerFactory } from '../common.js';

interface Cell {
  /** Rows of recurrent_diag. */
  params: number;
  rows: string[];
  /** The state row that is the layer's output h. */
  output: number;
  /** Pre-activation blocks, recurrent_diag rows and state rows → the next state rows. */
  step(g: OnnxGraph, x: string[], a: string[], rows: string[]): string[];
}

const CELLS: Record<'paragru' | 'paralstm', Cell> = {
  // z = σ(a_z h + x_z), r = σ(a_r h + x_r), q = tanh(a_h h r + x_h), h ← z q + (1 − z) h.
  paragru: {
    params: 3,
    rows: ['h'],
    output: 0,
    step(g, [xz, xr, xh], [az, ar, ah], [h]) {
      const z = g.sigmoid(g.add(g.mul(az, h), xz));
      const r = g.sigmoid(g.add(g.mul(ar, h), xr));
      const q = g.tanh(g.add(g.mul(g.mul(ah, h), r), xh));
      return [g.add(g.mul(z, q), g.mul(g.sub(g.floats(1), z), h))];
    },
  },
  // f = σ(a_f h + x_f + c_f c), c ← f c + (1 − f) tanh(a_c h + x_c), o = σ(a_o h + x_o + c_o c), h ← o tanh(c).
  paralstm: {
    params: 5,
    rows: ['c', 'h'],
    output: 1,
    step(g, [xf, xo, xc], [af, ao, ac, cf, co], [c, h]) {
      const f = g.sigmoid(g.add(g.add(g.mul(af, h), xf), g.mul(cf, c)));
      const candidate = g.tanh(g.add(g.mul(ac, h), xc));
      const cNew = g.add(g.mul(f, c), g.mul(g.sub(g.floats(1), f), candidate));
      const o = g.sigmoid(g.add(g.add(g.mul(ao, h), xo), g.mul(co, cNew)));
      return [cNew, g.mul(o, g.tanh(cNew))];
    },
  },
};

function paraRnn(kind: 'paragru' | 'paralstm'): OnnxMixerFactory {
  const cell = CELLS[kind];
  return (config, w) => {
    const hidden = num(config, 'hidden') || num(config, 'd_model');
    const key = cell.rows.join('_');
    const single = cell.rows.length === 1;
    const states = [{ name: key, dims: single ? [hidden] : [cell.rows.length, hidden] }];
    const step = (g: OnnxGraph, x: string, state: Record<string, string>) => {
      const pick = (t: string, index: number, axis: number) => g.gather(t, g.ints([index], true), axis);
      const rows = single ? [state[key]] : cell.rows.map((_, r) => pick(state[key], r, 1));
      const pre = g.reshape(g.linear(x, w('in_proj.weight'), w('in_proj.bias')), [0, 3, hidden]);
      const blocks = [0, 1, 2].map((b) => pick(pre, b, 1));
      const a = Array.from({ length: cell.params }, (_, p) => pick(w('recurrent_diag'), p, 0));
      const next = cell.step(g, blocks, a, rows);
      const packed = single
        ? next[0]
        : g.concat(
            next.map((r) => g.unsqueeze(r, [1])),
            1,
          );
      return { y: g.linear(next[cell.output], w('out_proj.weight')), state: { [key]: packed } };
    };
    return { states, step, parallel: (g: OnnxGraph, x: string) => scanParallel(g, x, states, step) };
  };
}

export const paragru = paraRnn('paragru');
export const paralstm = paraRnn('paralstm');
