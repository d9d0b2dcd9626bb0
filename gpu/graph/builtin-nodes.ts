// Parameters and forward functions of the built-in layer kinds (embedding, norm, gated MLP, non-gated MLP,
// linear, LM head). Each works on [..., width] so the same code serves the parallel form and one-token
// steps. Learned positions are the one built-in kind with state (the count of tokens seen): the compiler
// runs it through the mixer contract (`statefulBuiltin`).

import type { ParamValue } from '../../shared/graph/schema.js';
import type { Engine } from '../engine.js';
import { add, gelu, mul, relu, silu, unary } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { linear, matmul } from '../ops/matmul.js';
import { layerNorm, rmsNorm } from '../ops/norm.js';
import type { Tensor } from '../tensor.js';
import type { Mixer, MixerState } from '../nn/mixer.js';
import type { ParamSpec, ParamView } from '../nn/module.js';

const STD = 0.02;

/** 8/3·d rounded up to a multiple of 32: Llama's SwiGLU width for the same parameter count as a 4·d MLP. */
export function mlpHiddenWidth(width: number, hidden: number): number {
  return hidden > 0 ? hidden : Math.ceil((8 * width) / 3 / 32) * 32;
}

/** 4·d: the hidden width of GPT-2's non-gated MLP. */
export function ffnHiddenWidth(width: number, hidden: number): number {
  return hidden > 0 ? hidden : 4 * width;
}

const FFN_ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  gelu,
  gelu_tanh: (x) => unary('gelu_tanh', x),
  relu,
};

export function builtinParamSpecs(
  kind: string,
  params: Record<string, ParamValue>,
  inWidth: number,
  outWidth: number,
  vocab: number,
  layers: number,
): ParamSpec[] {
  switch (kind) {
    case 'embedding':
      return [{ name: 'weight', shape: [vocab, outWidth], init: { kind: 'normal', std: STD } }];
    case 'norm':
      return [
        { name: 'weight', shape: [inWidth], init: { kind: 'constant', value: 1 }, noDecay: true },
        ...(params.type === 'layer'
          ? [{ name: 'bias', shape: [inWidth], init: { kind: 'constant' as const, value: 0 }, noDecay: true }]
          : []),
      ];
    case 'mlp': {
      const hidden = mlpHiddenWidth(inWidth, params.hidden as number);
      return [
        { name: 'gate_proj.weight', shape: [hidden, inWidth], init: { kind: 'normal', std: STD } },
        { name: 'up_proj.weight', shape: [hidden, inWidth], init: { kind: 'normal', std: STD } },
        // GPT-2's residual scaling keeps the residual stream's variance flat in depth.
        {
          name: 'down_proj.weight',
          shape: [inWidth, hidden],
          init: { kind: 'normal', std: STD / Math.sqrt(2 * Math.max(1, layers)) },
        },
      ];
    }
    case 'ffn': {
      const hidden = ffnHiddenWidth(inWidth, params.hidden as number);
      const bias = (name: string, width: number): ParamSpec[] =>
        params.bias
          ? [{ name: `${name}.bias`, shape: [width], init: { kind: 'constant', value: 0 }, noDecay: true }]
          : [];
      return [
        { name: 'up_proj.weight', shape: [hidden, inWidth], init: { kind: 'normal', std: STD } },
        ...bias('up_proj', hidden),
        {
          name: 'down_proj.weight',
          shape: [inWidth, hidden],
          init: { kind: 'normal', std: STD / Math.sqrt(2 * Math.max(1, layers)) },
        },
        ...bias('down_proj', inWidth),
      ];
    }
    case 'position_embedding':
      return [{ name: 'weight', shape: [params.max_positions as number, inWidth], init: { kind: 'normal', std: STD } }];
    case 'linear':
      return [
        { name: 'weight', shape: [outWidth, inWidth], init: { kind: 'normal', std: STD } },
        ...(params.bias
          ? [{ name: 'bias', shape: [outWidth], init: { kind: 'constant' as const, value: 0 }, noDecay: true }]
          : []),
      ];
    case 'lm_head':
      return params.tied ? [] : [{ name: 'weight', shape: [vocab, inWidth], init: { kind: 'normal', std: STD } }];
    default:
      return [];
  }
}

export function builtinForward(
  kind: string,
  p: ParamView,
  params: Record<string, ParamValue>,
  inputs: Record<string, Tensor>,
  tiedEmbedding: () => Tensor,
): Tensor {
  switch (kind) {
    case 'embedding':
      return embedding(p.get('weight'), inputs.ids);
    case 'norm':
      return params.type === 'layer'
        ? layerNorm(inputs.x, p.get('weight'), p.get('bias'), params.eps as number)
        : rmsNorm(inputs.x, p.get('weight'), params.eps as number);
    case 'mlp': {
      const act = params.activation === 'geglu' ? gelu : silu;
      const x = inputs.x;
      return linear(
        mul(act(linear(x, p.get('gate_proj.weight'))), linear(x, p.get('up_proj.weight'))),
        p.get('down_proj.weight'),
      );
    }
    case 'ffn': {
      const bias = (name: string) => (params.bias ? p.get(`${name}.bias`) : undefined);
      const hidden = FFN_ACTIVATIONS[params.activation as string](
        linear(inputs.x, p.get('up_proj.weight'), bias('up_proj')),
      );
      return linear(hidden, p.get('down_proj.weight'), bias('down_proj'));
    }
    case 'add':
      return add(inputs.a, inputs.b);
    case 'linear':
      return linear(inputs.x, p.get('weight'), params.bias ? p.get('bias') : undefined);
    case 'lm_head':
      return matmul(inputs.x, params.tied ? tiedEmbedding() : p.get('weight'), { transB: true });
    default:
      throw new Error(`no forward for node kind "${kind}"`);
  }
}

/** Built-in kinds that carry state from token to token; the compiler runs them like mixers. */
export function statefulBuiltin(kind: string, width: number, params: Record<string, ParamValue>): Mixer | undefined {
  if (kind !== 'position_embedding') return undefined;
  return positionEmbedding(width, params);
}

/**
 * Learned absolute positions (GPT-2's wpe): y = x + W[p] with p counting from the first token ever seen,
 * so a step, or a parallel chunk after a state, continues where the sequence stopped. The state is that
 * count, held as the length of an empty tensor [B, count, 0]: the CPU knows it without a readback (it
 * builds the position ids) and it costs no memory. Rows of a batch advance together.
 */
function positionEmbedding(width: number, params: Record<string, ParamValue>): Mixer {
  const maxPositions = params.max_positions as number;
  const seenOf = (p: ParamView, batch: number, state: MixerState | undefined): number => {
    const counter = state?.positions;
    if (!counter) return 0;
    if (counter.shape.length !== 3 || counter.shape[0] !== batch || counter.shape[2] !== 0)
      throw new RangeError(
        `position_embedding "${p.prefix}": state "positions" must have shape [${batch}, count, 0], got [${counter.shape}]`,
      );
    return counter.shape[1];
  };
  const embed = (p: ParamView, engine: Engine, batch: number, seen: number, T: number, shape: number[]) => {
    if (seen + T > maxPositions)
      throw new RangeError(
        `position_embedding "${p.prefix}": position ${seen + T - 1} is beyond max_positions ${maxPositions} (the table covers 0…${maxPositions - 1})`,
      );
    const ids = Int32Array.from({ length: batch * T }, (_, i) => seen + (i % T));
    return embedding(p.get('weight'), engine.fromArray(ids, shape, 'i32'));
  };
  const checkWidth = (p: ParamView, x: Tensor, rank: number) => {
    if (x.shape.length !== rank || x.shape[rank - 1] !== width)
      throw new RangeError(
        `position_embedding "${p.prefix}": input must be [${rank === 3 ? 'B, T, ' : 'B, '}${width}], got [${x.shape}]`,
      );
  };
  return {
    kind: 'position_embedding',
    params: () => builtinParamSpecs('position_embedding', params, width, width, 0, 0),
    forward(p, x, { initialState, returnState } = {}) {
      checkWidth(p, x, 3);
      const [B, T] = x.shape;
      const seen = seenOf(p, B, initialState);
      const y = add(x, embed(p, x.engine, B, seen, T, [B, T]));
      return returnState ? { y, state: { positions: x.engine.empty([B, seen + T, 0]) } } : { y };
    },
    step(p, x, state) {
      checkWidth(p, x, 2);
      const [B] = x.shape;
      const seen = seenOf(p, B, state);
      return {
        y: add(x, embed(p, x.engine, B, seen, 1, [B])),
        state: { positions: x.engine.empty([B, seen + 1, 0]) },
      };
    },
    initialState: (engine, batch) => ({ positions: engine.empty([batch, 0, 0]) }),
    stateSize: () => 0,
    flopsPerToken: () => 0,
  };
}
