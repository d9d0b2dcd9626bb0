// Training memory of one sweep run, estimated from the compiled model's figures before anything runs
// (WebGPU reports no device memory, so the budget is the sweep's memoryBudgetMB). Deliberately generous:
// a sweep refused up front costs a minute; one that dies at run 40 of 96 costs the evening.
//   parameters × 4 copies (weights, gradients, Adam's two moments)
//   + per token and module, a multiple of the width kept for backward (FLOATS_PER_WIDTH: a mixer's
//     projections, gates and convolution; an MLP's hidden layer; a norm's or residual's output) and the
//     logits with their softmax and gradient (3 × vocabulary)
//   + each mixer's state, kept once per chunk of CHUNK tokens (chunked scans store chunk boundaries),
//     or, for attention, its T × T score and probability matrices per head.

import type { CompiledModel } from '../../../gpu/graph/compile.js';

export const FLOATS_PER_WIDTH = { mixer: 40, mlp: 16, other: 4 } as const;
const CHUNK = 32;

export interface TrainMemoryEstimate {
  paramBytes: number;
  activationBytes: number;
  stateBytes: number;
  totalBytes: number;
}

export function estimateTrainMemory(model: CompiledModel, batch: number, seqLen: number): TrainMemoryEstimate {
  const paramBytes = 4 * 4 * model.totals.params;
  const vocab = model.graph.doc.model.vocab_size;
  let stateFloats = 0;
  for (const m of model.modules) {
    if (m.kind === 'mixer.attention') {
      const heads = headsOf(model, m.name);
      stateFloats += m.stateFloats * seqLen + 2 * heads * seqLen * seqLen;
    } else stateFloats += m.stateFloats * Math.ceil(seqLen / CHUNK);
  }
  const d = model.graph.doc.model.d_model;
  const perToken = model.modules.reduce(
    (n, m) =>
      n +
      d *
        (m.kind.startsWith('mixer.')
          ? FLOATS_PER_WIDTH.mixer
          : m.kind === 'mlp'
            ? FLOATS_PER_WIDTH.mlp
            : FLOATS_PER_WIDTH.other),
    0,
  );
  const activationBytes = 4 * batch * seqLen * (perToken + 3 * vocab);
  const stateBytes = 4 * batch * stateFloats;
  return { paramBytes, activationBytes, stateBytes, totalBytes: paramBytes + activationBytes + stateBytes };
}

/** Recurrent state bytes per sequence after `seqLen` tokens (an attention layer's KV cache grows with it). */
export function stateBytesAt(model: CompiledModel, seqLen: number): number {
  return 4 * model.modules.reduce((n, m) => n + m.stateFloats * (m.kind === 'mixer.attention' ? seqLen : 1), 0);
}

function headsOf(model: CompiledModel, moduleName: string): number {
  const nodeId = moduleName.split('.').pop();
  for (const block of model.graph.blocks.values())
    for (const node of block)
      if (node.node.id === nodeId && typeof node.params.num_heads === 'number') return node.params.num_heads;
  return 1;
}
