// Streaming evaluation: a batch of long sequences goes through the model chunk by chunk, each chunk in
// the parallel form starting from the exact recurrent state the previous chunk ended with (attention
// layers carry their KV cache the same way). Nothing is recomputed from the start, so the cost is linear
// in the length and the memory is that of one chunk plus the state. Per token only (nll, argmax, scored)
// comes back; optionally every mixer's state after each chunk, for the state statistics.

import type { Engine } from '../engine.js';
import type { ModelState } from '../graph/compile.js';
import type { MixerState } from '../nn/mixer.js';
import type { ParamMap } from '../nn/module.js';
import { reshape } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';
import type { ProbeForward } from './probe-forward.js';
import { tokenScores } from './token-scores.js';

/** A state tensor read back to the CPU. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export type HostState = Map<string, Record<string, HostTensor>>;

export interface StreamRequest {
  /** Token ids, row-major [batch, length]. */
  inputs: Int32Array;
  /** Next-token targets [batch, length]; −100 where not scored. */
  targets: Int32Array;
  batch: number;
  length: number;
  /** Tokens per parallel forward (the last chunk may be shorter). */
  chunk: number;
  /** Receives every mixer's state after each chunk, in order; `end` is the number of tokens absorbed. */
  onState?: (end: number, state: HostState) => void;
  /** Receives every mixer's input [batch, chunk, d] of each chunk, in order (decay statistics). */
  onMixerInput?: (name: string, start: number, x: HostTensor) => void;
}

/** Per token [batch, length, 3] of (nll, argmax, scored); see `SCORE`. */
export async function streamScores(
  engine: Engine,
  probe: ProbeForward,
  params: ParamMap,
  request: StreamRequest,
): Promise<Float32Array> {
  const { inputs, targets, batch: B, length: L, chunk } = request;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`stream: chunk ${chunk} must be a positive integer`);
  if (inputs.length !== B * L || targets.length !== B * L)
    throw new RangeError(`stream: ${inputs.length} inputs and ${targets.length} targets for [${B}, ${L}]`);
  const vocab = probe.model.graph.doc.model.vocab_size;
  const bad = inputs.findIndex((id) => id < 0 || id >= vocab);
  if (bad >= 0)
    throw new RangeError(`stream: token id ${inputs[bad]} at ${bad} is outside the vocabulary [0, ${vocab})`);

  const scores = new Float32Array(B * L * 3);
  const pending: Promise<void>[] = [];
  // States are delivered strictly in chunk order: each delivery waits for the one before it.
  let delivered: Promise<void> = Promise.resolve();
  let state: ModelState | undefined;
  try {
    for (let start = 0; start < L; start += chunk) {
      const C = Math.min(chunk, L - start);
      const ids = new Int32Array(B * C);
      const tgt = new Int32Array(B * C);
      for (let b = 0; b < B; b++) {
        ids.set(inputs.subarray(b * L + start, b * L + start + C), b * C);
        tgt.set(targets.subarray(b * L + start, b * L + start + C), b * C);
      }
      const previous = state;
      const out = engine.tidy(() =>
        engine.noGrad(() => {
          const final: ModelState = new Map();
          const onMixer = request.onMixerInput
            ? (name: string, x: Tensor) => {
                const read = engine.readLater(x);
                const shape = [...x.shape];
                delivered = delivered.then(async () =>
                  request.onMixerInput!(name, start, { shape, data: Float32Array.from(await read) }),
                );
              }
            : undefined;
          const logits = probe.logits(params, engine.fromArray(ids, [B, C], 'i32'), {
            initial: previous,
            final,
            onMixer,
          });
          const s = tokenScores(reshape(logits, [B * C, vocab]), engine.fromArray(tgt, [B * C], 'i32'));
          return { s, final: Object.fromEntries(final) as Record<string, MixerState> };
        }),
      );
      state = new Map(Object.entries(out.final));
      if (previous) releaseReplaced(previous, state);
      pending.push(
        engine.readLater(out.s).then((data) => {
          for (let b = 0; b < B; b++) scores.set(data.subarray(b * C * 3, (b + 1) * C * 3), (b * L + start) * 3);
        }),
      );
      out.s.release();
      if (request.onState) {
        const read = readState(engine, state);
        const end = start + C;
        delivered = delivered.then(async () => request.onState!(end, await read));
      }
      engine.flush();
    }
    await Promise.all([...pending, delivered]);
  } finally {
    if (state) for (const s of state.values()) for (const t of Object.values(s)) t.release();
  }
  return scores;
}

/** Records copies of every state tensor now; resolves once the GPU has produced them. */
async function readState(engine: Engine, state: ModelState): Promise<HostState> {
  const reads: Promise<[string, string, HostTensor]>[] = [];
  for (const [name, entries] of state)
    for (const [entry, t] of Object.entries(entries))
      reads.push(
        engine.readLater(t).then((data) => [name, entry, { shape: [...t.shape], data: Float32Array.from(data) }]),
      );
  const host: HostState = new Map();
  for (const [name, entry, tensor] of await Promise.all(reads)) {
    const record = host.get(name) ?? {};
    record[entry] = tensor;
    host.set(name, record);
  }
  return host;
}

function releaseReplaced(previous: ModelState, next: ModelState): void {
  const alive = new Set<Tensor>();
  for (const s of next.values()) for (const t of Object.values(s)) alive.add(t);
  for (const s of previous.values()) for (const t of Object.values(s)) if (!alive.has(t)) t.release();
}
