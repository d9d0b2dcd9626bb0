// Streaming generation: encode the prompts, prefill, then decode token by token with carried state, yielding
// each token as it is chosen with the throughput and the memory the sequence holds so far.
//
// Prompts of different lengths (a batch): all rows advance together, one position per step. The shortest
// prompt minus its last token is prefilled for every row in one parallel pass; from there each step feeds,
// per row, its next prompt token while it still has one (its logits are ignored) or its last sampled token.
// Every row's state therefore covers exactly its own tokens — no padding ever enters a recurrent state, and
// KV caches stay rectangular — at the price of running the longer prompts' tails through the step form.
// Rows that have finished keep being fed (the batch stays rectangular) but yield nothing.
//
// Readback, once per step and nothing else: for plain greedy decoding the argmax runs on the GPU and only the
// B chosen ids (and their logits, to catch a diverged model) come back; once every row is past its prompt the
// chosen ids feed the next step directly on the GPU, so up to `lookahead` steps are queued before the CPU
// waits for the first of them. Any other sampling reads the [B, V] logits once per token and samples on the
// CPU in float64: top-p needs a sort and the repetition penalty the history, and V·B floats per token are
// cheap next to a step (256·16·4 = 16 KiB for a byte model at batch 16); it also keeps the draws exactly
// reproducible from the seed.

import type { Engine } from '../engine.js';
import type { CompiledModel } from '../graph/compile.js';
import type { ParamMap } from '../nn/module.js';
import { max } from '../ops/reduce.js';
import { slice } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';
import type { SequenceMemory } from './memory.js';
import { isPlainGreedy, resolveSampling, rowRandom, sampleToken, type SamplingOptions } from './sampling.js';
import { DecodeSession } from './session.js';
import { StopMatcher } from './stop.js';
import { TokenizerError, type StreamDecoder, type Tokenizer } from './tokenizer.js';

export interface GenerateRequest {
  /** One prompt per batch row; each must encode to at least one token. */
  prompts: string[];
  /** New tokens per row (at most; a stop sequence ends a row earlier). */
  maxTokens: number;
  sampling?: Partial<SamplingOptions>;
  /** Generation of a row ends before the first occurrence of any of these (not included in the text). */
  stop?: string[];
  /** Greedy decoding: steps the GPU may run ahead of the CPU (default 4; 1 = wait for every token). */
  lookahead?: number;
}

export type FinishReason = 'max-tokens' | 'stop';

export type GenerationEvent =
  | { type: 'warning'; message: string }
  | { type: 'prefill'; promptTokens: number[]; prefillTokens: number; ms: number; memory: SequenceMemory }
  | {
      type: 'token';
      row: number;
      /** Position of this token among the row's generated tokens. */
      index: number;
      token: number;
      /** Text this token makes visible ('' inside a multi-byte character or a possible stop sequence). */
      text: string;
      /** Generated tokens of all rows per second of decoding so far. */
      tokensPerSecond: number;
      memory: SequenceMemory;
    }
  | { type: 'done'; row: number; reason: FinishReason; tokens: number[]; text: string }
  | { type: 'end'; generatedTokens: number; seconds: number; tokensPerSecond: number; memory: SequenceMemory };

export class GenerateError extends Error {
  override name = 'GenerateError';
}

interface Row {
  prompt: number[];
  /** Prompt and generated ids: the token fed at position p is context[p]. */
  context: number[];
  generated: number[];
  text: string;
  decoder: StreamDecoder;
  stop: StopMatcher;
  random: () => number;
  done: FinishReason | null;
}

type StepOutput = { ids: Int32Array; values: Float32Array } | { logits: Float32Array };

interface Pending {
  /** Position of the token fed by this step; its logits predict position + 1. */
  position: number;
  memory: SequenceMemory;
  output: Promise<StepOutput>;
}

function rate(tokens: number, since: number): number {
  const seconds = (performance.now() - since) / 1000;
  return seconds > 0 ? tokens / seconds : 0;
}

/** Checks and encodes the request; every refusal names the prompt or option. */
function prepare(model: CompiledModel, tokenizer: Tokenizer, request: GenerateRequest) {
  const sampling = resolveSampling(request.sampling);
  const { maxTokens, prompts } = request;
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new GenerateError(`maxTokens must be an integer ≥ 1 (got ${maxTokens})`);
  const lookahead = request.lookahead ?? 4;
  if (!Number.isInteger(lookahead) || lookahead < 1)
    throw new GenerateError(`lookahead must be an integer ≥ 1 (got ${lookahead})`);
  if (prompts.length === 0) throw new GenerateError('no prompts given');
  const stops = request.stop ?? [];
  if (stops.some((s) => s.length === 0)) throw new GenerateError('a stop sequence is empty (it would stop at once)');
  const vocab = model.graph.doc.model.vocab_size;
  const encoded = prompts.map((text, row) => {
    const where = prompts.length > 1 ? `prompt ${row}` : 'the prompt';
    // A byte-level model has no beginning-of-sequence token: there is nothing to condition the first token on.
    if (text.length === 0) throw new GenerateError(`${where} is empty: give at least one character to continue from`);
    let ids: number[];
    try {
      ids = tokenizer.encode(text);
    } catch (error) {
      if (error instanceof TokenizerError) throw new GenerateError(`${where}: ${error.message}`);
      throw error;
    }
    const outside = ids.find((id) => id >= vocab);
    if (outside !== undefined)
      throw new GenerateError(`${where}: token ${outside} is outside the model's vocabulary of ${vocab}`);
    return ids;
  });
  return { sampling, maxTokens, lookahead, encoded, stops, vocab };
}

/** Layers whose window is shorter than a prompt see only its end — documented behaviour, announced. */
function windowWarnings(session: DecodeSession, encoded: number[][]): string[] {
  const longest = Math.max(...encoded.map((ids) => ids.length));
  return session.layers
    .filter((layer) => layer.window > 0 && longest > layer.window)
    .map(
      (layer) =>
        `a prompt of ${longest} tokens is longer than the ${layer.window}-token window of local attention layer ` +
        `"${layer.name}": at each position that layer attends to the last ${layer.window} tokens only, as in ` +
        `training (recurrent layers still carry the whole prompt)`,
    );
}

export async function* generate(
  engine: Engine,
  model: CompiledModel,
  params: ParamMap,
  tokenizer: Tokenizer,
  request: GenerateRequest,
): AsyncGenerator<GenerationEvent, void, undefined> {
  const { sampling, maxTokens, lookahead, encoded, stops, vocab } = prepare(model, tokenizer, request);
  const batch = encoded.length;
  const sampleVocab = Math.min(vocab, tokenizer.vocabSize);
  const greedyOnGpu = isPlainGreedy(sampling);
  const rows: Row[] = encoded.map((prompt, row) => ({
    prompt,
    context: [...prompt],
    generated: [],
    text: '',
    decoder: tokenizer.streamDecoder(),
    stop: new StopMatcher(stops),
    random: rowRandom(sampling.seed, row),
    done: null,
  }));
  const lengths = encoded.map((ids) => ids.length);
  const shortest = Math.min(...lengths);
  const longest = Math.max(...lengths);
  // The last position fed: the longest prompt's last token, then maxTokens − 1 sampled ones.
  const lastPosition = longest + maxTokens - 2;

  const session = new DecodeSession(engine, model, params, batch);
  const pending: Pending[] = [];
  let gpuFeed = null as Tensor | null; // (a cast: TS cannot see the closure assign it)
  try {
    for (const message of windowWarnings(session, encoded)) yield { type: 'warning', message };

    const prefillStart = performance.now();
    session.prefill(encoded.map((ids) => ids.slice(0, shortest - 1)));
    await engine.sync();
    yield {
      type: 'prefill',
      promptTokens: lengths,
      prefillTokens: shortest - 1,
      ms: performance.now() - prefillStart,
      memory: session.memory(),
    };

    /** Records one step and its readback; the result arrives after the GPU finishes it. */
    const submit = (input: ArrayLike<number> | Tensor): void => {
      const position = session.tokens;
      const logits = session.step(input);
      let output: Promise<StepOutput>;
      const previousFeed = gpuFeed;
      gpuFeed = null;
      if (greedyOnGpu) {
        const { ids, values } = engine.tidy(() =>
          engine.noGrad(() => {
            const m = max(sampleVocab < vocab ? slice(logits, 1, 0, sampleVocab) : logits, 1);
            return { ids: m.indices, values: m.values };
          }),
        );
        output = Promise.all([engine.readLater(ids), engine.readLater(values)]).then(([i, v]) => ({
          ids: i as Int32Array,
          values: v as Float32Array,
        }));
        values.release();
        gpuFeed = ids;
      } else {
        const cut = sampleVocab < vocab ? engine.noGrad(() => slice(logits, 1, 0, sampleVocab)) : logits;
        output = engine.readLater(cut).then((data) => ({ logits: data as Float32Array }));
        if (cut !== logits) cut.release();
      }
      logits.release();
      previousFeed?.release();
      engine.flush(); // the GPU starts on this token while the CPU records the next or waits
      pending.push({ position, memory: session.memory(), output });
    };

    const decodeStart = performance.now();
    let generatedTotal = 0;
    let lastMemory = session.memory();
    const allDone = () => rows.every((r) => r.done);

    for (;;) {
      while (session.tokens <= lastPosition && !allDone() && pending.length < lookahead) {
        const position = session.tokens;
        if (pending.length === 0) {
          // Everything before `position` is known on the CPU: feed each row's prompt or sampled token.
          submit(rows.map((r) => r.context[Math.min(position, r.context.length - 1)]));
        } else if (gpuFeed && position >= longest) {
          submit(gpuFeed); // every row feeds its greedy choice, still on the GPU
        } else break;
      }
      const next = pending.shift();
      if (!next) break;
      const output = await next.output;
      if (allDone()) continue; // steps queued past the end: drained, not reported
      lastMemory = next.memory;
      for (let r = 0; r < batch; r++) {
        const row = rows[r];
        if (row.done || next.position + 1 < row.prompt.length) continue;
        let token: number;
        if ('ids' in output) {
          if (!Number.isFinite(output.values[r]))
            throw new GenerateError(`the model produced non-finite logits (row ${r}, position ${next.position})`);
          token = output.ids[r];
        } else {
          const logits = output.logits.subarray(r * sampleVocab, (r + 1) * sampleVocab);
          try {
            token = sampleToken(logits, row.context, sampling, row.random);
          } catch (error) {
            throw new GenerateError(`row ${r}, position ${next.position}: ${(error as Error).message}`);
          }
        }
        row.context.push(token);
        row.generated.push(token);
        generatedTotal++;
        const pushed = row.stop.push(row.decoder.push(token));
        let emit = pushed.emit;
        if (pushed.stopped) row.done = 'stop';
        else if (row.generated.length === maxTokens) {
          const tail = row.stop.push(row.decoder.flush());
          emit += tail.emit;
          if (tail.stopped) row.done = 'stop';
          else {
            emit += row.stop.flush();
            row.done = 'max-tokens';
          }
        }
        row.text += emit;
        yield {
          type: 'token',
          row: r,
          index: row.generated.length - 1,
          token,
          text: emit,
          tokensPerSecond: rate(generatedTotal, decodeStart),
          memory: next.memory,
        };
        if (row.done) yield { type: 'done', row: r, reason: row.done, tokens: [...row.generated], text: row.text };
      }
    }
    yield {
      type: 'end',
      generatedTokens: generatedTotal,
      seconds: (performance.now() - decodeStart) / 1000,
      tokensPerSecond: rate(generatedTotal, decodeStart),
      memory: lastMemory,
    };
  } finally {
    // Reads still in flight (an early return, an error) must settle before their buffers go back.
    await Promise.allSettled(pending.map((p) => p.output));
    gpuFeed?.release();
    session.dispose();
  }
}
