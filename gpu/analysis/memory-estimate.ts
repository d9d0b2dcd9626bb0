// How much GPU memory a streamed evaluation will need, measured rather than guessed: two short probe
// chunks run through the real model, and the buffer pool's high-water mark and the returned states'
// sizes give the bytes per chunk token and the state's growth per token (zero for a recurrent layer, the
// KV cache for attention). A request that would not fit is refused before it starts, with the estimate.
// WebGPU does not report a device's memory, so the budget is the caller's (the CLI's --memory-budget).

import type { Engine } from '../engine.js';
import type { ModelState } from '../graph/compile.js';
import type { ParamMap } from '../nn/module.js';
import { reshape } from '../ops/shape.js';
import type { ProbeForward } from './probe-forward.js';
import { tokenScores } from './token-scores.js';

export interface StreamMemoryEstimate {
  batch: number;
  chunk: number;
  length: number;
  paramBytes: number;
  /** Every mixer's state for the batch after `length` tokens (KV caches grow; recurrent states do not). */
  stateBytes: number;
  /** Activations of one chunk's forward, scores included. */
  chunkBytes: number;
  /** The largest single tensor, the chunk's logits [batch·chunk, V]. */
  logitsBytes: number;
  /** params + two states (old and new coexist at a chunk boundary) + one chunk. */
  totalBytes: number;
}

export class MemoryBudgetError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'MemoryBudgetError';
  }
}

const PROBE_TOKENS = [8, 16] as const;

export async function estimateStreamMemory(
  engine: Engine,
  probe: ProbeForward,
  params: ParamMap,
  shape: { batch: number; chunk: number; length: number },
): Promise<StreamMemoryEstimate> {
  const { batch, chunk, length } = shape;
  const vocab = probe.model.graph.doc.model.vocab_size;
  let paramBytes = 0;
  for (const p of params.values()) paramBytes += p.byteLength;
  const measure = async (tokens: number) => {
    await engine.sync();
    const before = engine.pool.stats.bytesInUse;
    engine.pool.resetPeak();
    const stateBytes = engine.tidy(() =>
      engine.noGrad(() => {
        const final: ModelState = new Map();
        const ids = engine.fromArray(new Int32Array(batch * tokens), [batch, tokens], 'i32');
        const logits = probe.logits(params, ids, { final });
        tokenScores(
          reshape(logits, [batch * tokens, vocab]),
          engine.fromArray(new Int32Array(batch * tokens), [batch * tokens], 'i32'),
        );
        let bytes = 0;
        for (const s of final.values()) for (const t of Object.values(s)) bytes += t.byteLength;
        return bytes;
      }),
    );
    await engine.sync();
    return { peak: engine.pool.stats.peakBytesInUse - before, stateBytes };
  };
  const [a, b] = [await measure(PROBE_TOKENS[0]), await measure(PROBE_TOKENS[1])];
  const span = PROBE_TOKENS[1] - PROBE_TOKENS[0];
  const stateGrowth = Math.max(0, (b.stateBytes - a.stateBytes) / span);
  const stateFixed = Math.max(0, b.stateBytes - stateGrowth * PROBE_TOKENS[1]);
  const activationPerToken = Math.max(0, (b.peak - a.peak) / span, b.peak / PROBE_TOKENS[1] / 4);
  const activationFixed = Math.max(0, b.peak - activationPerToken * PROBE_TOKENS[1]);
  const stateBytes = stateFixed + stateGrowth * length;
  const chunkBytes = activationFixed + activationPerToken * chunk + stateGrowth * chunk;
  return {
    batch,
    chunk,
    length,
    paramBytes,
    stateBytes,
    chunkBytes,
    logitsBytes: batch * chunk * vocab * 4,
    totalBytes: paramBytes + 2 * stateBytes + chunkBytes,
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Throws a MemoryBudgetError naming the estimate's parts when it exceeds the budget or a device limit. */
export function checkStreamBudget(
  engine: Engine,
  estimate: StreamMemoryEstimate,
  budgetBytes: number,
  what: string,
): void {
  const { batch, chunk, length } = estimate;
  const parts =
    `params ${mib(estimate.paramBytes)}, state at ${length} tokens ${mib(estimate.stateBytes)} (twice, at chunk ` +
    `boundaries), one chunk of ${chunk} tokens ${mib(estimate.chunkBytes)}`;
  if (estimate.totalBytes > budgetBytes)
    throw new MemoryBudgetError(
      `${what}: ${length} tokens × batch ${batch} needs an estimated ${mib(estimate.totalBytes)} of GPU memory ` +
        `(${parts}), over the budget of ${mib(budgetBytes)}; use a shorter length, a smaller batch or chunk, or a larger budget`,
    );
  const maxBinding = engine.ctx.limits.maxStorageBufferBindingSize;
  if (estimate.logitsBytes > maxBinding)
    throw new MemoryBudgetError(
      `${what}: one chunk's logits (batch ${batch} × ${chunk} tokens × vocabulary) need ${mib(estimate.logitsBytes)}, ` +
        `over this device's largest buffer binding of ${mib(maxBinding)}; use a smaller chunk or batch`,
    );
}
