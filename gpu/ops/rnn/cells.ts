// The pointwise part of the four fused-kernel cells (LSTM, GRU, Elman, sLSTM), each written twice: as
// WGSL functions the kernel generator splices in, and as float64 functions the reference uses.
//
// A cell sees, per hidden unit, the raw gate pre-activations raw[g] = bias[g] + (W x)[g] + (R h)[g]
// (a gate may take only the input or only the recurrent part, see `inputGates`/`recurrentGates`) and
// its state vector s (s[0] is h, the output). `step` maps (raw, s_{t-1}) to s_t; `vjp` maps the total
// gradient of s_t back to the raw gates and to s_{t-1} (the direct path only; the path through R h is
// the kernel's transposed matrix-vector product). Gate orders follow FlashRNN (NX-AI/flashrnn vanilla).

import { logSigmoid, sigmoid } from './activations.js';

export type FusedCellKind = 'lstm' | 'gru' | 'elman' | 'slstm';

export interface CellGrad {
  draw: number[];
  dsPrev: number[];
}

export interface FusedCell {
  kind: FusedCellKind;
  /** Raw gates in the order of the bias tensor [gates, hidden]. */
  gates: readonly string[];
  /** For each block of the recurrent matrix R [blocks, H, D, D]: the raw gate it feeds. */
  recurrentGates: readonly number[];
  /** For each block of the input projection gx [B, T, blocks · hidden]: the raw gate it feeds. */
  inputGates: readonly number[];
  /** State components; states[0] = h is the output. */
  states: readonly string[];
  /** WGSL `cellStep(raw, s) -> array<f32, S>` and `cellVjp(raw, sp, sn, ds) -> CellGrad`. */
  wgsl: string;
  step(raw: number[], s: number[]): number[];
  vjp(raw: number[], sp: number[], sn: number[], ds: number[]): CellGrad;
}

const LSTM: FusedCell = {
  kind: 'lstm',
  gates: ['i', 'f', 'z', 'o'],
  recurrentGates: [0, 1, 2, 3],
  inputGates: [0, 1, 2, 3],
  states: ['h', 'c'],
  wgsl: `
fn cellStep(raw: array<f32, 4>, s: array<f32, 2>) -> array<f32, 2> {
  let c = sigmoid_(raw[1]) * s[1] + sigmoid_(raw[0]) * tanh_(raw[2]);
  return array<f32, 2>(sigmoid_(raw[3]) * tanh_(c), c);
}
fn cellVjp(raw: array<f32, 4>, sp: array<f32, 2>, sn: array<f32, 2>, ds: array<f32, 2>) -> CellGrad {
  let i = sigmoid_(raw[0]); let f = sigmoid_(raw[1]); let z = tanh_(raw[2]); let o = sigmoid_(raw[3]);
  let tc = tanh_(sn[1]);
  let dc = ds[1] + ds[0] * o * (1.0 - tc * tc);
  var g: CellGrad;
  g.draw[0] = dc * z * i * (1.0 - i);
  g.draw[1] = dc * sp[1] * f * (1.0 - f);
  g.draw[2] = dc * i * (1.0 - z * z);
  g.draw[3] = ds[0] * tc * o * (1.0 - o);
  g.dsPrev[0] = 0.0;
  g.dsPrev[1] = dc * f;
  return g;
}`,
  step([ri, rf, rz, ro], [, c]) {
    const cNew = sigmoid(rf) * c + sigmoid(ri) * Math.tanh(rz);
    return [sigmoid(ro) * Math.tanh(cNew), cNew];
  },
  vjp([ri, rf, rz, ro], [, cPrev], [, c], [dh, dcNext]) {
    const [i, f, z, o] = [sigmoid(ri), sigmoid(rf), Math.tanh(rz), sigmoid(ro)];
    const tc = Math.tanh(c);
    const dc = dcNext + dh * o * (1 - tc * tc);
    return {
      draw: [dc * z * i * (1 - i), dc * cPrev * f * (1 - f), dc * i * (1 - z * z), dh * tc * o * (1 - o)],
      dsPrev: [0, dc * f],
    };
  },
};

// FlashRNN's GRU: g = R_g h + b_g is recurrent only and sits inside the reset gate's product,
// n = W_n x + b_n is input only; r and z take both. h_t = z h_{t-1} + (1 − z) tanh(n + r g).
const GRU: FusedCell = {
  kind: 'gru',
  gates: ['g', 'r', 'z', 'n'],
  recurrentGates: [0, 1, 2],
  inputGates: [1, 2, 3],
  states: ['h'],
  wgsl: `
fn cellStep(raw: array<f32, 4>, s: array<f32, 1>) -> array<f32, 1> {
  let z = sigmoid_(raw[2]);
  let q = tanh_(raw[3] + sigmoid_(raw[1]) * raw[0]);
  return array<f32, 1>(z * s[0] + (1.0 - z) * q);
}
fn cellVjp(raw: array<f32, 4>, sp: array<f32, 1>, sn: array<f32, 1>, ds: array<f32, 1>) -> CellGrad {
  let r = sigmoid_(raw[1]); let z = sigmoid_(raw[2]);
  let q = tanh_(raw[3] + r * raw[0]);
  let dq = ds[0] * (1.0 - z) * (1.0 - q * q);
  var g: CellGrad;
  g.draw[0] = dq * r;
  g.draw[1] = dq * raw[0] * r * (1.0 - r);
  g.draw[2] = ds[0] * (sp[0] - q) * z * (1.0 - z);
  g.draw[3] = dq;
  g.dsPrev[0] = ds[0] * z;
  return g;
}`,
  step([rg, rr, rz, rn], [h]) {
    const z = sigmoid(rz);
    return [z * h + (1 - z) * Math.tanh(rn + sigmoid(rr) * rg)];
  },
  vjp([rg, rr, rz, rn], [hPrev], _sn, [dh]) {
    const [r, z] = [sigmoid(rr), sigmoid(rz)];
    const q = Math.tanh(rn + r * rg);
    const dq = dh * (1 - z) * (1 - q * q);
    return { draw: [dq * r, dq * rg * r * (1 - r), dh * (hPrev - q) * z * (1 - z), dq], dsPrev: [dh * z] };
  },
};

const ELMAN: FusedCell = {
  kind: 'elman',
  gates: ['a'],
  recurrentGates: [0],
  inputGates: [0],
  states: ['h'],
  wgsl: `
fn cellStep(raw: array<f32, 1>, s: array<f32, 1>) -> array<f32, 1> {
  return array<f32, 1>(tanh_(raw[0]));
}
fn cellVjp(raw: array<f32, 1>, sp: array<f32, 1>, sn: array<f32, 1>, ds: array<f32, 1>) -> CellGrad {
  var g: CellGrad;
  g.draw[0] = ds[0] * (1.0 - sn[0] * sn[0]);
  g.dsPrev[0] = 0.0;
  return g;
}`,
  step([ra]) {
    return [Math.tanh(ra)];
  },
  vjp(_raw, _sp, [h], [dh]) {
    return { draw: [dh * (1 - h * h)], dsPrev: [0] };
  },
};

// xLSTM's sLSTM (xlstm/blocks/slstm/src/vanilla/slstm.py): exponential input gate, sigmoid forget gate
// in log space, the stabilizer m and the normalizer n. c and n are both scaled by exp(−m), so h does
// not depend on m at all: the backward treats m as a constant and is still the exact gradient.
const SLSTM: FusedCell = {
  kind: 'slstm',
  gates: ['i', 'f', 'z', 'o'],
  recurrentGates: [0, 1, 2, 3],
  inputGates: [0, 1, 2, 3],
  states: ['h', 'c', 'n', 'm'],
  wgsl: `
fn cellStep(raw: array<f32, 4>, s: array<f32, 4>) -> array<f32, 4> {
  let lf = logsigmoid_(raw[1]);
  let m = max(raw[0], lf + s[3]);
  let ig = exp(raw[0] - m);
  let fg = exp(lf + s[3] - m);
  let c = fg * s[1] + ig * tanh_(raw[2]);
  let n = fg * s[2] + ig;
  return array<f32, 4>(sigmoid_(raw[3]) * c / n, c, n, m);
}
fn cellVjp(raw: array<f32, 4>, sp: array<f32, 4>, sn: array<f32, 4>, ds: array<f32, 4>) -> CellGrad {
  let ig = exp(raw[0] - sn[3]);
  let fg = exp(logsigmoid_(raw[1]) + sp[3] - sn[3]);
  let z = tanh_(raw[2]); let o = sigmoid_(raw[3]);
  let c = sn[1]; let n = sn[2];
  let dc = ds[1] + ds[0] * o / n;
  let dn = ds[2] - ds[0] * o * c / (n * n);
  var g: CellGrad;
  g.draw[0] = (dc * z + dn) * ig;
  g.draw[1] = (dc * sp[1] + dn * sp[2]) * fg * (1.0 - sigmoid_(raw[1]));
  g.draw[2] = dc * ig * (1.0 - z * z);
  g.draw[3] = ds[0] * (c / n) * o * (1.0 - o);
  g.dsPrev[0] = 0.0;
  g.dsPrev[1] = dc * fg;
  g.dsPrev[2] = dn * fg;
  g.dsPrev[3] = 0.0;
  return g;
}`,
  step([ri, rf, rz, ro], [, c, n, m]) {
    const lf = logSigmoid(rf);
    const mNew = Math.max(ri, lf + m);
    const ig = Math.exp(ri - mNew);
    const fg = Math.exp(lf + m - mNew);
    const cNew = fg * c + ig * Math.tanh(rz);
    const nNew = fg * n + ig;
    return [(sigmoid(ro) * cNew) / nNew, cNew, nNew, mNew];
  },
  vjp([ri, rf, rz, ro], [, cPrev, nPrev, mPrev], [, c, n, m], [dh, dcNext, dnNext]) {
    const ig = Math.exp(ri - m);
    const fg = Math.exp(logSigmoid(rf) + mPrev - m);
    const [z, o] = [Math.tanh(rz), sigmoid(ro)];
    const dc = dcNext + (dh * o) / n;
    const dn = dnNext - (dh * o * c) / (n * n);
    return {
      draw: [
        (dc * z + dn) * ig,
        (dc * cPrev + dn * nPrev) * fg * (1 - sigmoid(rf)),
        dc * ig * (1 - z * z),
        dh * (c / n) * o * (1 - o),
      ],
      dsPrev: [0, dc * fg, dn * fg, 0],
    };
  },
};

export const FUSED_CELLS: Record<FusedCellKind, FusedCell> = { lstm: LSTM, gru: GRU, elman: ELMAN, slstm: SLSTM };
