// The parallel form of a compiled model with the hooks the analyses need: every mixer can start from a
// given state (a long sequence streams through in chunks, each chunk's parallel forward continuing exactly
// where the previous one stopped — no recomputation from the start), and every mixer's input and output
// can be observed (implicit attention, rollout). The compiler's own `logits` takes these hooks; this class
// adds the mixer names in execution order (the keys of `ModelState`).

import type { CompiledModel, ForwardHooks } from '../graph/compile.js';
import { mixerLayers } from '../generate/memory.js';
import type { ParamMap } from '../nn/module.js';
import type { Tensor } from '../tensor.js';

export type ProbeHooks = ForwardHooks;

/** A compiled model's parallel form with hooks; build once per model, call per chunk. */
export class ProbeForward {
  /** Mixer instance names in execution order (the keys of `ModelState`). */
  readonly mixerNames: string[];

  constructor(readonly model: CompiledModel) {
    this.mixerNames = mixerLayers(model).map((l) => l.name);
  }

  /** ids: i32 [B, T] → logits [B, T, V]. */
  logits(params: ParamMap, ids: Tensor, hooks: ProbeHooks = {}): Tensor {
    return this.model.logits(params, ids, hooks);
  }
}
