// float64 references of minGRU and minLSTM: the linear-space recurrence of the paper, token by token.

import { cpuTensor, type CpuTensor } from '../../../cpu/tensor.js';
import {
  matvec,
  param,
  row,
  setRow,
  sigmoid,
  stackRows,
  stateRow,
  type RefParams,
  type RefState,
} from './ref-utils.js';

const g = (x: number) => (x >= 0 ? x + 0.5 : sigmoid(x));

export interface MinRnnRefOptions {
  kind: 'mingru' | 'minlstm';
  expansion: number;
}

export function minRnnRef(
  params: RefParams,
  o: MinRnnRefOptions,
  x: CpuTensor,
  state?: RefState,
): { y: CpuTensor; state: RefState } {
  const [B, T, d] = x.shape;
  const dInner = d * o.expansion;
  const W = param(params, o.kind === 'mingru' ? 'to_hidden_and_gate.weight' : 'to_hidden_and_f_i_gate.weight');
  const y = cpuTensor([B, T, d]);
  const finals: number[][] = [];
  for (let b = 0; b < B; b++) {
    let h = state ? stateRow(state.h, b) : new Array<number>(dInner).fill(0);
    for (let t = 0; t < T; t++) {
      const proj = matvec(W, row(x, b, t));
      h = h.map((previous, c) => {
        const hidden = g(proj[c]);
        if (o.kind === 'mingru') {
          const z = sigmoid(proj[dInner + c]);
          return (1 - z) * previous + z * hidden;
        }
        const f = sigmoid(proj[dInner + c]);
        const i = sigmoid(proj[2 * dInner + c]);
        return (f / (f + i)) * previous + (i / (f + i)) * hidden;
      });
      setRow(y, b, t, o.expansion !== 1 ? matvec(param(params, 'to_out.weight'), h) : h);
    }
    finals.push(h);
  }
  return { y, state: { h: stackRows(finals, [dInner]) } };
}
