// The decode suite: streaming generation through gpu/generate — a 64-token prompt prefilled with the
// parallel form, then greedy decoding with carried state (argmax on the GPU, the chosen ids fed back on the
// GPU, tokens read back with a lookahead of 4) — on the short-conv template (short causal conv + SwiGLU per
// block, tied byte-level head) at the handbook's small (d=256, 4 layers) and medium (d=512, 8 layers)
// configurations, batch 1 and 16. `ms` is one decode step (one token for each of the B rows), tokens/s counts
// all rows; prefill is not timed. A top-p sampling row shows the cost of reading the logits every token.
// `bench/torch/decode.py` runs the same model's step loop in PyTorch; rows share names.

import shortConvTemplate from '../../assets/templates/short-conv.json' with { type: 'json' };
import { rng } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { generate, type GenerateRequest } from '../../gpu/generate/generate.js';
import { DecodeSession } from '../../gpu/generate/session.js';
import { byteTokenizer } from '../../gpu/generate/tokenizer.js';
import { compileGraph, type CompiledModel } from '../../gpu/graph/compile.js';
import { createParams, type ParamMap } from '../../gpu/nn/module.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { BenchRow, BenchSuite } from '../suite.js';

interface DecodeConfig {
  dModel: number;
  layers: number;
}

const PROMPT = 64;
const CHECK_TOKENS = 8;

function shortConvModel(c: DecodeConfig): CompiledModel {
  const doc = parseGraph(JSON.stringify(shortConvTemplate), 'short-conv.json');
  doc.model.d_model = c.dModel;
  const repeat = doc.nodes.find((n) => n.kind === 'repeat')!;
  repeat.params = { ...repeat.params, count: c.layers };
  return compileGraph(doc);
}

/** Printable ASCII, so every prompt is valid byte-level text; fresh per row. */
function randomPrompts(batch: number, length: number, seed: number): string[] {
  const next = rng(seed);
  return Array.from({ length: batch }, () =>
    String.fromCharCode(...Array.from({ length }, () => 32 + Math.floor(next() * 95))),
  );
}

/** Prefill + steps against one parallel forward over the same tokens (the suite's correctness check). */
async function checkError(engine: Engine, model: CompiledModel, params: ParamMap, batch: number): Promise<number> {
  const V = model.graph.doc.model.vocab_size;
  const T = 2 * CHECK_TOKENS;
  const next = rng(99);
  const ids = Array.from({ length: batch * T }, () => Math.floor(next() * V));
  const parallel = await engine.noGrad(() => model.logits(params, engine.fromArray(ids, [batch, T], 'i32'))).read();
  const session = new DecodeSession(engine, model, params, batch);
  session.prefill(Array.from({ length: batch }, (_, b) => ids.slice(b * T, b * T + CHECK_TOKENS)));
  let diff = 0;
  let scale = 0;
  for (let t = CHECK_TOKENS; t < T; t++) {
    const logits = session.step(Array.from({ length: batch }, (_, b) => ids[b * T + t]));
    const data = await logits.read();
    logits.release();
    for (let b = 0; b < batch; b++)
      for (let v = 0; v < V; v++) {
        const expected = parallel[(b * T + t) * V + v];
        diff = Math.max(diff, Math.abs(data[b * V + v] - expected));
        scale = Math.max(scale, Math.abs(expected));
      }
  }
  session.dispose();
  return Number.isFinite(diff) ? diff / Math.max(scale, 1e-30) : Infinity;
}

/** Decode-only tokens/s as the generator measures it (from the first decode step to the last token). */
async function decodeRate(engine: Engine, model: CompiledModel, params: ParamMap, request: GenerateRequest) {
  for await (const event of generate(engine, model, params, byteTokenizer(), request))
    if (event.type === 'end') return event;
  throw new Error('decode bench: generation ended without an end event');
}

async function measure(
  engine: Engine,
  c: DecodeConfig,
  batch: number,
  tokens: number,
  repeats: number,
  sampling: GenerateRequest['sampling'] = { temperature: 0 },
  label = '',
): Promise<BenchRow> {
  const model = shortConvModel(c);
  const params = createParams(engine, model.specs, 1);
  const error = await checkError(engine, model, params, batch);
  if (!(error < 1e-3)) throw new Error(`decode bench: step logits differ from the parallel form (${error})`);
  const request = (seed: number): GenerateRequest => ({
    prompts: randomPrompts(batch, PROMPT, seed),
    maxTokens: tokens,
    sampling,
  });
  await decodeRate(engine, model, params, { ...request(0), maxTokens: 8 }); // warm-up: pipelines, pool
  engine.pool.resetPeak();
  const samples: number[] = [];
  let stateBytes = 0;
  for (let r = 0; r < repeats; r++) {
    const end = await decodeRate(engine, model, params, request(r + 1));
    samples.push((1000 * end.seconds) / (end.generatedTokens / batch));
    stateBytes = end.memory.stateBytes;
  }
  samples.sort((a, b) => a - b);
  const ms = samples[Math.floor(samples.length / 2)];
  const row: BenchRow = {
    suite: 'decode',
    name: `decode short-conv d=${c.dModel} L=${c.layers} B=${batch}${label}`,
    config: { dModel: c.dModel, layers: c.layers, batch, prompt: PROMPT, tokens, params: model.totals.params },
    ms,
    tokensPerSec: (batch * 1000) / ms,
    checkError: error,
    clock: `host, median of ${repeats} runs of ${tokens} tokens`,
    peakBytes: engine.pool.stats.peakBytesInUse,
    // What decoding must hold: the parameters and each sequence's recurrent state.
    minBytes: 4 * model.totals.params + batch * stateBytes,
    note: `state ${stateBytes} B/sequence`,
  };
  for (const p of params.values()) p.release();
  engine.pool.trim();
  return row;
}

export const decodeSuite: BenchSuite = {
  name: 'decode',
  async run(engine, { quick }) {
    if (quick) {
      const tiny = { dModel: 32, layers: 2 };
      return [await measure(engine, tiny, 1, 8, 1), await measure(engine, tiny, 4, 8, 1)];
    }
    const rows: BenchRow[] = [];
    for (const c of [
      { dModel: 256, layers: 4 },
      { dModel: 512, layers: 8 },
    ])
      for (const batch of [1, 16]) rows.push(await measure(engine, c, batch, 256, 5));
    rows.push(
      await measure(engine, { dModel: 256, layers: 4 }, 1, 256, 5, { temperature: 1, topP: 0.9, seed: 1 }, ' top-p'),
    );
    return rows;
  },
};

export default decodeSuite;
