// Training memory of one sweep run, estimated from the compiled model's figures before anything runs
// (WebGPU reports no device memory, so the budget is the sweep's memoryBudgetMB). Deliberately generous:
// a sweep refused up front costs a minute; one that dies at run 40 of 96 costs the evening.
//   parameters × 4 copies (weights, gradients, Adam's two moments)
//   + per token and module, what is kept for backward: for a mixer, its FLOPs per token / 12 floats (or
//     24 × width, if more) — measured on the pool's peak, a chunked scan keeps about one float per 16
//     FLOPs (Mamba-2 and RWKV-7 at d 64 keep ~9 000 floats a token, 2.5× GLA's, which a multiple of the
//     width missed); for an MLP 16 × width (its hidden layer); for norms and residuals 4 × width; and the
//     logits with their softmax and gradient (3 × vocabulary)
//   + each mixer's state, kept once per chunk of CHUNK tokens (chunked scans store chunk boundaries),
//     or, for attention, its T × T score and probability matrices per head.

import type { CompiledModel } from '../../../gpu/graph/compile.js';

export const FLOATS_PER_WIDTH = { mixer: 24, mlp: 16, other: 4 } as const;
export const MIXER_FLOPS_PER_FLOAT = 12;
const CHUNK = 32;
const POOL_ROUNDING = 1.25;
const ENGINE_FIXED_BYTES = 2 * 2 ** 20;

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
  const perToken = model.modules.reduce((n, m) => {
    if (m.kind.startsWith('mixer.'))
      return n + Math.max(FLOATS_PER_WIDTH.mixer * d, m.flopsPerToken / MIXER_FLOPS_PER_FLOAT);
    return n + d * (m.kind === 'mlp' ? FLOATS_PER_WIDTH.mlp : FLOATS_PER_WIDTH.other);
  }, 0);
  const activationBytes = 4 * batch * seqLen * (perToken + 3 * vocab);
  const stateBytes = 4 * batch * stateFloats;
  // The buffer pool hands out size classes up to 25 % larger than asked, and the engine keeps a 1 MiB
  // uniform arena and staging buffers beside the tensors.
  const totalBytes = POOL_ROUNDING * (paramBytes + activationBytes + stateBytes) + ENGINE_FIXED_BYTES;
  return { paramBytes, activationBytes, stateBytes, totalBytes };
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
