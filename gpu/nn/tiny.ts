// The tiny byte-level language model of the foundation: embedding → N × (optional short causal
// convolution, SwiGLU MLP), each pre-norm residual → RMSNorm → tied or untied head. It is the smallest
// model that exercises every engine layer (matmul, norms, gather/scatter, conv, loss, optimizer).

import type { Tensor } from '../tensor.js';
import { add, mul, silu } from '../ops/elementwise.js';
import { causalConv1d } from '../ops/conv1d.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { embedding } from '../ops/embedding.js';
import { linear, matmul } from '../ops/matmul.js';
import { rmsNorm } from '../ops/norm.js';
import { reshape } from '../ops/shape.js';
import { paramView, type ParamMap, type ParamSpec, type ParamView } from './module.js';

export interface TinyConfig {
  vocabSize: number;
  dModel: number;
  layers: number;
  /** SwiGLU hidden width. */
  mlpHidden: number;
  /** Kernel width of the short causal convolution in each block; 0 leaves it out (no context at all). */
  convKernel: number;
  tiedEmbeddings: boolean;
}

export const TINY_DEFAULTS: TinyConfig = {
  vocabSize: 256,
  dModel: 64,
  layers: 2,
  mlpHidden: 128,
  convKernel: 4,
  tiedEmbeddings: true,
};

export function validateTinyConfig(c: TinyConfig): void {
  for (const key of ['vocabSize', 'dModel', 'layers', 'mlpHidden'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1)
      throw new RangeError(`tiny model: ${key} must be a positive integer (got ${c[key]})`);
  }
  if (!Number.isInteger(c.convKernel) || c.convKernel < 0) {
    throw new RangeError(`tiny model: convKernel must be a non-negative integer (got ${c.convKernel})`);
  }
}

export function tinyParamSpecs(c: TinyConfig): ParamSpec[] {
  validateTinyConfig(c);
  const std = 0.02;
  // GPT-2's scaling of residual output projections keeps the residual stream's variance flat in depth.
  const residualStd = std / Math.sqrt(2 * c.layers);
  const specs: ParamSpec[] = [
    { name: 'embed_tokens.weight', shape: [c.vocabSize, c.dModel], init: { kind: 'normal', std } },
  ];
  for (let i = 0; i < c.layers; i++) {
    const p = `layers.${i}`;
    if (c.convKernel > 0) {
      const bound = 1 / Math.sqrt(c.convKernel);
      specs.push(
        { name: `${p}.conv_norm.weight`, shape: [c.dModel], init: { kind: 'constant', value: 1 }, noDecay: true },
        {
          name: `${p}.conv.weight`,
          shape: [c.dModel, c.convKernel],
          init: { kind: 'uniform', low: -bound, high: bound },
        },
      );
    }
    specs.push(
      { name: `${p}.mlp_norm.weight`, shape: [c.dModel], init: { kind: 'constant', value: 1 }, noDecay: true },
      { name: `${p}.mlp.gate_proj.weight`, shape: [c.mlpHidden, c.dModel], init: { kind: 'normal', std } },
      { name: `${p}.mlp.up_proj.weight`, shape: [c.mlpHidden, c.dModel], init: { kind: 'normal', std } },
      { name: `${p}.mlp.down_proj.weight`, shape: [c.dModel, c.mlpHidden], init: { kind: 'normal', std: residualStd } },
    );
  }
  specs.push({ name: 'norm.weight', shape: [c.dModel], init: { kind: 'constant', value: 1 }, noDecay: true });
  if (!c.tiedEmbeddings)
    specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.dModel], init: { kind: 'normal', std } });
  return specs;
}

/** SwiGLU: down(silu(gate(x)) ⊙ up(x)). */
export function swiglu(p: ParamView, x: Tensor): Tensor {
  return linear(
    mul(silu(linear(x, p.get('gate_proj.weight'))), linear(x, p.get('up_proj.weight'))),
    p.get('down_proj.weight'),
  );
}

/** ids: i32 [B, T] → logits [B, T, vocab]. */
export function tinyLogits(c: TinyConfig, params: ParamMap, ids: Tensor): Tensor {
  const root = paramView(params, '');
  let x = embedding(root.get('embed_tokens.weight'), ids);
  for (let i = 0; i < c.layers; i++) {
    const layer = paramView(params, `layers.${i}`);
    if (c.convKernel > 0) x = add(x, causalConv1d(rmsNorm(x, layer.get('conv_norm.weight')), layer.get('conv.weight')));
    x = add(x, swiglu(paramView(params, `layers.${i}.mlp`), rmsNorm(x, layer.get('mlp_norm.weight'))));
  }
  x = rmsNorm(x, root.get('norm.weight'));
  const head = c.tiedEmbeddings ? root.get('embed_tokens.weight') : root.get('lm_head.weight');
  return matmul(x, head, { transB: true });
}

/** Mean next-token cross-entropy; targets: i32 [B, T] (ignore index −100). */
export function tinyLoss(c: TinyConfig, params: ParamMap, ids: Tensor, targets: Tensor): Tensor {
  const logits = tinyLogits(c, params, ids);
  const [b, t] = ids.shape;
  return crossEntropy(reshape(logits, [b * t, c.vocabSize]), reshape(targets, [b * t]));
}
