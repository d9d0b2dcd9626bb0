// The diagonal linear recurrences in ONNX — minGRU, minLSTM, HGRN, Mamba-1 — as their one-token steps
// (h_t = a_t ⊙ h_{t−1} + b_t, with the gates of gpu/nn/mixers/linear-diagonal/*.ref.ts); the parallel
// graph scans that step over time.

import type { OnnxGraph } from '../builder.js';
import {
  num,
  rmsNorm,
  scanParallel,
  shortConvStep,
  type OnnxMixer,
  type OnnxMixerFactory,
  type StateSpec,
} from '../common.js';

function recurrent(states: StateSpec[], step: OnnxMixer['step']): OnnxMixer {
  return { states, step, parallel: (g, x) => scanParallel(g, x, states, step) };
}

/** minGRU's g: x + 0.5 for x ≥ 0, σ(x) below. */
function minRnnG(g: OnnxGraph, x: string): string {
  return g.one('Where', [g.one('GreaterOrEqual', [x, g.floats(0)]), g.addScalar(x, 0.5), g.sigmoid(x)]);
}

function minRnn(kind: 'mingru' | 'minlstm'): OnnxMixerFactory {
  return (config, w) => {
    const d = num(config, 'd_model');
    const expansion = num(config, 'expansion');
    const inner = d * expansion;
    const blocks = kind === 'mingru' ? 2 : 3;
    const projection = kind === 'mingru' ? 'to_hidden_and_gate.weight' : 'to_hidden_and_f_i_gate.weight';
    return recurrent([{ name: 'h', dims: [inner] }], (g, x, state) => {
      const parts = g.split(g.linear(x, w(projection)), -1, Array(blocks).fill(inner));
      const hidden = minRnnG(g, parts[0]);
      let h: string;
      if (kind === 'mingru') {
        const z = g.sigmoid(parts[1]);
        h = g.add(g.mul(g.sub(g.floats(1), z), state.h), g.mul(z, hidden));
      } else {
        const f = g.sigmoid(parts[1]);
        const i = g.sigmoid(parts[2]);
        const total = g.add(f, i);
        h = g.add(g.mul(g.div(f, total), state.h), g.mul(g.div(i, total), hidden));
      }
      return { y: expansion !== 1 ? g.linear(h, w('to_out.weight')) : h, state: { h } };
    });
  };
}

export const mingru = minRnn('mingru');
export const minlstm = minRnn('minlstm');

export const hgrn: OnnxMixerFactory = (config, w) => {
  const inner = num(config, 'd_model') * num(config, 'expand_ratio');
  const lb = num(config, 'lower_bound');
  const eps = num(config, 'norm_eps');
  return recurrent([{ name: 'h', dims: [inner] }], (g, x, state) => {
    const forget = g.addScalar(g.scale(g.sigmoid(g.linear(x, w('f_proj.weight'))), 1 - lb), lb);
    const input = g.mul(g.silu(g.linear(x, w('i_proj.weight'))), g.sub(g.floats(1), forget));
    const h = g.add(g.mul(forget, state.h), input);
    const gated = g.mul(rmsNorm(g, h, w('g_norm.weight'), eps), g.silu(g.linear(x, w('g_proj.weight'))));
    return { y: g.linear(gated, w('o_proj.weight')), state: { h } };
  });
};

export const mamba: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const N = num(config, 'd_state');
  const K = num(config, 'd_conv');
  const inner = num(config, 'expand') * d;
  const rank = num(config, 'dt_rank') || Math.ceil(d / 16);
  const negative = config.negative_eigenvalues === true;
  return recurrent(
    [
      { name: 'ssm', dims: [inner, N] },
      { name: 'conv', dims: [K - 1, inner] },
    ],
    (g, x, state) => {
      const [xi, z] = g.split(g.linear(x, w('in_proj.weight')), -1, [inner, inner]);
      const conv = shortConvStep(g, xi, state.conv, w('conv1d.weight'), K, w('conv1d.bias'));
      const u = g.silu(conv.y);
      const [dtLow, Bm, Cm] = g.split(g.linear(u, w('x_proj.weight')), -1, [rank, N, N]);
      const dt = g.softplus(g.linear(dtLow, w('dt_proj.weight'), w('dt_proj.bias'))); // [B, inner]
      // exp(dt·A) with A = −exp(A_log): [B, inner, N].
      let decay = g.exp(g.neg(g.mul(g.unsqueeze(dt, [2]), g.exp(w('A_log')))));
      if (negative) decay = g.addScalar(g.scale(decay, 2), -1);
      const input = g.mul(g.unsqueeze(g.mul(dt, u), [2]), g.unsqueeze(Bm, [1]));
      const ssm = g.add(g.mul(decay, state.ssm), input);
      const y = g.add(g.reduceSum(g.mul(ssm, g.unsqueeze(Cm, [1])), [2]), g.mul(u, w('D')));
      return { y: g.linear(g.mul(y, g.silu(z)), w('out_proj.weight')), state: { ssm, conv: conv.state } };
    },
  );
};

/** GELU with the tanh approximation (RecurrentGemma's). */
function geluTanh(g: OnnxGraph, x: string): string {
  const inner = g.scale(g.add(x, g.scale(g.mul(g.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return g.mul(g.scale(x, 0.5), g.addScalar(g.tanh(inner), 1));
}

/**
 * Hawk's RG-LRU block. StateLab's state carries `reset` (1 before the first token); here it is `started`
 * (0 before the first token, then 1), so that all-zero states are a fresh sequence, as for every layer.
 */
export const hawk: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const width = num(config, 'lru_width') || d;
  const heads = num(config, 'num_heads');
  const K = num(config, 'conv_width');
  const block = width / heads;
  const blockDiagonal = (g: OnnxGraph, u: string, name: string) =>
    g.add(
      g.reshape(g.matmul(g.reshape(u, [0, heads, 1, block]), w(`${name}.w`)), [0, width]),
      g.reshape(w(`${name}.b`), [width]),
    );
  return recurrent(
    [
      { name: 'h', dims: [width] },
      { name: 'conv', dims: [K - 1, width] },
      { name: 'started', dims: [1] },
    ],
    (g, x, state) => {
      const y = geluTanh(g, g.linear(x, w('linear_y.weight'), w('linear_y.bias')));
      const pre = g.linear(x, w('linear_x.weight'), w('linear_x.bias'));
      const conv = shortConvStep(g, pre, state.conv, w('conv_1d.weight'), K, w('conv_1d.bias'));
      const u = conv.y;
      const gateX = g.sigmoid(blockDiagonal(g, u, 'rg_lru.input_gate'));
      const logA = g.mul(g.scale(g.sigmoid(blockDiagonal(g, u, 'rg_lru.a_gate')), -8), g.softplus(w('rg_lru.a_param')));
      const started = state.started; // [B, 1]: a = 0 and multiplier 1 at a sequence's first token
      const a = g.mul(g.exp(logA), started);
      const multiplier = g.add(
        g.mul(g.sqrt(g.sub(g.floats(1), g.exp(g.scale(logA, 2)))), started),
        g.sub(g.floats(1), started),
      );
      const h = g.add(g.mul(a, state.h), g.mul(g.mul(multiplier, gateX), u));
      const out = g.linear(g.mul(h, y), w('linear_out.weight'), w('linear_out.bias'));
      return { y: out, state: { h, conv: conv.state, started: g.add(g.mul(started, g.floats(0)), g.floats(1)) } };
    },
  );
};

/** One complex step per channel: h ← λ h + b on (re, im) pairs; h [B, N, 2], λ_re/λ_im [N], b_re/b_im [B, N]. */
function complexStep(g: OnnxGraph, h: string, lambdaRe: string, lambdaIm: string, bRe: string, bIm: string) {
  const part = (k: number) => g.gather(h, g.ints([k], true), 2);
  const [re, im] = [part(0), part(1)];
  const nextRe = g.add(g.sub(g.mul(lambdaRe, re), g.mul(lambdaIm, im)), bRe);
  const nextIm = g.add(g.add(g.mul(lambdaRe, im), g.mul(lambdaIm, re)), bIm);
  return { re: nextRe, im: nextIm, packed: g.concat([g.unsqueeze(nextRe, [2]), g.unsqueeze(nextIm, [2])], 2) };
}

/** LRU: λ = exp(−exp(ν) + i·exp(θ)) and γ = exp(γ_log) are computed in float64 at export time. */
export const lru: OnnxMixerFactory = (config, w, access) => {
  const N = num(config, 'd_state');
  const lambdaRe: number[] = [];
  const lambdaIm: number[] = [];
  const nu = access.read('nu_log').data;
  const theta = access.read('theta_log').data;
  for (let n = 0; n < N; n++) {
    const modulus = Math.exp(-Math.exp(nu[n] ?? 0));
    lambdaRe.push(modulus * Math.cos(Math.exp(theta[n] ?? 0)));
    lambdaIm.push(modulus * Math.sin(Math.exp(theta[n] ?? 0)));
  }
  const gamma = Array.from(access.read('gamma_log').data, Math.exp);
  return recurrent([{ name: 'h', dims: [N, 2] }], (g, x, state) => {
    const scale = access.derived('gamma', [N], gamma);
    const bRe = g.mul(g.linear(x, w('B_re')), scale);
    const bIm = g.mul(g.linear(x, w('B_im')), scale);
    const lr = access.derived('lambda_re', [N], lambdaRe);
    const li = access.derived('lambda_im', [N], lambdaIm);
    const h = complexStep(g, state.h, lr, li, bRe, bIm);
    const y = g.add(g.sub(g.linear(h.re, w('C_re')), g.linear(h.im, w('C_im'))), g.mul(x, w('D')));
    return { y, state: { h: h.packed } };
  });
};

/** S4D: the zero-order-hold discretization λ = exp(dt·A), readout 2·C·(λ − 1)/A in float64 at export time. */
export const s4d: OnnxMixerFactory = (config, w, access) => {
  const H = num(config, 'd_model');
  const M = num(config, 'd_state') / 2;
  const [lambdaRe, lambdaIm, readRe, readIm] = [[], [], [], []] as number[][];
  const logDt = access.read('kernel.log_dt').data;
  const logAReal = access.read('kernel.log_A_real').data;
  const aImag = access.read('kernel.A_imag').data;
  const C = access.read('kernel.C').data;
  for (let i = 0; i < H * M; i++) {
    const dt = Math.exp(logDt[Math.floor(i / M)] ?? 0);
    const [ar, ai] = [-Math.exp(logAReal[i] ?? 0), aImag[i] ?? 0];
    const [lr, li] = [Math.exp(dt * ar) * Math.cos(dt * ai), Math.exp(dt * ar) * Math.sin(dt * ai)];
    // λ − 1 without cancellation: expm1(dt·a_r)·cos(dt·a_i) − 2 sin²(dt·a_i / 2).
    const lm1 = Math.expm1(dt * ar) * Math.cos(dt * ai) - 2 * Math.sin((dt * ai) / 2) ** 2;
    const modulus = ar * ar + ai * ai;
    const [qr, qi] = [(lm1 * ar + li * ai) / modulus, (li * ar - lm1 * ai) / modulus];
    const [cr, ci] = [C[2 * i] ?? 0, C[2 * i + 1] ?? 0];
    lambdaRe.push(lr);
    lambdaIm.push(li);
    readRe.push(2 * (cr * qr - ci * qi));
    readIm.push(2 * (cr * qi + ci * qr));
  }
  return recurrent([{ name: 'h', dims: [H * M, 2] }], (g, x, state) => {
    const u = g.reshape(g.mul(g.unsqueeze(x, [2]), g.floats(Array(M).fill(1))), [0, H * M]); // u per mode
    const zero = g.mul(u, g.floats(0));
    const lr = access.derived('kernel.lambda_re', [H * M], lambdaRe);
    const li = access.derived('kernel.lambda_im', [H * M], lambdaIm);
    const s = complexStep(g, state.h, lr, li, u, zero);
    const read = g.sub(
      g.mul(s.re, access.derived('kernel.readout_re', [H * M], readRe)),
      g.mul(s.im, access.derived('kernel.readout_im', [H * M], readIm)),
    );
    const y = g.gelu(g.add(g.reduceSum(g.reshape(read, [0, H, M]), [2]), g.mul(x, w('D'))));
    const [a, b] = g.split(g.linear(y, w('output_linear.0.weight'), w('output_linear.0.bias')), -1, [H, H]);
    return { y: g.mul(a, g.sigmoid(b)), state: { h: s.packed } };
  });
};
