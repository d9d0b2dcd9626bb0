// The built-in nodes in ONNX (embedding, norm, gated MLP, linear, LM head): each works on [..., width], so
// the same emitter serves the parallel graph ([B, T, d]) and the step graph ([B, d]) — as in
// gpu/graph/builtin-nodes.ts, whose math these reproduce.

import type { ParamValue } from '../../../shared/graph/schema.js';
import type { OnnxGraph } from './builder.js';
import { rmsNorm, type WeightOf } from './common.js';

export function emitBuiltin(
  g: OnnxGraph,
  kind: string,
  config: Record<string, ParamValue>,
  w: WeightOf,
  inputs: Record<string, string>,
  tiedEmbedding: () => string,
): string {
  switch (kind) {
    case 'embedding':
      return g.gather(w('weight'), inputs.ids, 0);
    case 'norm':
      return config.type === 'layer'
        ? g.one('LayerNormalization', [inputs.x, w('weight'), w('bias')], {
            axis: -1,
            epsilon: { f: config.eps as number },
          })
        : rmsNorm(g, inputs.x, w('weight'), config.eps as number);
    case 'mlp': {
      const gate = g.linear(inputs.x, w('gate_proj.weight'));
      const act = config.activation === 'geglu' ? g.gelu(gate) : g.silu(gate);
      return g.linear(g.mul(act, g.linear(inputs.x, w('up_proj.weight'))), w('down_proj.weight'));
    }
    case 'add':
      return g.add(inputs.a, inputs.b);
    case 'linear':
      return g.linear(inputs.x, w('weight'), config.bias ? w('bias') : undefined);
    case 'lm_head':
      return g.matmul(inputs.x, g.transposed(config.tied ? tiedEmbedding() : w('weight')));
    default:
      throw new Error(`ONNX export: no emitter for node kind "${kind}"`);
  }
}
