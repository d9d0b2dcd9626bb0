// Gated Slot Attention (Zhang et al., "Gated Slot Attention for Efficient Linear-Time Sequence
// Modeling"; fla/layers/gsa.py, fla/ops/gsa/naive.py): M memory slots per head with a forget gate
// α = σ(W_f x)^(1/8) per slot, written with s = 1 − α, read twice with a softmax over slots between:
//   pass 1: H_k ← H_k Diag(α_t) + k_t s_tᵀ   ([K, M]),   o_k = H_kᵀ q_t,
//   pass 2: H_v ← Diag(α_t) H_v + s_t v_tᵀ   ([M, V]),   o = H_vᵀ softmax(o_k),
//   y = W_o RMSNorm(swish(o)),  with q, k = swish(·) and v = silu(W_v x).
// Pass 2 is GLA with the slots as key channels. Pass 1 decays the *value* side of its state, which the
// kernel does not do; slot m of it is a scalar-decay recurrence of its own (keys k, values s[m], decay
// α[m]), so pass 1 runs as H·M heads of the scalar-decay kernel with value dim 1. That repeats q·k per
// slot (M times the work of a value-side-decay kernel); it is exact, and such a kernel is the
// optimisation left to do.

import { logsigmoid, relu, scale, silu } from '../../../ops/elementwise.js';
import { linear } from '../../../ops/matmul.js';
import { rmsNorm } from '../../../ops/norm.js';
import { reshape } from '../../../ops/shape.js';
import { softmax } from '../../../ops/softmax.js';
import type { Tensor } from '../../../tensor.js';
import { registerMixer, resolveOptions, type MixerFactory, type MixerOptions } from '../../mixer.js';
import { headDims } from '../delta-rule/delta-core.js';
import { broadcastTo, expm1Wgsl, fusedMap } from '../linear-diagonal/common.js';
import {
  CHUNK_OPTION,
  NORM_EPS_OPTION,
  ONES,
  expandOption,
  fromHeads,
  gla,
  headsOption,
  matrixMixer,
  normal,
  toHeads,
} from './common.js';

export interface GsaConfig {
  dModel: number;
  heads: number;
  headK: number;
  headV: number;
  slots: number;
  gateNormalizer: number;
  featureMap: 'swish' | 'relu';
  normEps: number;
  chunkSize: number;
}

/**
 * The two GSA passes for q, k: [B, T, H, K], v: [B, T, H, V] and the slots' log forget gates
 * f: [B, T, H, M], from a carried (Sk [B, H, M, K], Sv [B, H, M, V]) or from zeros. Returns o and the
 * state after the last token.
 */
export function gsaCell(
  x: { q: Tensor; k: Tensor; v: Tensor; f: Tensor },
  state: { Sk: Tensor; Sv: Tensor } | undefined,
  options: { chunkSize?: number; recurrent: boolean },
): { o: Tensor; Sk: Tensor; Sv: Tensor } {
  const [B, T, H, K] = x.q.shape;
  const M = x.f.shape[3];
  // s = 1 − exp(f) = −expm1(f): no cancellation when the gate is close to 1.
  const s = fusedMap('gsa.slot_write', [x.f], `-(${expm1Wgsl('a')})`, ['-dy * exp(a)']);
  const perSlot = (t: Tensor) => reshape(broadcastTo(reshape(t, [B, T, H, 1, K]), [B, T, H, M, K]), [B, T, H * M, K]);
  const pass1 = gla(
    perSlot(x.q),
    perSlot(x.k),
    reshape(s, [B, T, H * M, 1]),
    {
      g: reshape(x.f, [B, T, H * M]),
      initialState: state ? reshape(state.Sk, [B, H * M, K, 1]) : undefined,
      scale: 1,
      chunkSize: options.chunkSize,
    },
    options.recurrent,
  );
  const weights = softmax(reshape(pass1.o, [B, T, H, M]));
  const pass2 = gla(
    weights,
    s,
    x.v,
    { g: x.f, initialState: state?.Sv, scale: 1, chunkSize: options.chunkSize },
    options.recurrent,
  );
  return { o: pass2.o, Sk: reshape(pass1.finalState, [B, H, M, K]), Sv: pass2.finalState };
}

export function gsaMixer(c: GsaConfig) {
  const { dModel: d, heads: H, headK: K, headV: V, slots: M } = c;
  const phi = (x: Tensor) => (c.featureMap === 'relu' ? relu(x) : silu(x));
  return matrixMixer({
    kind: 'gsa',
    dModel: d,
    params: () => [
      { name: 'q_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'k_proj.weight', shape: [H * K, d], init: normal() },
      { name: 'v_proj.weight', shape: [H * V, d], init: normal() },
      { name: 'f_proj.weight', shape: [H * M, d], init: normal() },
      { name: 'g_norm.weight', shape: [H * V], init: ONES, noDecay: true },
      { name: 'o_proj.weight', shape: [d, H * V], init: normal() },
    ],
    // Sk[b, h, m, :] is fla's hk[b, h, :, m] (slot-major, so each slot is one scalar-decay head).
    stateShapes: (batch) => ({ Sk: [batch, H, M, K], Sv: [batch, H, M, V] }),
    run(p, x, state, recurrent) {
      const q = phi(toHeads(linear(x, p.get('q_proj.weight')), H));
      const k = phi(toHeads(linear(x, p.get('k_proj.weight')), H));
      const v = silu(toHeads(linear(x, p.get('v_proj.weight')), H));
      const f = toHeads(scale(logsigmoid(linear(x, p.get('f_proj.weight'))), 1 / c.gateNormalizer), H);
      const carried = state && { Sk: state.Sk, Sv: state.Sv };
      const cell = gsaCell({ q, k, v, f }, carried, { chunkSize: c.chunkSize, recurrent });
      const o = rmsNorm(silu(fromHeads(cell.o)), p.get('g_norm.weight'), c.normEps);
      return {
        y: linear(o, p.get('o_proj.weight')),
        state: { Sk: cell.Sk, Sv: cell.Sv },
      };
    },
    stateSize: () => H * M * (K + V),
    flopsPerToken: () => 2 * d * H * (2 * K + 2 * V + M) + 2 * H * V * d + 4 * H * M * (K + V) + 10 * H * M,
  });
}

export function gsaConfig(dModel: number, given: MixerOptions): GsaConfig {
  const o = resolveOptions(GSA, given);
  const heads = o.num_heads as number;
  const expandK = o.expand_k as number;
  const expandV = o.expand_v as number;
  const dims = headDims(
    'gsa',
    heads,
    [dModel * expandK, `d_model ${dModel} × expand_k ${expandK}`],
    [dModel * expandV, `d_model ${dModel} × expand_v ${expandV}`],
  );
  const slots = (o.num_slots as number) || dims.headK;
  return {
    dModel,
    heads,
    ...dims,
    slots,
    gateNormalizer: o.gate_logit_normalizer as number,
    featureMap: o.feature_map as 'swish' | 'relu',
    normEps: o.norm_eps as number,
    chunkSize: Number(o.chunk_size),
  };
}

export const GSA: MixerFactory = {
  kind: 'gsa',
  title: 'Gated slot attention (GSA)',
  family: 'linear-matrix',
  description: 'Gated memory slots read through a softmax: two chained GLA passes per head (fla GSA).',
  options: [
    headsOption(4),
    expandOption('expand_k', 1),
    expandOption('expand_v', 1),
    {
      name: 'num_slots',
      type: 'int',
      default: 0,
      min: 0,
      max: 4096,
      help: 'Memory slots M per head; 0 uses the key head dim (fla num_slots=None).',
    },
    {
      name: 'gate_logit_normalizer',
      type: 'float',
      default: 8,
      min: 1,
      max: 1024,
      help: 'log α = logsigmoid(·) / this (fla gate_logit_normalizer).',
    },
    {
      name: 'feature_map',
      type: 'enum',
      default: 'swish',
      choices: ['swish', 'relu'],
      help: 'φ on queries and keys (fla feature_map).',
    },
    NORM_EPS_OPTION,
    CHUNK_OPTION,
  ],
  create: (dModel, options) => gsaMixer(gsaConfig(dModel, options)),
};

registerMixer(GSA);
