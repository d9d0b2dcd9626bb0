// Implicit attention where it is explicit: softmax attention's own probabilities per query head (RoPE,
// grouped KV heads, sliding window, the Forgetting Transformer's F_t − F_s bias — as attention.ref.ts),
// and a short causal convolution's Toeplitz matrix per channel (A_c[t, s] = w_c[K − 1 − (t − s)]).

import { rotaryRef } from '../../ops/rotary.ref.js';
import { cpuTensor } from '../../cpu/tensor.js';
import { mixerFactory, resolveOptions, type MixerOptions } from '../../nn/mixer.js';
import { attentionConfig } from '../../nn/mixers/attention/attention.js';
import { matvec, param, sigmoid, type RefParams } from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { columnsOf, rowOf, stack, type ImplicitLayer } from './core.js';

function attention(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const c = attentionConfig(d, given);
  const { heads: H, kvHeads: G, headDim: D } = c;
  const W = (name: string) => param(p, name);
  const bias = (name: string) => (c.qkvBias ? W(`${name}.bias`) : undefined);
  const rows = Array.from({ length: T }, (_, t) => rowOf(x, t, d));
  const project = (name: string) => rows.map((r) => matvec(W(`${name}.weight`), r, bias(name)));
  const rope = (values: number[][], heads: number) => {
    const t = cpuTensor([1, T, heads, D], values.flat());
    return c.ropeTheta > 0 ? rotaryRef(t, { offset: [0], base: c.ropeTheta }).data : t.data;
  };
  const q = rope(project('q_proj'), H);
  const k = rope(project('k_proj'), G);
  const v = stack(project('v_proj'));
  // F_t = Σ_{r ≤ t} log σ(w_f·x_r + b_f) per head.
  const F = new Float64Array(T * H);
  if (c.forgetGate) {
    const acc = new Float64Array(H);
    rows.forEach((r, t) => {
      matvec(W('fgate_proj.weight'), r, W('fgate_proj.bias')).forEach((z, h) => {
        acc[h] += Math.log(sigmoid(z));
        F[t * H + h] = acc[h];
      });
    });
  }
  const group = H / G;
  return {
    kind: 'attention',
    method: 'exact',
    unit: 'head',
    count: H,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix(h) {
      const g = Math.floor(h / group);
      const A = new Float64Array(T * T);
      for (let t = 0; t < T; t++) {
        const first = c.window > 0 ? Math.max(0, t - c.window + 1) : 0;
        let max = -Infinity;
        for (let s = first; s <= t; s++) {
          let score = 0;
          for (let i = 0; i < D; i++) score += q[(t * H + h) * D + i] * k[(s * G + g) * D + i];
          score = score / Math.sqrt(D) + F[t * H + h] - F[s * H + h];
          A[t * T + s] = score;
          max = Math.max(max, score);
        }
        let sum = 0;
        for (let s = first; s <= t; s++) sum += A[t * T + s] = Math.exp(A[t * T + s] - max);
        for (let s = first; s <= t; s++) A[t * T + s] /= sum;
      }
      return A;
    },
    valueWidth: D,
    values: (h) => columnsOf(v, T, G * D, Math.floor(h / group) * D, D),
    post: (_t, outs) =>
      matvec(
        W('o_proj.weight'),
        outs.flatMap((o) => Array.from(o)),
      ),
    description:
      'per query head: softmax(q_t·k_s/√D' +
      (c.forgetGate ? ' + F_t − F_s' : '') +
      ')' +
      (c.ropeTheta > 0 ? ' with RoPE' : '') +
      (c.window > 0 ? `, window ${c.window}` : '') +
      ' over v of its KV group; then W_o',
  };
}

function shortconv(p: RefParams, given: MixerOptions, d: number, x: Float64Array, T: number): ImplicitLayer {
  const o = resolveOptions(mixerFactory('shortconv'), given);
  const weight = param(p, 'conv.weight');
  const K = weight.shape[1];
  const convBias = o.bias ? param(p, 'conv.bias') : null;
  return {
    kind: 'shortconv',
    method: 'exact',
    unit: 'channel',
    count: d,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix(ch) {
      const A = new Float64Array(T * T);
      for (let t = 0; t < T; t++)
        for (let lag = 0; lag < K && lag <= t; lag++) A[t * T + t - lag] = weight.data[ch * K + K - 1 - lag];
      return A;
    },
    valueWidth: 1,
    values: (ch) => columnsOf(x, T, d, ch, 1),
    post: (_t, outs) => outs.map((z, ch) => z[0] + (convBias ? convBias.data[ch] : 0)),
    description: `per channel: the causal conv's Toeplitz matrix (${K} taps)${convBias ? ', plus its bias' : ''}`,
  };
}

export const SOFTMAX_BUILDERS = { attention, shortconv };
