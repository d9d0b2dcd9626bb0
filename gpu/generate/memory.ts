// The memory a sequence holds while it is generated, per mixer layer: the bytes of its actual state tensors
// (constant for recurrent layers, growing with the KV cache for attention), next to what a standard
// multi-head attention layer of the same width would hold in its KV cache for the same number of tokens —
// the comparison that shows a recurrent model's promise of constant memory per token.

import type { CompiledModel, ModelState } from '../graph/compile.js';
import { MIXER_PREFIX } from '../graph/catalogue.js';
import { mixerFactory, type MixerFactory } from '../nn/mixer.js';
import type { ResolvedNode } from '../../shared/graph/validate.js';

export interface MixerLayer {
  /** The instance name the compiler gives the mixer (its parameter prefix and state key). */
  name: string;
  kind: string;
  family: MixerFactory['family'];
  /** Width of the mixer's input (d_model at that point of the graph). */
  width: number;
  /** Sliding window of an attention layer in tokens (0 = none). */
  window: number;
}

export interface LayerMemory {
  name: string;
  kind: string;
  /** Bytes of this layer's state tensors for one sequence. */
  stateBytes: number;
  /** K and V of a full multi-head attention layer of the same width, f32, for the same tokens. */
  kvCacheBytes: number;
}

export interface SequenceMemory {
  /** Tokens the state has absorbed (prompt and generated so far). */
  tokens: number;
  layers: LayerMemory[];
  stateBytes: number;
  kvCacheBytes: number;
}

/**
 * Every mixer instance in execution order. Names follow the compiler's scheme (`<node>` at the top level,
 * `<repeat>.<i>.<block node>` inside repeats); each is checked against the compiled model's modules so a
 * change of that scheme fails loudly here instead of mislabelling the readout.
 */
export function mixerLayers(model: CompiledModel): MixerLayer[] {
  const layers: MixerLayer[] = [];
  const add = (node: ResolvedNode, name: string) => {
    if (!node.spec.kind.startsWith(MIXER_PREFIX)) return;
    const kind = node.spec.kind.slice(MIXER_PREFIX.length);
    const window = typeof node.params.window === 'number' ? node.params.window : 0;
    layers.push({ name, kind, family: mixerFactory(kind).family, width: node.inWidth, window });
  };
  for (const node of model.graph.order) {
    if (node.spec.kind !== 'repeat') add(node, node.node.id);
    else {
      const block = model.graph.blocks.get(String(node.params.block))!;
      for (let i = 0; i < (node.params.count as number); i++)
        for (const inner of block) add(inner, `${node.node.id}.${i}.${inner.node.id}`);
    }
  }
  const known = new Set(model.modules.map((m) => m.name));
  for (const layer of layers)
    if (!known.has(layer.name))
      throw new Error(`generate: mixer "${layer.name}" is not a module of the compiled model`);
  return layers;
}

/** Reads sizes from the state tensors themselves (never from formulas), divided by the batch. */
export function sequenceMemory(layers: MixerLayer[], state: ModelState, batch: number, tokens: number): SequenceMemory {
  const rows = layers.map((layer) => {
    const tensors = Object.values(state.get(layer.name) ?? {});
    const bytes = tensors.reduce((n, t) => n + t.byteLength, 0);
    return {
      name: layer.name,
      kind: layer.kind,
      stateBytes: bytes / batch,
      kvCacheBytes: 2 * layer.width * 4 * tokens,
    };
  });
  return {
    tokens,
    layers: rows,
    stateBytes: rows.reduce((n, r) => n + r.stateBytes, 0),
    kvCacheBytes: rows.reduce((n, r) => n + r.kvCacheBytes, 0),
  };
}
