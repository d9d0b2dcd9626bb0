// ParaRNN's cells (Apple ml-pararnn, `pararnn/rnn_cell/{gru_diag_mh,lstm_cifg_diag_mh}.py`): every
// recurrent matrix is diagonal, so a unit's next state depends only on its own previous state and the
// Jacobian ∂s_t/∂s_{t−1} is diagonal (ParaGRU, state h) or 2×2 block-diagonal (ParaLSTM, state [c, h]).
// That is what makes Newton's linearized system cheap to solve in parallel.
//
// Each cell is written twice — WGSL and float64 — as `step` (s_{t−1} → s_t) and `vjp` (a gradient of
// s_t → gradients of the input pre-activations x, of the per-unit parameters p and of s_{t−1}). The
// Jacobian is read off the vjp with unit vectors (row i of J is vjp(e_i).ds), so each cell's calculus
// is written exactly once per language.

import { sigmoid } from '../rnn/activations.js';

export type DiagCellKind = 'paragru' | 'paralstm';

export interface DiagGrad {
  dx: number[];
  dp: number[];
  ds: number[];
}

export interface DiagCell {
  kind: DiagCellKind;
  /** Blocks of the input pre-activation x [B, T, NI·hidden] (the input projection B x + b). */
  pre: readonly string[];
  /** Rows of the per-unit parameter tensor [NP, hidden]. */
  params: readonly string[];
  /** State components per unit; `states[output]` is h. */
  states: readonly string[];
  output: number;
  /** WGSL `cellStep(x, p, s) -> array<f32, S>` and `cellVjp(x, p, sp, lam) -> DiagGrad`. */
  wgsl: string;
  step(x: number[], p: number[], s: number[]): number[];
  vjp(x: number[], p: number[], sp: number[], lam: number[]): DiagGrad;
}

// z = σ(a_z h + x_z), r = σ(a_r h + x_r), q = tanh(a_h (h r) + x_h), h_t = z q + (1 − z) h.
const PARAGRU: DiagCell = {
  kind: 'paragru',
  pre: ['z', 'r', 'h'],
  params: ['a_z', 'a_r', 'a_h'],
  states: ['h'],
  output: 0,
  wgsl: `
fn cellStep(x: array<f32, 3>, p: array<f32, 3>, s: array<f32, 1>) -> array<f32, 1> {
  let h = s[0];
  let z = sigmoid_(p[0] * h + x[0]);
  let r = sigmoid_(p[1] * h + x[1]);
  let q = tanh_(p[2] * h * r + x[2]);
  return array<f32, 1>(z * q + (1.0 - z) * h);
}
fn cellVjp(x: array<f32, 3>, p: array<f32, 3>, sp: array<f32, 1>, lam: array<f32, 1>) -> DiagGrad {
  let h = sp[0];
  let z = sigmoid_(p[0] * h + x[0]);
  let r = sigmoid_(p[1] * h + x[1]);
  let q = tanh_(p[2] * h * r + x[2]);
  let dq = lam[0] * z * (1.0 - q * q);
  let dz = lam[0] * (q - h) * z * (1.0 - z);
  let dr = dq * p[2] * h * r * (1.0 - r);
  var g: DiagGrad;
  g.dx = array<f32, 3>(dz, dr, dq);
  g.dp = array<f32, 3>(dz * h, dr * h, dq * h * r);
  g.ds[0] = lam[0] * (1.0 - z) + dz * p[0] + dr * p[1] + dq * p[2] * r;
  return g;
}`,
  step([xz, xr, xh], [az, ar, ah], [h]) {
    const z = sigmoid(az * h + xz);
    const r = sigmoid(ar * h + xr);
    const q = Math.tanh(ah * h * r + xh);
    return [z * q + (1 - z) * h];
  },
  vjp([xz, xr, xh], [az, ar, ah], [h], [lam]) {
    const z = sigmoid(az * h + xz);
    const r = sigmoid(ar * h + xr);
    const q = Math.tanh(ah * h * r + xh);
    const dq = lam * z * (1 - q * q);
    const dz = lam * (q - h) * z * (1 - z);
    const dr = dq * ah * h * r * (1 - r);
    return {
      dx: [dz, dr, dq],
      dp: [dz * h, dr * h, dq * h * r],
      ds: [lam * (1 - z) + dz * az + dr * ar + dq * ah * r],
    };
  },
};

// CIFG LSTM with peepholes: f = σ(a_f h + x_f + c_f c), ĉ = tanh(a_c h + x_c), c_t = f c + (1 − f) ĉ,
// o = σ(a_o h + x_o + c_o c_t), h_t = o tanh(c_t). State [c, h].
const PARALSTM: DiagCell = {
  kind: 'paralstm',
  pre: ['f', 'o', 'c'],
  params: ['a_f', 'a_o', 'a_c', 'c_f', 'c_o'],
  states: ['c', 'h'],
  output: 1,
  wgsl: `
fn cellStep(x: array<f32, 3>, p: array<f32, 5>, s: array<f32, 2>) -> array<f32, 2> {
  let f = sigmoid_(p[0] * s[1] + x[0] + p[3] * s[0]);
  let cc = tanh_(p[2] * s[1] + x[2]);
  let c = f * s[0] + (1.0 - f) * cc;
  let o = sigmoid_(p[1] * s[1] + x[1] + p[4] * c);
  return array<f32, 2>(c, o * tanh_(c));
}
fn cellVjp(x: array<f32, 3>, p: array<f32, 5>, sp: array<f32, 2>, lam: array<f32, 2>) -> DiagGrad {
  let f = sigmoid_(p[0] * sp[1] + x[0] + p[3] * sp[0]);
  let cc = tanh_(p[2] * sp[1] + x[2]);
  let c = f * sp[0] + (1.0 - f) * cc;
  let o = sigmoid_(p[1] * sp[1] + x[1] + p[4] * c);
  let tc = tanh_(c);
  let dOut = lam[1] * tc * o * (1.0 - o);
  let dc = lam[0] + lam[1] * o * (1.0 - tc * tc) + dOut * p[4];
  let dF = dc * (sp[0] - cc) * f * (1.0 - f);
  let dC = dc * (1.0 - f) * (1.0 - cc * cc);
  var g: DiagGrad;
  g.dx = array<f32, 3>(dF, dOut, dC);
  g.dp = array<f32, 5>(dF * sp[1], dOut * sp[1], dC * sp[1], dF * sp[0], dOut * c);
  g.ds = array<f32, 2>(dc * f + dF * p[3], dF * p[0] + dOut * p[1] + dC * p[2]);
  return g;
}`,
  step([xf, xo, xc], [af, ao, ac, cf, co], [cPrev, h]) {
    const f = sigmoid(af * h + xf + cf * cPrev);
    const cc = Math.tanh(ac * h + xc);
    const c = f * cPrev + (1 - f) * cc;
    const o = sigmoid(ao * h + xo + co * c);
    return [c, o * Math.tanh(c)];
  },
  vjp([xf, xo, xc], [af, ao, ac, cf, co], [cPrev, h], [lamC, lamH]) {
    const f = sigmoid(af * h + xf + cf * cPrev);
    const cc = Math.tanh(ac * h + xc);
    const c = f * cPrev + (1 - f) * cc;
    const o = sigmoid(ao * h + xo + co * c);
    const tc = Math.tanh(c);
    const dOut = lamH * tc * o * (1 - o);
    const dc = lamC + lamH * o * (1 - tc * tc) + dOut * co;
    const dF = dc * (cPrev - cc) * f * (1 - f);
    const dC = dc * (1 - f) * (1 - cc * cc);
    return {
      dx: [dF, dOut, dC],
      dp: [dF * h, dOut * h, dC * h, dF * cPrev, dOut * c],
      ds: [dc * f + dF * cf, dF * af + dOut * ao + dC * ac],
    };
  },
};

export const DIAG_CELLS: Record<DiagCellKind, DiagCell> = { paragru: PARAGRU, paralstm: PARALSTM };

/** J[i][k] = ∂s_t[i] / ∂s_{t−1}[k], row i read off the vjp of the unit vector e_i. */
export function jacobianRef(cell: DiagCell, x: number[], p: number[], sp: number[]): number[][] {
  const S = cell.states.length;
  return Array.from(
    { length: S },
    (_, i) =>
      cell.vjp(
        x,
        p,
        sp,
        Array.from({ length: S }, (_, k) => (k === i ? 1 : 0)),
      ).ds,
  );
}

/** WGSL of the same: `cellJacobian(x, p, sp) -> array<f32, S·S>`, row-major. */
export function jacobianWgsl(cell: DiagCell): string {
  const S = cell.states.length;
  const rows = Array.from({ length: S }, (_, i) => {
    const unit = Array.from({ length: S }, (_, k) => (k === i ? '1.0' : '0.0')).join(', ');
    return `  let row${i} = cellVjp(x, p, sp, array<f32, ${S}>(${unit})).ds;`;
  }).join('\n');
  const entries = Array.from({ length: S * S }, (_, q) => `row${Math.floor(q / S)}[${q % S}]`).join(', ');
  return `
fn cellJacobian(x: array<f32, ${cell.pre.length}>, p: array<f32, ${cell.params.length}>, sp: array<f32, ${S}>) -> array<f32, ${S * S}> {
${rows}
  return array<f32, ${S * S}>(${entries});
}`;
}
