// Mamba-2 / SSD (Dao & Gu, "Transformers are SSMs"; mamba_ssm/modules/mamba2.py): one scalar decay per
// head, which makes it simple GLA with q = C_t, k = B_t, v = dt_t·x_t and log decay g_t = dt_t·A_h:
//   [z, xBC, dt] = in_proj(u);  xBC = silu(conv1d(xBC));  [x, B, C] = xBC;  dt = softplus(dt + dt_bias);
//   S_t = exp(dt_t A) S_{t−1} + B_t (dt_t x_t)ᵀ;  y_t = S_tᵀ C_t + D x_t;  out = out_proj(RMSNorm(y ⊙ silu(z))).
// B and C are shared by the heads of each of `ngroups` groups. The state is stored [B, H, N, P] (the
// kernel's key × value layout; mamba_ssm keeps [B, H, P, N]).

import { add, exp, full, mul, neg, silu, softplus } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { rmsNorm } from '../../../ops/norm.js';
import { reshape } from '../../../ops/shape.js';
import { uniform } from '../../../cpu/tensor.js';
import type { Tensor } from '../../../tensor.js';
import { shortConv } from '../../blocks/short-conv.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { Init } from '../../module.js';
import { broadcastTo, dtBiasInit, scaledWidth, torchDefaultInit } from '../linear-diagonal/common.js';
import { CHUNK_OPTION, ONES, gla, matrixMixer, splitLast } from './common.js';

export interface Mamba2Config {
  dModel: number;
  dInner: number;
  heads: number;
  headDim: number;
  dState: number;
  groups: number;
  convSize: number;
  chunkSize: number;
}

/** RMSNormGated's epsilon in mamba_ssm. */
export const MAMBA2_NORM_EPS = 1e-5;

/** Mamba-2's A ~ U[1, 16] per head, stored as A_log = log A. */
const A_LOG_INIT: Init = {
  kind: 'custom',
  values: (shape, seed) => uniform(shape, seed, 1, 16).data.map(Math.log),
};

export function mamba2Mixer(c: Mamba2Config) {
  const { dModel: d, dInner, heads: H, headDim: P, dState: N, groups: G } = c;
  const convDim = dInner + 2 * G * N;
  /** [B, T, G·N] → [B, T, H, N]: head h reads group ⌊h / (H/G)⌋. */
  const perHead = (m: Tensor) => {
    const [B, T] = m.shape;
    if (G === H) return reshape(m, [B, T, H, N]);
    return reshape(broadcastTo(reshape(m, [B, T, G, 1, N]), [B, T, G, H / G, N]), [B, T, H, N]);
  };
  return matrixMixer({
    kind: 'mamba2',
    dModel: d,
    params: () => [
      { name: 'in_proj.weight', shape: [2 * dInner + 2 * G * N + H, d], init: torchDefaultInit(d) },
      { name: 'conv1d.weight', shape: [convDim, c.convSize], init: torchDefaultInit(c.convSize) },
      { name: 'conv1d.bias', shape: [convDim], init: torchDefaultInit(c.convSize), noDecay: true },
      { name: 'dt_bias', shape: [H], init: dtBiasInit(0.001, 0.1), noDecay: true },
      { name: 'A_log', shape: [H], init: A_LOG_INIT, noDecay: true },
      { name: 'D', shape: [H], init: ONES, noDecay: true },
      { name: 'norm.weight', shape: [dInner], init: ONES, noDecay: true },
      { name: 'out_proj.weight', shape: [d, dInner], init: torchDefaultInit(dInner) },
    ],
    stateShapes: (batch) => ({ S: [batch, H, N, P], conv: [batch, c.convSize - 1, convDim] }),
    run(p, u, state, recurrent) {
      const [B, T] = u.shape;
      const [z, xBC, dtRaw] = splitLast(linear(u, p.get('in_proj.weight')), [dInner, convDim, H]);
      const conv = shortConv(xBC, p.get('conv1d.weight'), p.get('conv1d.bias'), state?.conv);
      const [xs, Bm, Cm] = splitLast(silu(conv.y), [dInner, G * N, G * N]);
      const dt = softplus(add(dtRaw, p.get('dt_bias')));
      // dt·A with A = −exp(A_log) < 0: the log decay is never positive.
      const g = mul(dt, neg(exp(p.get('A_log'))));
      const x = reshape(xs, [B, T, H, P]);
      const v = mul(x, reshape(dt, [B, T, H, 1]));
      const out = gla(
        perHead(Cm),
        perHead(Bm),
        v,
        { g, initialState: state?.S, scale: 1, chunkSize: c.chunkSize },
        recurrent,
      );
      const y = reshape(add(out.o, mul(x, reshape(p.get('D'), [H, 1]))), [B, T, dInner]);
      const gated = mul(y, silu(z));
      // RMSNormGated(norm_before_gate=False): normalize y ⊙ silu(z) within each group of d_inner / G.
      const normed =
        G === 1
          ? rmsNorm(gated, p.get('norm.weight'), MAMBA2_NORM_EPS)
          : mul(
              reshape(
                rmsNorm(reshape(gated, [B, T, G, dInner / G]), full(u.engine, [dInner / G], 1), MAMBA2_NORM_EPS),
                [B, T, dInner],
              ),
              p.get('norm.weight'),
            );
      return { y: linear(normed, p.get('out_proj.weight')), state: { S: out.finalState, conv: conv.state } };
    },
    stateSize: () => H * N * P + (c.convSize - 1) * convDim,
    flopsPerToken: () =>
      2 * d * (2 * dInner + 2 * G * N + H) + 2 * c.convSize * convDim + 4 * H * N * P + 2 * dInner * d + 10 * dInner,
  });
}

export function mamba2Config(dModel: number, given: MixerOptions): Mamba2Config {
  const o = resolveOptions(MAMBA2, given);
  const dInner = scaledWidth('mamba2', 'expand', dModel, o.expand as number);
  const headDim = o.headdim as number;
  if (dInner % headDim !== 0) {
    throw new RangeError(
      `mamba2: option "headdim" ${headDim} must divide d_inner ${dInner} (d_model ${dModel} × expand ${o.expand})`,
    );
  }
  const heads = dInner / headDim;
  const groups = o.ngroups as number;
  if (heads % groups !== 0) {
    throw new RangeError(
      `mamba2: option "ngroups" ${groups} must divide the number of heads ${heads} (d_inner ${dInner} / headdim ${headDim})`,
    );
  }
  const convSize = o.d_conv as number;
  return {
    dModel,
    dInner,
    heads,
    headDim,
    dState: o.d_state as number,
    groups,
    convSize,
    chunkSize: Number(o.chunk_size),
  };
}

export const MAMBA2: MixerFactory = {
  kind: 'mamba2',
  title: 'Mamba-2 (SSD)',
  family: 'linear-matrix',
  description:
    'Selective state space with one scalar decay per head, computed as chunked linear attention (mamba_ssm Mamba2).',
  options: [
    { name: 'd_state', type: 'int', default: 128, min: 1, max: 1024, help: 'State size N per head (mamba d_state).' },
    { name: 'expand', type: 'float', default: 2, min: 0.25, max: 8, help: 'd_inner as a multiple of d_model.' },
    {
      name: 'headdim',
      type: 'int',
      default: 64,
      min: 1,
      max: 1024,
      help: 'Channels P per head; heads = d_inner / headdim.',
    },
    { name: 'ngroups', type: 'int', default: 1, min: 1, max: 256, help: 'Groups of heads sharing B and C.' },
    {
      name: 'd_conv',
      type: 'int',
      default: 4,
      min: 2,
      max: 16,
      help: 'Width of the short causal convolution on x, B, C.',
    },
    CHUNK_OPTION,
  ],
  create: (dModel, options) => mamba2Mixer(mamba2Config(dModel, options)),
};

registerMixer(MAMBA2);
