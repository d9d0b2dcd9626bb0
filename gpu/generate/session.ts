// One batch of sequences being decoded: the parallel form absorbs a prompt (prefill) and hands every
// mixer's final state to the one-token step form, which then carries it token by token. The session owns
// the state tensors (GPU memory the garbage collector cannot see) and releases each one as soon as a step
// has replaced it. It reuses the compiler's `logits`/`step`; nothing here knows any mixer family.

import type { Engine } from '../engine.js';
import type { CompiledModel, ModelState } from '../graph/compile.js';
import type { MixerState } from '../nn/mixer.js';
import type { ParamMap } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { mixerLayers, sequenceMemory, type MixerLayer, type SequenceMemory } from './memory.js';

// tidy() only follows arrays and plain objects, so state crosses a tidy boundary as a record.
const toRecord = (state: ModelState): Record<string, MixerState> => Object.fromEntries(state);
const toMap = (record: Record<string, MixerState>): ModelState => new Map(Object.entries(record));

export class DecodeSession {
  readonly layers: MixerLayer[];
  readonly vocabSize: number;
  /** Tokens every row has absorbed so far (rows advance together). */
  tokens = 0;
  private state: ModelState | null = null;

  constructor(
    readonly engine: Engine,
    readonly model: CompiledModel,
    readonly params: ParamMap,
    readonly batch: number,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`generate: batch must be ≥ 1 (got ${batch})`);
    this.layers = mixerLayers(model);
    this.vocabSize = model.graph.doc.model.vocab_size;
  }

  /** Parallel form over `rows` (equal lengths, possibly 0) from an empty state; keeps the final states. */
  prefill(rows: readonly (readonly number[])[]): void {
    if (this.state) throw new Error('generate: prefill must come first');
    if (rows.length !== this.batch)
      throw new RangeError(`generate: ${rows.length} prompt rows for batch ${this.batch}`);
    const length = rows[0].length;
    if (rows.some((r) => r.length !== length)) throw new RangeError('generate: prefill rows must have equal lengths');
    const ids = rows.flat();
    this.checkIds(ids);
    const { engine, model, params, batch } = this;
    const state = engine.tidy(() =>
      engine.noGrad(() => {
        if (length === 0) return toRecord(model.initialState(engine, batch));
        const states: ModelState = new Map();
        model.logits(params, engine.fromArray(ids, [batch, length], 'i32'), states);
        // A mixer that could not return its state would make every later token silently wrong.
        for (const layer of this.layers)
          if (!states.has(layer.name))
            throw new Error(`generate: mixer "${layer.name}" returned no state from prefill`);
        return toRecord(states);
      }),
    );
    this.state = toMap(state);
    this.tokens = length;
  }

  /**
   * Feeds one token per row — ids from the CPU, or an i32 [B] tensor already on the GPU (a sampled token
   * that never left it) — and returns logits [B, V], which the caller owns and releases.
   */
  step(ids: ArrayLike<number> | Tensor): Tensor {
    if (!this.state) throw new Error('generate: step before prefill');
    const previous = this.state;
    const { engine, model, params, batch } = this;
    if (ids instanceof Tensor) {
      if (ids.dtype !== 'i32' || ids.shape.join() !== String(batch))
        throw new TypeError(`generate: step ids must be i32 [${batch}], got ${ids.describe()}`);
    } else {
      if (ids.length !== batch) throw new RangeError(`generate: ${ids.length} ids for batch ${batch}`);
      this.checkIds(Array.from(ids));
    }
    const out = engine.tidy(() =>
      engine.noGrad(() => {
        const input = ids instanceof Tensor ? ids : engine.fromArray(ids, [batch], 'i32');
        const { logits, state } = model.step(params, input, previous);
        return { logits, state: toRecord(state) };
      }),
    );
    this.state = toMap(out.state);
    this.releaseReplaced(previous);
    this.tokens++;
    return out.logits;
  }

  memory(): SequenceMemory {
    return sequenceMemory(this.layers, this.state ?? new Map(), this.batch, this.tokens);
  }

  dispose(): void {
    if (this.state) for (const s of this.state.values()) for (const t of Object.values(s)) t.release();
    this.state = null;
  }

  private releaseReplaced(previous: ModelState): void {
    const alive = new Set<Tensor>();
    for (const s of this.state!.values()) for (const t of Object.values(s)) alive.add(t);
    for (const s of previous.values()) for (const t of Object.values(s)) if (!alive.has(t)) t.release();
  }

  private checkIds(ids: readonly number[]): void {
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= this.vocabSize);
    if (bad !== undefined)
      throw new RangeError(`generate: token id ${bad} is outside the vocabulary [0, ${this.vocabSize})`);
  }
}
