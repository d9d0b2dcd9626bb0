// The streaming decode loop on the GPU: seeded sampling, greedy on the GPU against top-k = 1 on the CPU,
// the pipelined greedy feed, batches of prompts of different lengths, stop sequences, the memory readout
// while tokens stream, and the refusals of bad input. Tiny random-weight models (d = 32).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { validateGraph } from '../../shared/graph/validate.js';
import { compileGraph, type CompiledModel } from '../../gpu/graph/compile.js';
import { mixerWidthCheck, nodeCatalogue } from '../../gpu/graph/catalogue.js';
import { createParams, type ParamMap } from '../../gpu/nn/module.js';
import type { Engine } from '../../gpu/engine.js';
import { generate, GenerateError, type GenerateRequest, type GenerationEvent } from '../../gpu/generate/generate.js';
import { DecodeSession } from '../../gpu/generate/session.js';
import { byteTokenizer } from '../../gpu/generate/tokenizer.js';
import { templatePath } from '../../main/host/templates.js';
import { relativeError, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const catalogue = nodeCatalogue();

function template(name: string, width = 32): GraphDoc {
  const doc = parseGraph(readFileSync(templatePath(name)!, 'utf8'), `${name}.json`);
  doc.model.d_model = width;
  return doc;
}

const validates = (doc: GraphDoc) => validateGraph(doc, catalogue, mixerWidthCheck).errors.length === 0;

interface Loaded {
  e: Engine;
  model: CompiledModel;
  params: ParamMap;
}

async function loadModel(doc: GraphDoc, seed = 3): Promise<Loaded> {
  const e = await engine();
  const model = compileGraph(doc);
  return { e, model, params: createParams(e, model.specs, seed) };
}

async function run(m: Loaded, request: GenerateRequest): Promise<GenerationEvent[]> {
  const events: GenerationEvent[] = [];
  const tokenizer = byteTokenizer(m.model.graph.doc.model.vocab_size); // as the CLI picks it for a byte-level run
  for await (const event of generate(m.e, m.model, m.params, tokenizer, request)) events.push(event);
  return events;
}

const tokensOf = (events: GenerationEvent[], row = 0) =>
  events.flatMap((e) => (e.type === 'token' && e.row === row ? [e.token] : []));
const doneOf = (events: GenerationEvent[], row = 0) =>
  events.find((e): e is Extract<GenerationEvent, { type: 'done' }> => e.type === 'done' && e.row === row)!;

describe('generate (streaming decode with carried state)', () => {
  it('the same seed gives the same tokens; different seeds differ; every event is well formed', async () => {
    const m = await loadModel(template('short-conv'));
    const request = { prompts: ['The lighthouse'], maxTokens: 12, sampling: { temperature: 1, seed: 42 } };
    const a = await run(m, request);
    const b = await run(m, request);
    const c = await run(m, { ...request, sampling: { temperature: 1, seed: 43 } });
    expect(tokensOf(a)).toHaveLength(12);
    expect(tokensOf(a)).toEqual(tokensOf(b));
    expect(tokensOf(a)).not.toEqual(tokensOf(c));
    const prefill = a.find((e) => e.type === 'prefill')!;
    expect(prefill).toMatchObject({ promptTokens: [14], prefillTokens: 13 });
    const done = doneOf(a);
    expect(done.reason).toBe('max-tokens');
    expect(done.tokens).toEqual(tokensOf(a));
    // The streamed pieces add up to the decoded continuation.
    const streamed = a.flatMap((e) => (e.type === 'token' ? [e.text] : [])).join('');
    expect(streamed).toBe(done.text);
    expect(done.text).toBe(byteTokenizer().decode(done.tokens));
    const end = a[a.length - 1];
    expect(end.type).toBe('end');
    if (end.type === 'end') {
      expect(end.generatedTokens).toBe(12);
      expect(end.tokensPerSecond).toBeGreaterThan(0);
    }
  });

  it('top-k = 1 sampled on the CPU equals greedy argmax on the GPU, pipelined or not', async () => {
    const m = await loadModel(template('short-conv'), 9);
    const prompts = ['Once upon a time'];
    const greedy = tokensOf(await run(m, { prompts, maxTokens: 16, sampling: { temperature: 0 } }));
    const waiting = tokensOf(await run(m, { prompts, maxTokens: 16, sampling: { temperature: 0 }, lookahead: 1 }));
    const topK = tokensOf(await run(m, { prompts, maxTokens: 16, sampling: { temperature: 1.3, topK: 1, seed: 5 } }));
    expect(greedy).toHaveLength(16);
    expect(waiting).toEqual(greedy);
    expect(topK).toEqual(greedy);
    // Not a constant: a random model's greedy continuation changes with the prompt.
    expect(tokensOf(await run(m, { prompts: ['zzz'], maxTokens: 16, sampling: { temperature: 0 } }))).not.toEqual(
      greedy,
    );
  });

  it('a batch of prompts of different lengths gives each prompt the tokens it gets alone', async () => {
    const m = await loadModel(template('short-conv'), 4);
    const prompts = ['ab', 'The keeper climbed', 'héllo!'];
    const sampling = { temperature: 0.8, topP: 0.9, seed: 8 };
    const batch = await run(m, { prompts, maxTokens: 6, sampling });
    expect(batch.find((e) => e.type === 'prefill')).toMatchObject({ promptTokens: [2, 18, 7], prefillTokens: 1 });
    for (let row = 0; row < prompts.length; row++) expect(tokensOf(batch, row)).toHaveLength(6);
    // Each row draws from its own stream seeded by (seed, row index): row 0 alone is row 0 in the batch.
    expect(tokensOf(batch, 0)).toEqual(tokensOf(await run(m, { prompts: [prompts[0]], maxTokens: 6, sampling })));
    const greedyBatch = await run(m, { prompts, maxTokens: 6, sampling: { temperature: 0 } });
    for (let row = 0; row < prompts.length; row++) {
      const alone = await run(m, { prompts: [prompts[row]], maxTokens: 6, sampling: { temperature: 0 } });
      expect(tokensOf(greedyBatch, row), `row ${row}`).toEqual(tokensOf(alone));
    }
  });

  it('a stop sequence ends the row before its first occurrence and is not streamed', async () => {
    const m = await loadModel(template('short-conv'), 6);
    const request = { prompts: ['abc'], maxTokens: 24, sampling: { temperature: 0.7, seed: 2 } };
    const free = doneOf(await run(m, request)).text;
    const stop = free.slice(5, 7);
    expect(stop.length).toBeGreaterThan(0);
    const stopped = await run(m, { ...request, stop: [stop] });
    const done = doneOf(stopped);
    expect(done.reason).toBe('stop');
    expect(done.text).toBe(free.slice(0, free.indexOf(stop)));
    expect(stopped.flatMap((e) => (e.type === 'token' ? [e.text] : [])).join('')).toBe(done.text);
  });

  it('memory per token: constant for a recurrent model, growing for attention (llama), as tokens stream', async () => {
    const memoryTrace = async (doc: GraphDoc) => {
      const events = await run(await loadModel(doc), { prompts: ['Hi'], maxTokens: 8, sampling: { temperature: 0 } });
      return events.flatMap((e) => (e.type === 'token' ? [e.memory] : []));
    };
    const recurrent = await memoryTrace(template('short-conv'));
    expect(recurrent.map((m) => m.tokens)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(recurrent.map((m) => m.stateBytes)).size).toBe(1);
    expect(recurrent[0].stateBytes).toBe(2 * 3 * 32 * 4); // 2 layers × (K − 1 = 3) × d
    expect(recurrent[7].kvCacheBytes).toBe(2 * 2 * 32 * 4 * 9); // 2 layers × (K and V) × d × tokens
    expect(validates(template('llama')), 'the attention template validates').toBe(true);
    const attention = await memoryTrace(template('llama'));
    const steps = attention.slice(1).map((m, i) => m.stateBytes - attention[i].stateBytes);
    expect(steps.every((d) => d === steps[0] && d > 0)).toBe(true);
    expect(steps[0]).toBe(2 * 2 * 32 * 4); // full MHA: K and V of d floats per token per layer
  });

  it('a prompt longer than a local-attention window is announced and decodes like the parallel form', async () => {
    const doc = template('griffin');
    const attn = doc.blocks!.block.nodes.find((n) => n.kind === 'mixer.attention')!;
    attn.params = { ...attn.params, window: 4 };
    const m = await loadModel(doc);
    const events = await run(m, { prompts: ['a lighthouse keeper'], maxTokens: 3, sampling: { temperature: 0 } });
    const warning = events.find((e) => e.type === 'warning');
    expect(warning && warning.type === 'warning' && warning.message).toMatch(
      /prompt of 19 tokens is longer than the 4-token window of local attention layer "layers\.\d+\.attn\w*"/,
    );
    expect(tokensOf(events)).toHaveLength(3);
    // The windowed layer's KV cache holds only the last 4 tokens: constant bytes while tokens stream, a
    // 4/tokens share of what the unwindowed cache (kvCacheBytes: K and V of the same width) would hold.
    const memories = events.flatMap((e) => (e.type === 'token' ? [e.memory] : []));
    expect(memories.map((mem) => mem.tokens)).toEqual([19, 20, 21]);
    const windowed = memories.map((mem) => mem.layers.find((l) => l.kind === 'attention')!);
    expect(new Set(windowed.map((l) => l.stateBytes)).size).toBe(1);
    windowed.forEach((l, i) => expect(l.stateBytes).toBe((l.kvCacheBytes * 4) / memories[i].tokens));
    // The documented behaviour: beyond the window, step decoding still equals the (windowed) parallel form.
    const ids = [...new TextEncoder().encode('a lighthouse')];
    const V = 256;
    const parallel = await m.e
      .noGrad(() => m.model.logits(m.params, m.e.fromArray(ids, [1, ids.length], 'i32')))
      .read();
    const session = new DecodeSession(m.e, m.model, m.params, 1);
    session.prefill([ids.slice(0, 2)]);
    for (let t = 2; t < ids.length; t++) {
      const logits = session.step([ids[t]]);
      const row = await logits.read();
      logits.release();
      expect(relativeError(row, parallel.subarray(t * V, (t + 1) * V)), `position ${t}`).toBeLessThan(1e-4);
    }
    session.dispose();
  });

  it('refuses bad input with a message naming it', async () => {
    const m = await loadModel(template('short-conv'));
    const refuse = (request: Partial<GenerateRequest>) =>
      run(m, { prompts: ['ok'], maxTokens: 2, ...request }).then(
        () => 'accepted',
        (error: Error) => error.message,
      );
    expect(await refuse({ prompts: [''] })).toMatch(/the prompt is empty: give at least one character/);
    expect(await refuse({ prompts: ['fine', ''] })).toMatch(/prompt 1 is empty/);
    expect(await refuse({ prompts: [] })).toMatch(/no prompts given/);
    expect(await refuse({ prompts: ['bad \ud800'] })).toMatch(/the prompt: character 4 is a lone UTF-16 surrogate/);
    expect(await refuse({ maxTokens: 0 })).toMatch(/maxTokens must be an integer ≥ 1 \(got 0\)/);
    expect(await refuse({ maxTokens: 2.5 })).toMatch(/maxTokens/);
    expect(await refuse({ sampling: { temperature: -0.5 } })).toMatch(/temperature must be a number ≥ 0/);
    expect(await refuse({ sampling: { topP: 2 } })).toMatch(/topP must be in \(0, 1\]/);
    expect(await refuse({ stop: [''] })).toMatch(/a stop sequence is empty/);
    expect(await refuse({ lookahead: 0 })).toMatch(/lookahead must be an integer ≥ 1/);

    // A model whose vocabulary is ASCII only cannot take "é".
    const ascii = template('short-conv');
    ascii.model.vocab_size = 128;
    const small = await loadModel(ascii);
    const error = await run(small, { prompts: ['café'], maxTokens: 2 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(GenerateError);
    expect((error as Error).message).toMatch(/character 3 "é" \(U\+00E9\) .* outside this model's vocabulary of 128/);
    // A tokenizer larger than the model is caught too.
    const wide = generate(small.e, small.model, small.params, byteTokenizer(256), { prompts: ['café'], maxTokens: 1 });
    await expect(wide.next()).rejects.toThrow(/the prompt: token 195 is outside the model's vocabulary of 128/);
    // …and only ever generates ids it has.
    const ok = await run(small, { prompts: ['cafe'], maxTokens: 20, sampling: { seed: 1 } });
    expect(tokensOf(ok).every((id) => id < 128)).toBe(true);
  });

  it('a diverged model (non-finite logits) stops with an error instead of emitting garbage', async () => {
    const m = await loadModel(template('short-conv'));
    m.e.write(m.params.get('norm.weight')!, new Array(32).fill(NaN));
    for (const sampling of [{ temperature: 0 }, { temperature: 1 }]) {
      const error = await run(m, { prompts: ['x'], maxTokens: 3, sampling }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(GenerateError);
      expect((error as Error).message).toMatch(/non-finite logits|logit \d+ is NaN/);
    }
  });
});
