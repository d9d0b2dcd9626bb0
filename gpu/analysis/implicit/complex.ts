// Implicit attention of the time-invariant complex-diagonal families (class A without data-dependent
// gates): LRU and S4D. Both are linear in their input up to a token-wise output path, so the matrices are
// exact for every input (no gates to fix).
//   S4D (ZOH, per channel h, modes n):  A_h[t, s] = Σ_n 2 Re(C′_{h,n} λ_{h,n}^(t−s)) + D_h δ_ts  on u = x_h,
//     then GELU and the GLU output (s4d.ref.ts). One real T×T matrix per channel.
//   LRU (per complex mode n):  h_n[t] = Σ_s λ_n^(t−s) u_n[s],  u_n = γ_n (B_re + i B_im)_n · x.
//     The weight λ^(t−s) is complex, so each token gives two columns with real weights,
//     A_n[t, (s, 0)] = Re λ_n^(t−s) on the value u_n[s] and A_n[t, (s, 1)] = Im λ_n^(t−s) on i·u_n[s]
//     (values as (re, im) pairs): their sum is λ^(t−s) u exactly. The output path is y = Re(C h) + D ⊙ x.
// Powers of λ are taken by repeated multiplication (|λ| < 1): no exponentiation of positive sums.

import type { MixerOptions } from '../../nn/mixer.js';
import { gelu, matvec, param, sigmoid, type RefParams } from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { columnsOf, keySpaceMatrix, rowOf, type ImplicitLayer } from './core.js';

/** vec ← λ · vec for a complex number stored as [re, im] at (2n, 2n + 1). */
function rotate(vec: Float64Array, n: number, re: number, im: number): void {
  const [a, b] = [vec[2 * n], vec[2 * n + 1]];
  vec[2 * n] = re * a - im * b;
  vec[2 * n + 1] = re * b + im * a;
}

function s4d(p: RefParams, _o: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const P = (name: string) => param(p, name).data;
  const modes = param(p, 'kernel.A_imag').shape[1];
  // λ = exp(dt·A) and C′ = C (λ − 1)/A per (channel, mode), as in s4d.ref.ts.
  const lambda: [number, number][] = [];
  const readout: [number, number][] = [];
  for (let h = 0; h < d; h++) {
    const dt = Math.exp(P('kernel.log_dt')[h]);
    for (let n = 0; n < modes; n++) {
      const i = h * modes + n;
      const [aRe, aIm] = [-Math.exp(P('kernel.log_A_real')[i]), P('kernel.A_imag')[i]];
      const [lRe, lIm] = [Math.exp(dt * aRe) * Math.cos(dt * aIm), Math.exp(dt * aRe) * Math.sin(dt * aIm)];
      const modulus = aRe * aRe + aIm * aIm;
      const [qRe, qIm] = [((lRe - 1) * aRe + lIm * aIm) / modulus, (lIm * aRe - (lRe - 1) * aIm) / modulus];
      const [cRe, cIm] = [P('kernel.C')[2 * i], P('kernel.C')[2 * i + 1]];
      lambda.push([lRe, lIm]);
      readout.push([cRe * qRe - cIm * qIm, cRe * qIm + cIm * qRe]);
    }
  }
  const logDecay = new Float64Array(T * d);
  for (let h = 0; h < d; h++) {
    let acc = 0;
    for (let n = 0; n < modes; n++) acc += Math.log(Math.hypot(...lambda[h * modes + n]));
    for (let t = 0; t < T; t++) logDecay[t * d + h] = acc / modes;
  }
  return {
    kind: 's4d',
    method: 'exact',
    unit: 'channel',
    count: d,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix: (h) =>
      keySpaceMatrix(
        {
          K: 2 * modes,
          // Every mode starts from the real input (1 + 0i); the query reads 2 Re(C′ · state).
          write: () => Array.from({ length: 2 * modes }, (_, j) => (j % 2 === 0 ? 1 : 0)),
          query: () =>
            Array.from({ length: 2 * modes }, (_, j) => {
              const [cRe, cIm] = readout[h * modes + (j >> 1)];
              return j % 2 === 0 ? 2 * cRe : -2 * cIm;
            }),
          apply: (_s, vec) => {
            for (let n = 0; n < modes; n++) rotate(vec, n, ...lambda[h * modes + n]);
          },
          skip: P('D')[h],
        },
        T,
        T,
        (t) => t,
      ),
    valueWidth: 1,
    values: (h) => columnsOf(x, T, d, h, 1),
    post: (_t, outs) => {
      const z = matvec(
        param(p, 'output_linear.0.weight'),
        outs.map((o) => gelu(o[0])),
        param(p, 'output_linear.0.bias'),
      );
      return Array.from({ length: d }, (_, h) => z[h] * sigmoid(z[d + h]));
    },
    logDecay,
    description:
      'per channel h on u = x_h: Σ_n 2 Re(C′_{h,n} λ_{h,n}^(t−s)) + D_h (ZOH S4D kernel, time-invariant); then GELU and the GLU output',
  };
}

function lru(p: RefParams, _o: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const P = (name: string) => param(p, name).data;
  const N = P('nu_log').length;
  const lambda = Array.from({ length: N }, (_, n): [number, number] => {
    const modulus = Math.exp(-Math.exp(P('nu_log')[n]));
    const phase = Math.exp(P('theta_log')[n]);
    return [modulus * Math.cos(phase), modulus * Math.sin(phase)];
  });
  // u_n[t] = γ_n (B_re + i B_im)[n] · x_t as (re, im).
  const u = new Float64Array(T * N * 2);
  for (let t = 0; t < T; t++) {
    const xt = rowOf(x, t, d);
    for (let n = 0; n < N; n++) {
      const gamma = Math.exp(P('gamma_log')[n]);
      let [re, im] = [0, 0];
      for (let k = 0; k < d; k++) {
        re += P('B_re')[n * d + k] * xt[k];
        im += P('B_im')[n * d + k] * xt[k];
      }
      u[(t * N + n) * 2] = gamma * re;
      u[(t * N + n) * 2 + 1] = gamma * im;
    }
  }
  const logDecay = new Float64Array(T * N);
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) logDecay[t * N + n] = Math.log(Math.hypot(...lambda[n]));
  return {
    kind: 'lru',
    method: 'exact',
    unit: 'channel',
    count: N,
    T,
    columns: 2 * T,
    columnToken: (s) => s >> 1,
    matrix: (n) =>
      keySpaceMatrix(
        {
          K: 2,
          // Column (s, 0) starts at 1, column (s, 1) at −i: the query's real part then reads
          // Re λ^(t−s) and Im λ^(t−s) respectively.
          write: (s) => (s % 2 === 0 ? [1, 0] : [0, -1]),
          query: () => [1, 0],
          apply: (s, vec) => {
            if (s % 2 === 0) rotate(vec, 0, ...lambda[n]); // a new token: one step of the recurrence
          },
        },
        T,
        2 * T,
        (t) => 2 * t + 1,
      ),
    valueWidth: 2,
    values: (n) =>
      Float64Array.from({ length: 2 * T * 2 }, (_, i) => {
        const [column, part] = [i >> 1, i % 2];
        const [t, imaginary] = [column >> 1, column % 2 === 1];
        const [re, im] = [u[(t * N + n) * 2], u[(t * N + n) * 2 + 1]];
        // (s, 0): u; (s, 1): i·u = (−im, re).
        if (!imaginary) return part === 0 ? re : im;
        return part === 0 ? -im : re;
      }),
    post: (t, outs) =>
      Array.from({ length: d }, (_, k) => {
        let acc = P('D')[k] * x[t * d + k];
        for (let n = 0; n < N; n++) acc += P('C_re')[k * N + n] * outs[n][0] - P('C_im')[k * N + n] * outs[n][1];
        return acc;
      }),
    logDecay,
    description:
      'per complex mode n: λ_n^(t−s) on u_n = γ_n B_n x as two real columns per token (Re λ^(t−s) on u, Im λ^(t−s) on i·u); ' +
      'then Re(C h) + D ⊙ x',
  };
}

export const COMPLEX_BUILDERS = { s4d, lru };
