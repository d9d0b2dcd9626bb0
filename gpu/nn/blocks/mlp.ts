// The gated MLPs of the Transformer and Griffin blocks: down(act(gate(x)) ⊙ up(x)), with
// act = silu (SwiGLU, Llama) or gelu (GeGLU, Griffin's MLP block). SwiGLU is the lead's `swiglu` from
// tiny.ts; the parameter names (gate_proj, up_proj, down_proj) are Llama's, as there.

import { gelu, mul } from '../../ops/elementwise.js';
import { linear } from '../../ops/matmul.js';
import type { Tensor } from '../../tensor.js';
import type { ParamSpec, ParamView } from '../module.js';
import { swiglu } from '../tiny.js';

export type GatedActivation = 'swiglu' | 'geglu';

/** 8/3·d rounded up to a multiple of 32: Llama's width for the parameter count of a 4·d MLP. */
export function defaultMlpHidden(dModel: number): number {
  return Math.ceil((8 * dModel) / 3 / 32) * 32;
}

/** `layers` scales the output projection's init by 1/√(2·layers) (GPT-2), keeping the residual flat in depth. */
export function gatedMlpSpecs(dModel: number, hidden: number, layers = 1): ParamSpec[] {
  const std = 0.02;
  return [
    { name: 'gate_proj.weight', shape: [hidden, dModel], init: { kind: 'normal', std } },
    { name: 'up_proj.weight', shape: [hidden, dModel], init: { kind: 'normal', std } },
    { name: 'down_proj.weight', shape: [dModel, hidden], init: { kind: 'normal', std: std / Math.sqrt(2 * layers) } },
  ];
}

export function gatedMlp(p: ParamView, x: Tensor, activation: GatedActivation): Tensor {
  if (activation === 'swiglu') return swiglu(p, x);
  const hidden = mul(gelu(linear(x, p.get('gate_proj.weight'))), linear(x, p.get('up_proj.weight')));
  return linear(hidden, p.get('down_proj.weight'));
}
