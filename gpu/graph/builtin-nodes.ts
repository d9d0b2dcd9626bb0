// Parameters and forward functions of the built-in layer kinds (embedding, norm, gated MLP, linear, LM
// head). Each works on [..., width] so the same code serves the parallel form and one-token steps.

import type { ParamValue } from '../../shared/graph/schema.js';
import { add, gelu, mul, silu } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { linear, matmul } from '../ops/matmul.js';
import { layerNorm, rmsNorm } from '../ops/norm.js';
import type { Tensor } from '../tensor.js';
import type { ParamSpec, ParamView } from '../nn/module.js';

const STD = 0.02;

/** 8/3·d rounded up to a multiple of 32: Llama's SwiGLU width for the same parameter count as a 4·d MLP. */
export function mlpHiddenWidth(width: number, hidden: number): number {
  return hidden > 0 ? hidden : Math.ceil((8 * width) / 3 / 32) * 32;
}

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
