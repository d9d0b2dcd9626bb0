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
