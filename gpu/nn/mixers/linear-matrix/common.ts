// Pieces shared by the class-B mixers (matrix state with decay): the mixer skeleton around a
// `run(p, x, state, recurrent)` function, the choice between the chunked (training) and the recurrent
// (step) kernel, feature maps, per-head GroupNorm, splits along the last axis, and shared options.

import { randn } from '../../../cpu/tensor.js';
import type { Engine } from '../../../engine.js';
import { add, full, mul, relu, zeros } from '../../../ops/elementwise.js';
import { chunkGla } from '../../../ops/gla/chunk.js';
import type { GlaOptions, GlaOutput } from '../../../ops/gla/common.js';
import { fusedRecurrentGla } from '../../../ops/gla/recurrent.js';
import { layerNorm } from '../../../ops/norm.js';
import { reshape, slice } from '../../../ops/shape.js';
import type { Tensor } from '../../../tensor.js';
import type { Mixer, MixerState, OptionSpec } from '../../mixer.js';
import type { Init, ParamSpec, ParamView } from '../../module.js';
import { checkMixerCall, fusedMap } from '../linear-diagonal/common.js';

/** fla's initializer_range for every projection of its class-B layers. */
export const INIT_STD = 0.02;

export function normal(std = INIT_STD): Init {
  return { kind: 'normal', std };
}

export const ONES: Init = { kind: 'constant', value: 1 };
export const ZEROS: Init = { kind: 'constant', value: 0 };

/** The recurrence itself: chunked for whole sequences, token by token for steps. Both differentiable. */
export function gla(q: Tensor, k: Tensor, v: Tensor, options: GlaOptions, recurrent: boolean): GlaOutput {
  return recurrent ? fusedRecurrentGla(q, k, v, options) : chunkGla(q, k, v, options);
}

export interface MatrixMixerDef {
  kind: string;
  dModel: number;
  params(): ParamSpec[];
  /** Shapes of the carried state's entries for a batch. */
  stateShapes(batch: number): Record<string, number[]>;
  /** Entries of `initialState` that are not zeros (e.g. mLSTM's stabilizer starts at −∞). */
  initialValues?: Record<string, number>;
  /** x: [B, T, d]; `recurrent` picks the token loop (steps) instead of the chunked form. */
  run(p: ParamView, x: Tensor, state: MixerState | undefined, recurrent: boolean): { y: Tensor; state: MixerState };
  stateSize(): number;
  flopsPerToken(): number;
}

/** A Mixer whose parallel form is `run(…, chunked)` and whose step is `run` on one token, recurrent. */
export function matrixMixer(def: MatrixMixerDef): Mixer {
  const { kind, dModel } = def;
  return {
    kind,
    params: () => def.params(),
    forward(p, x, { initialState, returnState } = {}) {
      checkMixerCall(kind, p, x, dModel, 'parallel', initialState, def.stateShapes);
      const { y, state } = def.run(p, x, initialState, false);
      return returnState ? { y, state } : { y };
    },
    step(p, x, state) {
      checkMixerCall(kind, p, x, dModel, 'step', state, def.stateShapes);
      const [B] = x.shape;
      const { y, state: next } = def.run(p, reshape(x, [B, 1, dModel]), state, true);
      return { y: reshape(y, [B, dModel]), state: next };
    },
    initialState(engine: Engine, batch: number) {
      const shapes = def.stateShapes(batch);
      return Object.fromEntries(
        Object.entries(shapes).map(([name, shape]) => {
          const value = def.initialValues?.[name];
          return [name, value === undefined ? zeros(engine, shape) : full(engine, shape, value)];
        }),
      );
    },
    stateSize: () => def.stateSize(),
    flopsPerToken: () => def.flopsPerToken(),
  };
}

/** The splits of x along its last axis into pieces of the given widths. */
export function splitLast(x: Tensor, widths: number[]): Tensor[] {
  const axis = x.shape.length - 1;
  let start = 0;
  return widths.map((w) => slice(x, axis, start, (start += w)));
}

/** [B, T, H·D] → [B, T, H, D]. */
export function toHeads(x: Tensor, heads: number): Tensor {
  const [B, T, width] = x.shape;
  return reshape(x, [B, T, heads, width / heads]);
}

/** [B, T, H, D] → [B, T, H·D]. */
export function fromHeads(x: Tensor): Tensor {
  const [B, T, H, D] = x.shape;
  return reshape(x, [B, T, H * D]);
}

export const FEATURE_MAPS = ['identity', 'elu', 'relu'] as const;
export type FeatureMap = (typeof FEATURE_MAPS)[number];

/** Katharopoulos et al.'s elu(x) + 1 (positive, smooth), ReLU, or the identity. */
export function featureMap(name: FeatureMap, x: Tensor): Tensor {
  if (name === 'relu') return relu(x);
  if (name === 'identity') return x;
  return fusedMap('elu_plus_one', [x], 'select(exp(a), a + 1.0, a > 0.0)', ['dy * select(exp(a), 1.0, a > 0.0)']);
}

/**
 * GroupNorm with one group per head (RWKV-6's g_norm, mLSTM's o_norm): a LayerNorm over each head's
 * channels of x: [B, T, H, D], then the per-channel affine map of width H·D (bias optional).
 */
export function headGroupNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): Tensor {
  const [, , H, D] = x.shape;
  const normed = layerNorm(x, full(x.engine, [D], 1), zeros(x.engine, [D]), eps);
  const scaled = mul(normed, reshape(weight, [H, D]));
  return bias ? add(scaled, reshape(bias, [H, D])) : scaled;
}

/** Options every class-B layer shares. */
export const CHUNK_OPTION: OptionSpec = {
  name: 'chunk_size',
  type: 'enum',
  default: '32',
  choices: ['16', '32'],
  help: 'Tokens per chunk of the chunked training form (speed and memory only; the result is the same).',
};

export const NORM_EPS_OPTION: OptionSpec = {
  name: 'norm_eps',
  type: 'float',
  default: 1e-5,
  min: 0,
  max: 1,
  help: 'Epsilon of the output normalization.',
};

export function headsOption(byDefault: number): OptionSpec {
  return { name: 'num_heads', type: 'int', default: byDefault, min: 1, max: 256, help: 'Heads (fla num_heads).' };
}

export function expandOption(name: 'expand_k' | 'expand_v', byDefault: number): OptionSpec {
  const what = name === 'expand_k' ? 'Key' : 'Value';
  return {
    name,
    type: 'float',
    default: byDefault,
    min: 0.0625,
    max: 8,
    help: `${what} width as a multiple of d_model.`,
  };
}

/** Xavier/Glorot uniform for a [out, in] weight: U(±gain·√(6 / (in + out))). */
export function xavierUniform(out: number, inF: number, gain = 1): Init {
  const bound = gain * Math.sqrt(6 / (inF + out));
  return { kind: 'uniform', low: -bound, high: bound };
}

/**
 * torch.nn.init.orthogonal_ for a [rows, cols] weight: orthonormal rows (rows ≤ cols) or columns, from a
 * seeded normal matrix by Gram–Schmidt, times `gain`.
 */
export function orthogonalInit(gain: number): Init {
  return {
    kind: 'custom',
    values: (shape, seed) => {
      const [rows, cols] = shape;
      const [n, len] = rows <= cols ? [rows, cols] : [cols, rows];
      const raw = randn([n, len], seed).data;
      const vectors: Float64Array[] = [];
      for (let i = 0; i < n; i++) {
        const v = raw.slice(i * len, (i + 1) * len);
        for (const u of vectors) {
          const dot = v.reduce((s, x, j) => s + x * u[j], 0);
          for (let j = 0; j < len; j++) v[j] -= dot * u[j];
        }
        const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
        vectors.push(v.map((x) => x / norm));
      }
      const out = new Float64Array(rows * cols);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < len; j++) {
          if (rows <= cols) out[i * cols + j] = gain * vectors[i][j];
          else out[j * cols + i] = gain * vectors[i][j];
        }
      return out;
    },
  };
}
