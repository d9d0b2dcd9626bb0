// The Griffin pattern (De et al., "Griffin: Mixing Gated Linear Recurrences with Local Attention";
// recurrentgemma's block_types (RECURRENT, RECURRENT, ATTENTION)): three pre-norm residual blocks — two
// with the RG-LRU recurrent block (the class-A "hawk" mixer), one with local multi-query attention —
// each followed by a GeGLU MLP. Composed through the mixer registry; the group is itself a `Mixer`.

import type { Engine } from '../../engine.js';
import type { Mixer, MixerState } from '../mixer.js';
import { nestSpecs, nestState, preNormBlock, subView, unnestState } from './transformer-block.js';

export interface GriffinConfig {
  /** Attention heads of the local-attention block (one shared kv head: multi-query, as in Griffin). */
  heads: number;
  /** Local attention window (2048 in RecurrentGemma). */
  window: number;
  /** RG-LRU width (0 = d_model) and its gate blocks. */
  lruWidth?: number;
  lruHeads?: number;
  mlpHidden?: number;
  normEps?: number;
  layers?: number;
}

export const GRIFFIN_PATTERN = ['recurrent', 'recurrent', 'attention'] as const;

export function griffinGroup(dModel: number, c: GriffinConfig): Mixer {
  const mlp = { activation: 'geglu' as const, hidden: c.mlpHidden };
  const blocks = GRIFFIN_PATTERN.map((type) =>
    type === 'recurrent'
      ? preNormBlock(dModel, {
          mixer: 'hawk',
          mixerOptions: { lru_width: c.lruWidth ?? 0, num_heads: c.lruHeads ?? 1 },
          mlp,
          normEps: c.normEps,
          layers: c.layers,
        })
      : preNormBlock(dModel, {
          mixer: 'attention',
          mixerOptions: { num_heads: c.heads, num_kv_heads: 1, window: c.window },
          mlp,
          normEps: c.normEps,
          layers: c.layers,
        }),
  );
  const name = (i: number) => `blocks.${i}`;
  return {
    kind: 'griffin',
    params: () => blocks.flatMap((b, i) => nestSpecs(name(i), b.params())),
    forward(p, x, { initialState, returnState } = {}) {
      let y = x;
      let state: MixerState = {};
      blocks.forEach((b, i) => {
        const out = b.forward(subView(p, name(i)), y, {
          initialState: unnestState(name(i), initialState),
          returnState,
        });
        y = out.y;
        state = { ...state, ...nestState(name(i), out.state) };
      });
      return returnState ? { y, state } : { y };
    },
    step(p, x, state) {
      let y = x;
      let next: MixerState = {};
      blocks.forEach((b, i) => {
        const out = b.step(subView(p, name(i)), y, unnestState(name(i), state) ?? {});
        y = out.y;
        next = { ...next, ...nestState(name(i), out.state) };
      });
      return { y, state: next };
    },
    initialState: (engine: Engine, batch: number) =>
      Object.assign({}, ...blocks.map((b, i) => nestState(name(i), b.initialState(engine, batch)))),
    stateSize: () => blocks.reduce((n, b) => n + b.stateSize(), 0),
    flopsPerToken: () => blocks.reduce((n, b) => n + b.flopsPerToken(), 0),
  };
}
