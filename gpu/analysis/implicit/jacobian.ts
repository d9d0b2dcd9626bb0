// Nonlinear RNNs (LSTM, GRU, Elman, sLSTM, and ParaRNN's ParaGRU / ParaLSTM) have no implicit attention matrix: their output is not a
// linear map of any value stream. What they have is the input-output Jacobian of the sequence,
// J[t, s] = ∂y_t/∂x_s (a d×d block, zero for s > t). The attribution shown for them is its Frobenius
// norm, A[t, s] = ‖J[t, s]‖_F: how strongly output token t responds to input token s at this input (a
// local sensitivity, not a decomposition of y — nothing sums back to the output). J is computed in
// float64 by central differences of the layer's float64 reference (fused-rnn.ref.ts): perturbing x_s
// only changes the recurrence from token s on, so each perturbation restarts from the stored state
// before s. Cost O(d · T² · cell) — the analysis caps T for these families.

import { cpuTensor } from '../../cpu/tensor.js';
import type { MixerOptions } from '../../nn/mixer.js';
import { param, type RefParams } from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { FUSED_CELLS, type FusedCell } from '../../ops/rnn/cells.js';
import { fusedRnnRef } from '../../ops/rnn/fused-rnn.ref.js';
import { DIAG_CELLS, type DiagCell, type DiagCellKind } from '../../ops/newton/diag-cells.js';
import { diagRnnRef } from '../../ops/newton/diag-rnn.ref.js';
import type { ImplicitLayer } from './core.js';

const EPS = 1e-5;

/** The full Jacobian of a fused-RNN mixer at input x [T, d]: J[((t·d + i)·T + s)·d + j] = ∂y_t[i]/∂x_s[j]. */
export function rnnJacobian(kind: string, p: RefParams, d: number, x: Float64Array, T: number): Float64Array {
  const cell = FUSED_CELLS[kind as keyof typeof FUSED_CELLS] as FusedCell | undefined;
  if (!cell) throw new Error(`implicit attention: "${kind}" is not a fused RNN cell`);
  const Win = param(p, 'in_proj.weight');
  const Wout = param(p, 'out_proj.weight');
  const R = param(p, 'recurrent.weight');
  const bias = param(p, 'bias');
  const width = Win.shape[0];
  const hidden = Wout.shape[1];
  const S = cell.states.length;
  const project = (xs: Float64Array, tokens: number) => {
    const gx = cpuTensor([1, tokens, width]);
    for (let t = 0; t < tokens; t++)
      for (let o = 0; o < width; o++) {
        let acc = 0;
        for (let i = 0; i < d; i++) acc += Win.data[o * d + i] * xs[t * d + i];
        gx.data[t * width + o] = acc;
      }
    return gx;
  };
  const outputs = (h: Float64Array, tokens: number) => {
    const y = new Float64Array(tokens * d);
    for (let t = 0; t < tokens; t++)
      for (let i = 0; i < d; i++) {
        let acc = 0;
        for (let u = 0; u < hidden; u++) acc += Wout.data[i * hidden + u] * h[t * hidden + u];
        y[t * d + i] = acc;
      }
    return y;
  };
  const base = fusedRnnRef(cell, project(x, T), R, bias);
  /** The state before token s, [1, S, hidden]. */
  const stateBefore = (s: number) => {
    const st = cpuTensor([1, S, hidden]);
    if (s > 0)
      for (let u = 0; u < hidden; u++)
        for (let q = 0; q < S; q++) st.data[q * hidden + u] = base.states[s - 1][0][u][q];
    return st;
  };
  const J = new Float64Array(T * d * T * d);
  for (let s = 0; s < T; s++) {
    const tail = T - s;
    const s0 = stateBefore(s);
    const xs = x.slice(s * d);
    for (let j = 0; j < d; j++) {
      const run = (delta: number) => {
        const xp = xs.slice();
        xp[j] += delta;
        return outputs(fusedRnnRef(cell, project(xp, tail), R, bias, s0).y.data, tail);
      };
      const plus = run(EPS);
      const minus = run(-EPS);
      for (let t = s; t < T; t++)
        for (let i = 0; i < d; i++)
          J[((t * d + i) * T + s) * d + j] = (plus[(t - s) * d + i] - minus[(t - s) * d + i]) / (2 * EPS);
    }
  }
  return J;
}

type JacobianOf = (kind: string, p: RefParams, d: number, x: Float64Array, T: number) => Float64Array;

function rnnLayer(kind: string, jacobian: JacobianOf = rnnJacobian) {
  return (p: RefParams, _o: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer => {
    let J: Float64Array | null = null;
    return {
      kind,
      method: 'jacobian',
      unit: 'layer',
      count: 1,
      T,
      columns: T,
      columnToken: (s) => s,
      matrix() {
        J ??= jacobian(kind, p, d, x, T);
        const A = new Float64Array(T * T);
        for (let t = 0; t < T; t++)
          for (let s = 0; s <= t; s++) {
            let acc = 0;
            for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) acc += J[((t * d + i) * T + s) * d + j] ** 2;
            A[t * T + s] = Math.sqrt(acc);
          }
        return A;
      },
      description:
        'Jacobian-based (not a decomposition): ‖∂y_t/∂x_s‖_F, the Frobenius norm of the input-output Jacobian block, ' +
        'by central differences of the float64 reference' +
        (jacobian === paraJacobian ? ' (the sequential solution, which Newton mode converges to)' : ''),
    };
  };
}

/**
 * The full Jacobian of a ParaRNN mixer (ParaGRU, ParaLSTM) at input x [T, d], laid out as rnnJacobian's.
 * The model is the sequential solution (the fixed point Newton mode converges to), from diag-rnn.ref.ts;
 * each perturbation of x_s restarts from the stored state before s.
 */
export function paraJacobian(kind: string, p: RefParams, d: number, x: Float64Array, T: number): Float64Array {
  const cell = DIAG_CELLS[kind as DiagCellKind] as DiagCell | undefined;
  if (!cell) throw new Error(`implicit attention: "${kind}" is not a ParaRNN cell`);
  const Win = param(p, 'in_proj.weight');
  const bin = param(p, 'in_proj.bias');
  const Wout = param(p, 'out_proj.weight');
  const A = param(p, 'recurrent_diag');
  const width = Win.shape[0];
  const hidden = Wout.shape[1];
  const S = cell.states.length;
  const project = (xs: Float64Array, tokens: number) => {
    const pre = cpuTensor([1, tokens, width]);
    for (let t = 0; t < tokens; t++)
      for (let o = 0; o < width; o++) {
        let acc = bin.data[o];
        for (let i = 0; i < d; i++) acc += Win.data[o * d + i] * xs[t * d + i];
        pre.data[t * width + o] = acc;
      }
    return pre;
  };
  const outputs = (h: Float64Array, tokens: number) => {
    const y = new Float64Array(tokens * d);
    for (let t = 0; t < tokens; t++)
      for (let i = 0; i < d; i++) {
        let acc = 0;
        for (let u = 0; u < hidden; u++) acc += Wout.data[i * hidden + u] * h[t * hidden + u];
        y[t * d + i] = acc;
      }
    return y;
  };
  const base = diagRnnRef(cell, project(x, T), A);
  /** The state before token s, [1, S, hidden] (states are [1, T, S, hidden]). */
  const stateBefore = (s: number) => {
    const st = cpuTensor([1, S, hidden]);
    if (s > 0) st.data.set(base.states.data.subarray((s - 1) * S * hidden, s * S * hidden));
    return st;
  };
  const J = new Float64Array(T * d * T * d);
  for (let s = 0; s < T; s++) {
    const tail = T - s;
    const s0 = stateBefore(s);
    const xs = x.slice(s * d);
    for (let j = 0; j < d; j++) {
      const run = (delta: number) => {
        const xp = xs.slice();
        xp[j] += delta;
        return outputs(diagRnnRef(cell, project(xp, tail), A, s0).y.data, tail);
      };
      const plus = run(EPS);
      const minus = run(-EPS);
      for (let t = s; t < T; t++)
        for (let i = 0; i < d; i++)
          J[((t * d + i) * T + s) * d + j] = (plus[(t - s) * d + i] - minus[(t - s) * d + i]) / (2 * EPS);
    }
  }
  return J;
}

export const JACOBIAN_BUILDERS = {
  lstm: rnnLayer('lstm'),
  gru: rnnLayer('gru'),
  elman: rnnLayer('elman'),
  slstm: rnnLayer('slstm'),
  paragru: rnnLayer('paragru', paraJacobian),
  paralstm: rnnLayer('paralstm', paraJacobian),
};
