// Implicit attention of the class-A families (a diagonal state per channel): one T×T matrix per channel.
// The gates are computed exactly as the float64 references of gpu/nn/mixers/linear-diagonal compute
// them; the value stream is what the recurrence writes (after the projections, short conv and activation).
//   Mamba (S6, Ali et al. / Zimerman et al.):  A_c[t, s] = Σ_n C_t[n] (∏_{r=s+1..t} exp(Δ_r,c A_c,n)) Δ_s,c B_s[n] + D_c δ_ts
//   minGRU / minLSTM / HGRN / Hawk (RG-LRU):   A_c[t, s] = (∏_{r=s+1..t} a_r,c) · b_s,c
// The short conv's own 4-token mixing is not folded into the matrix (its output is the value stream).

import type { CpuTensor } from '../../cpu/tensor.js';
import { mixerFactory, resolveOptions, type MixerOptions } from '../../nn/mixer.js';
import {
  convStep,
  geluTanh,
  matvec,
  param,
  rmsNormVec,
  sigmoid,
  silu,
  softplus,
  type RefParams,
} from '../../nn/mixers/linear-diagonal/ref-utils.js';
import { columnsOf, keySpaceMatrix, rowOf, stack, type ImplicitLayer } from './core.js';

/** Runs a causal depthwise conv over a whole [T, C] sequence from a zero history. */
export function convSequence(inputs: number[][], weight: CpuTensor, bias?: CpuTensor): number[][] {
  const taps = weight.shape[1];
  const C = inputs[0]?.length ?? 0;
  let history = Array.from({ length: taps - 1 }, () => new Array<number>(C).fill(0));
  return inputs.map((x) => {
    const out = convStep(history, x, weight, bias);
    history = [...history.slice(1), x];
    return out;
  });
}

/** A layer whose channel c mixes a scalar value stream by A_c[t, s] = (∏ a_r,c) b_s,c (+ skip). */
function scalarChannels(o: {
  kind: string;
  T: number;
  channels: number;
  /** Per token [T, C]: transition a, write scale b, value v. */
  a: Float64Array;
  b: Float64Array;
  v: Float64Array;
  post(t: number, h: Float64Array): number[];
  description: string;
}): ImplicitLayer {
  const { T, channels: C } = o;
  return {
    kind: o.kind,
    method: 'exact',
    unit: 'channel',
    count: C,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix: (c) =>
      keySpaceMatrix(
        {
          K: 1,
          write: (s) => [o.b[s * C + c]],
          query: () => [1],
          apply: (s, vec) => {
            vec[0] *= o.a[s * C + c];
          },
        },
        T,
        T,
        (t) => t,
      ),
    valueWidth: 1,
    values: (c) => columnsOf(o.v, T, C, c, 1),
    post: (t, outs) =>
      o.post(
        t,
        Float64Array.from(outs, (x) => x[0]),
      ),
    logDecay: o.a.map((x) => Math.log(Math.abs(x))),
    description: o.description,
  };
}

const P = (p: RefParams) => (name: string) => param(p, name);

function mamba(p: RefParams, given: MixerOptions, dModel: number, x: Float64Array, T: number): ImplicitLayer {
  const o = resolveOptions(mixerFactory('mamba'), given);
  const W = P(p);
  const [dInner, N] = W('A_log').shape;
  const rank = W('dt_proj.weight').shape[1];
  const negative = o.negative_eigenvalues as boolean;
  const xz = Array.from({ length: T }, (_, t) => matvec(W('in_proj.weight'), rowOf(x, t, dModel)));
  const u = convSequence(
    xz.map((r) => r.slice(0, dInner)),
    W('conv1d.weight'),
    W('conv1d.bias'),
  ).map((r) => r.map(silu));
  const z = xz.map((r) => r.slice(dInner));
  const xdbl = u.map((r) => matvec(W('x_proj.weight'), r));
  const Bm = xdbl.map((r) => r.slice(rank, rank + N));
  const Cm = xdbl.map((r) => r.slice(rank + N));
  const dt = xdbl.map((r) => matvec(W('dt_proj.weight'), r.slice(0, rank), W('dt_proj.bias')).map(softplus));
  const decay = (t: number, c: number, n: number) => {
    const e = Math.exp(dt[t][c] * -Math.exp(W('A_log').data[c * N + n]));
    return negative ? 2 * e - 1 : e;
  };
  const logDecay = new Float64Array(T * dInner);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < dInner; c++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += Math.log(Math.abs(decay(t, c, n)));
      logDecay[t * dInner + c] = acc / N;
    }
  const uFlat = stack(u);
  return {
    kind: 'mamba',
    method: 'exact',
    unit: 'channel',
    count: dInner,
    T,
    columns: T,
    columnToken: (s) => s,
    matrix: (c) =>
      keySpaceMatrix(
        {
          K: N,
          write: (s) => Bm[s].map((b) => dt[s][c] * b),
          query: (t) => Cm[t],
          apply: (s, vec) => {
            for (let n = 0; n < N; n++) vec[n] *= decay(s, c, n);
          },
          skip: W('D').data[c],
        },
        T,
        T,
        (t) => t,
      ),
    valueWidth: 1,
    values: (c) => columnsOf(uFlat, T, dInner, c, 1),
    post: (t, outs) =>
      matvec(
        W('out_proj.weight'),
        outs.map((o, c) => o[0] * silu(z[t][c])),
      ),
    logDecay,
    description:
      'per channel c of d_inner: u = silu(conv(in_proj x)) → Σ_n C_t[n] ∏ exp(Δ A[c,n]) Δ_s B_s[n] + D_c (S6 with skip); ' +
      'then ⊙ silu(z) and out_proj',
  };
}

function minRnn(kind: 'mingru' | 'minlstm') {
  return (p: RefParams, given: MixerOptions, dModel: number, x: Float64Array, T: number): ImplicitLayer => {
    const o = resolveOptions(mixerFactory(kind), given);
    const dInner = dModel * (o.expansion as number);
    const W = param(p, kind === 'mingru' ? 'to_hidden_and_gate.weight' : 'to_hidden_and_f_i_gate.weight');
    const g = (v: number) => (v >= 0 ? v + 0.5 : sigmoid(v));
    const a = new Float64Array(T * dInner);
    const b = new Float64Array(T * dInner);
    const v = new Float64Array(T * dInner);
    for (let t = 0; t < T; t++) {
      const proj = matvec(W, rowOf(x, t, dModel));
      for (let c = 0; c < dInner; c++) {
        v[t * dInner + c] = g(proj[c]);
        if (kind === 'mingru') {
          const zc = sigmoid(proj[dInner + c]);
          a[t * dInner + c] = 1 - zc;
          b[t * dInner + c] = zc;
        } else {
          const f = sigmoid(proj[dInner + c]);
          const i = sigmoid(proj[2 * dInner + c]);
          a[t * dInner + c] = f / (f + i);
          b[t * dInner + c] = i / (f + i);
        }
      }
    }
    const projOut = (o.expansion as number) !== 1;
    return scalarChannels({
      kind,
      T,
      channels: dInner,
      a,
      b,
      v,
      post: (_t, h) => (projOut ? matvec(param(p, 'to_out.weight'), Array.from(h)) : Array.from(h)),
      description:
        kind === 'mingru'
          ? 'per channel: h̃ = g(W_h x) written with z = σ(W_z x), kept with 1 − z'
          : 'per channel: h̃ = g(W_h x) written with i/(f+i), kept with f/(f+i)',
    });
  };
}

function hgrn(p: RefParams, given: MixerOptions, dModel: number, x: Float64Array, T: number): ImplicitLayer {
  const o = resolveOptions(mixerFactory('hgrn'), given);
  const W = P(p);
  const dInner = dModel * (o.expand_ratio as number);
  const lb = o.lower_bound as number;
  const a = new Float64Array(T * dInner);
  const b = new Float64Array(T * dInner);
  const v = new Float64Array(T * dInner);
  const gates: number[][] = [];
  for (let t = 0; t < T; t++) {
    const xt = rowOf(x, t, dModel);
    const f = matvec(W('f_proj.weight'), xt);
    const i = matvec(W('i_proj.weight'), xt);
    gates.push(matvec(W('g_proj.weight'), xt));
    for (let c = 0; c < dInner; c++) {
      const lambda = lb + (1 - lb) * sigmoid(f[c]);
      a[t * dInner + c] = lambda;
      b[t * dInner + c] = 1 - lambda;
      v[t * dInner + c] = silu(i[c]);
    }
  }
  return scalarChannels({
    kind: 'hgrn',
    T,
    channels: dInner,
    a,
    b,
    v,
    post: (t, h) =>
      matvec(
        W('o_proj.weight'),
        rmsNormVec(Array.from(h), W('g_norm.weight'), o.norm_eps as number).map((z, c) => z * silu(gates[t][c])),
      ),
    description: 'per channel: silu(W_i x) written with 1 − λ, kept with λ = lb + (1 − lb) σ(W_f x)',
  });
}

/** Hawk's block-diagonal gate: per head h, out[h, j] = Σ_i x[h, i] w[h, i, j] + b[h, j]. */
function blockDiagonal(x: number[], w: CpuTensor, bias: CpuTensor): number[] {
  const [heads, bw] = w.shape;
  const out = new Array<number>(heads * bw).fill(0);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < bw; j++) {
      let acc = bias.data[h * bw + j];
      for (let i = 0; i < bw; i++) acc += x[h * bw + i] * w.data[(h * bw + i) * bw + j];
      out[h * bw + j] = acc;
    }
  return out;
}

function hawk(p: RefParams, _given: MixerOptions, dModel: number, x: Float64Array, T: number): ImplicitLayer {
  const W = P(p);
  const width = W('linear_x.weight').shape[0];
  const rows = Array.from({ length: T }, (_, t) => rowOf(x, t, dModel));
  const gateBranch = rows.map((r) => matvec(W('linear_y.weight'), r, W('linear_y.bias')).map(geluTanh));
  const u = convSequence(
    rows.map((r) => matvec(W('linear_x.weight'), r, W('linear_x.bias'))),
    W('conv_1d.weight'),
    W('conv_1d.bias'),
  );
  const a = new Float64Array(T * width);
  const b = new Float64Array(T * width);
  for (let t = 0; t < T; t++) {
    const gateX = blockDiagonal(u[t], W('rg_lru.input_gate.w'), W('rg_lru.input_gate.b')).map(sigmoid);
    const gateA = blockDiagonal(u[t], W('rg_lru.a_gate.w'), W('rg_lru.a_gate.b')).map(sigmoid);
    for (let c = 0; c < width; c++) {
      const logA = -8 * gateA[c] * softplus(W('rg_lru.a_param').data[c]);
      // RecurrentGemma resets at the first token: nothing to keep, the input enters unscaled.
      a[t * width + c] = t === 0 ? 0 : Math.exp(logA);
      b[t * width + c] = (t === 0 ? 1 : Math.sqrt(1 - Math.exp(2 * logA))) * gateX[c];
    }
  }
  return scalarChannels({
    kind: 'hawk',
    T,
    channels: width,
    a,
    b,
    v: stack(u),
    post: (t, h) =>
      matvec(
        W('linear_out.weight'),
        Array.from(h, (v, c) => v * gateBranch[t][c]),
        W('linear_out.bias'),
      ),
    description:
      'per channel (RG-LRU): u = conv(W_x x) written with √(1 − a²)·σ(gate_x), kept with a = exp(−8 σ(gate_a) softplus(Λ)); ' +
      'then ⊙ gelu(W_y x) and W_out',
  });
}

export const DIAGONAL_BUILDERS = {
  mamba,
  mingru: minRnn('mingru'),
  minlstm: minRnn('minlstm'),
  hgrn,
  hawk,
};
