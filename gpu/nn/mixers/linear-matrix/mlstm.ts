// mLSTM (Beck et al., "xLSTM"; fla/layers/mlstm.py after xlstm/blocks/mlstm): a matrix memory with an
// exponential input gate, a sigmoid forget gate, a running-max stabilizer m and a normalizer n:
//   m_t = max(log σ(f̃_t) + m_{t−1}, ĩ_t),  f' = exp(log σ(f̃_t) + m_{t−1} − m_t),  i' = exp(ĩ_t − m_t),
//   C_t = f' C_{t−1} + i' (k_t/√d) v_tᵀ,  n_t = f' n_{t−1} + i' k_t/√d,
//   h_t = C_tᵀ q_t / max(|n_tᵀ q_t|, exp(−m_t) + 1e-6).
// With the stabilizer computed first (ops/gla/stabilizer.ts) this is exactly the scalar-decay kernel
// with log decay log f' ≤ 0, keys i'·k/√d and values [v, 1] — the extra value column carries n — so no
// exponential of a positive number is ever taken. Gradients flow through m too (fla detaches it; see
// stabilizer.ts). log f' is floored at −60: below that the old memory is scaled by < 1e-26 (invisible
// in f32), and the floor keeps the chunk-local decay sums small where m jumps.
// The block around the cell: up-projection to (x, z), causal conv + swish on x, block-diagonal q/k/v
// projections, gates from [q, k, v], per-head GroupNorm, a learnable skip of the conv output, ⊙ swish(z),
// down-projection.

import { add, addScalar, div, exp, full, logsigmoid, mul, neg, scale, silu, sub } from '../../../ops/elementwise.js';
import { mlstmStabilizer, NO_HISTORY } from '../../../ops/gla/stabilizer.js';
import { linear } from '../../../ops/matmul.js';
import { sum } from '../../../ops/reduce.js';
import { concat, reshape, slice } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import { shortConv } from '../../blocks/short-conv.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import type { Init } from '../../module.js';
import { fusedMap, torchDefaultInit } from '../linear-diagonal/common.js';
import {
  CHUNK_OPTION,
  NORM_EPS_OPTION,
  ONES,
  ZEROS,
  fromHeads,
  gla,
  headGroupNorm,
  matrixMixer,
  normal,
  splitLast,
  toHeads,
} from './common.js';

export interface MlstmConfig {
  dModel: number;
  /** Inner width: proj_factor · d_model rounded up to a multiple. */
  inner: number;
  heads: number;
  headDim: number;
  /** Width of each block of the block-diagonal q/k/v projections. */
  blockSize: number;
  convSize: number;
  normEps: number;
  chunkSize: number;
}

/** The normalizer's epsilon (fla / xLSTM eps). */
export const MLSTM_EPS = 1e-6;
/** Floor of the stabilized log forget gate (see the header). */
export const LOG_FORGET_FLOOR = -60;

/** xLSTM's forget-gate bias: linspace(3, 6) over the heads. */
const FORGET_BIAS: Init = {
  kind: 'custom',
  values: (shape) =>
    Float64Array.from({ length: shape[0] }, (_, h) => (shape[0] === 1 ? 3 : 3 + (3 * h) / (shape[0] - 1))),
};

/** fla's GroupedLinear: y[…, g, o] = Σ_i W[g·bs + o, i] x[…, g, i], blocks of width bs. */
function groupedLinear(x: Tensor, weight: Tensor, bs: number): Tensor {
  const [B, T, width] = x.shape;
  const G = width / bs;
  const products = mul(reshape(x, [B, T, G, 1, bs]), reshape(weight, [G, bs, bs]));
  return reshape(sum(products, 4), [B, T, width]);
}

/**
 * The mLSTM cell on q, k, v: [B, T, H, K] (v may have its own width V), input-gate pre-activations
 * ĩ and log forget gates log σ(f̃): [B, T, H], from a carried (C, n, m) or from nothing. Returns the
 * normalized read-out h [B, T, H, V] and the state after the last token.
 */
export function mlstmCell(
  x: { q: Tensor; k: Tensor; v: Tensor; ig: Tensor; logf: Tensor },
  state: { S: Tensor; n: Tensor; m: Tensor } | undefined,
  options: { chunkSize?: number; recurrent: boolean },
): { h: Tensor; S: Tensor; n: Tensor; m: Tensor } {
  const [B, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const e = x.q.engine;
  // m_{t−1} beside m_t: the carried m₀ (or −∞) and then m shifted by one token.
  const m = mlstmStabilizer(x.logf, x.ig, state?.m);
  const first = state ? reshape(state.m, [B, 1, H]) : full(e, [B, 1, H], NO_HISTORY);
  const previous = T === 1 ? first : concat([first, slice(m, 1, 0, T - 1)], 1);
  const decay = fusedMap(
    'mlstm.log_forget',
    [sub(add(x.logf, previous), m)],
    `max(a, ${LOG_FORGET_FLOOR.toFixed(1)})`,
    [`select(0.0, dy, a > ${LOG_FORGET_FLOOR.toFixed(1)})`],
  );
  const inputGate = reshape(scale(exp(sub(x.ig, m)), 1 / Math.sqrt(K)), [B, T, H, 1]);
  const values = concat([x.v, full(e, [B, T, H, 1], 1)], 3);
  const h0 = state ? concat([state.S, reshape(state.n, [B, H, K, 1])], 3) : undefined;
  const out = gla(
    x.q,
    mul(x.k, inputGate),
    values,
    { g: decay, initialState: h0, scale: 1, chunkSize: options.chunkSize },
    options.recurrent,
  );
  const floor = reshape(addScalar(exp(neg(m)), MLSTM_EPS), [B, T, H, 1]);
  const denominator = fusedMap('mlstm.denominator', [slice(out.o, 3, V, V + 1), floor], 'max(abs(a), b)', [
    'dy * sign(a) * select(0.0, 1.0, abs(a) > b)',
    'select(dy, 0.0, abs(a) > b)',
  ]);
  return {
    h: div(slice(out.o, 3, 0, V), denominator),
    S: slice(out.finalState, 3, 0, V),
    n: reshape(slice(out.finalState, 3, V, V + 1), [B, H, K]),
    m: reshape(slice(m, 1, T - 1, T), [B, H]),
  };
}

export function mlstmMixer(c: MlstmConfig) {
  const { dModel: d, inner: I, heads: H, headDim: K, blockSize: bs } = c;
  return matrixMixer({
    kind: 'mlstm',
    dModel: d,
    params: () => [
      // xLSTM's small init for the up and block projections, Wang's init for the down projection.
      { name: 'proj_up.weight', shape: [2 * I, d], init: normal(Math.sqrt(2 / (5 * d))) },
      { name: 'q_proj.weight', shape: [I, bs], init: normal(Math.sqrt(2 / 5 / bs)) },
      { name: 'k_proj.weight', shape: [I, bs], init: normal(Math.sqrt(2 / 5 / bs)) },
      { name: 'v_proj.weight', shape: [I, bs], init: normal(Math.sqrt(2 / 5 / bs)) },
      { name: 'conv1d.weight', shape: [I, c.convSize], init: torchDefaultInit(c.convSize) },
      { name: 'conv1d.bias', shape: [I], init: torchDefaultInit(c.convSize), noDecay: true },
      { name: 'igate.weight', shape: [H, 3 * I], init: ZEROS },
      { name: 'igate.bias', shape: [H], init: normal(0.1), noDecay: true },
      { name: 'fgate.weight', shape: [H, 3 * I], init: ZEROS },
      { name: 'fgate.bias', shape: [H], init: FORGET_BIAS, noDecay: true },
      { name: 'o_norm.weight', shape: [I], init: ONES, noDecay: true },
      { name: 'learnable_skip', shape: [I], init: ONES, noDecay: true },
      { name: 'proj_down.weight', shape: [d, I], init: normal(2 / Math.sqrt(d)) },
    ],
    stateShapes: (batch) => ({
      S: [batch, H, K, K],
      n: [batch, H, K],
      m: [batch, H],
      conv: [batch, c.convSize - 1, I],
    }),
    initialValues: { m: NO_HISTORY },
    run(p, x, state, recurrent) {
      const [xm, z] = splitLast(linear(x, p.get('proj_up.weight')), [I, I]);
      const conv = shortConv(xm, p.get('conv1d.weight'), p.get('conv1d.bias'), state?.conv);
      const xc = silu(conv.y);
      const q = groupedLinear(xc, p.get('q_proj.weight'), bs);
      const k = groupedLinear(xc, p.get('k_proj.weight'), bs);
      const v = groupedLinear(xm, p.get('v_proj.weight'), bs);
      const gatesIn = concat([q, k, v], 2);
      const ig = linear(gatesIn, p.get('igate.weight'), p.get('igate.bias'));
      const logf = logsigmoid(linear(gatesIn, p.get('fgate.weight'), p.get('fgate.bias')));

      const carried = state && { S: state.S, n: state.n, m: state.m };
      const cell = mlstmCell({ q: toHeads(q, H), k: toHeads(k, H), v: toHeads(v, H), ig, logf }, carried, {
        chunkSize: c.chunkSize,
        recurrent,
      });
      const normed = fromHeads(headGroupNorm(cell.h, p.get('o_norm.weight'), null, c.normEps));
      const skipped = add(normed, mul(p.get('learnable_skip'), xc));
      const y = linear(mul(skipped, silu(z)), p.get('proj_down.weight'));
      return { y, state: { S: cell.S, n: cell.n, m: cell.m, conv: conv.state } };
    },
    stateSize: () => H * (K * K + K + 1) + (c.convSize - 1) * I,
    flopsPerToken: () => 2 * d * 2 * I + 6 * I * bs + 12 * I * H + 4 * H * K * (K + 1) + 2 * I * d + 20 * I,
  });
}

export function mlstmConfig(dModel: number, given: MixerOptions): MlstmConfig {
  const o = resolveOptions(MLSTM, given);
  const multiple = o.round_proj_up_to_multiple_of as number;
  const inner = Math.ceil(((o.proj_factor as number) * dModel) / multiple) * multiple;
  const heads = o.num_heads as number;
  const blockSize = o.qkv_proj_blocksize as number;
  if (inner % heads !== 0) {
    throw new RangeError(
      `mlstm: option "num_heads" ${heads} must divide the inner width ${inner} (proj_factor ${o.proj_factor} × d_model ${dModel}, rounded up to a multiple of ${multiple})`,
    );
  }
  if (inner % blockSize !== 0) {
    throw new RangeError(`mlstm: option "qkv_proj_blocksize" ${blockSize} must divide the inner width ${inner}`);
  }
  return {
    dModel,
    inner,
    heads,
    headDim: inner / heads,
    blockSize,
    convSize: o.conv_size as number,
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const MLSTM: MixerFactory = {
  kind: 'mlstm',
  title: 'mLSTM (xLSTM)',
  family: 'linear-matrix',
  description:
    'Matrix LSTM: exponential input gate with a max stabilizer and a normalizer (xLSTM mLSTM block, fla MLSTM).',
  options: [
    { name: 'num_heads', type: 'int', default: 16, min: 1, max: 256, help: 'Heads (fla num_heads).' },
    {
      name: 'proj_factor',
      type: 'float',
      default: 2,
      min: 0.25,
      max: 8,
      help: 'Inner width as a multiple of d_model.',
    },
    {
      name: 'round_proj_up_to_multiple_of',
      type: 'int',
      default: 64,
      min: 1,
      max: 1024,
      help: 'The inner width is rounded up to a multiple of this.',
    },
    {
      name: 'qkv_proj_blocksize',
      type: 'int',
      default: 4,
      min: 1,
      max: 1024,
      help: 'Block width of the block-diagonal q/k/v projections.',
    },
    { name: 'conv_size', type: 'int', default: 4, min: 2, max: 16, help: 'Width of the short causal convolution.' },
    NORM_EPS_OPTION,
    CHUNK_OPTION,
  ],
  create: (dModel, options) => mlstmMixer(mlstmConfig(dModel, options)),
};

registerMixer(MLSTM);
