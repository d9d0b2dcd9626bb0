// Prefill + carried-state decoding equals one parallel forward over the whole sequence, for every bundled
// template whose graph validates (new families join as their mixers register), and the memory a sequence
// holds is read from the real state tensors: constant per token for recurrent layers, growing by one cache
// entry per token for attention.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { validateGraph } from '../../shared/graph/validate.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { mixerWidthCheck, nodeCatalogue } from '../../gpu/graph/catalogue.js';
import { createParams } from '../../gpu/nn/module.js';
import { rng } from '../../gpu/cpu/tensor.js';
import { DecodeSession } from '../../gpu/generate/session.js';
import type { SequenceMemory } from '../../gpu/generate/memory.js';
import { templateNames, templatePath } from '../../main/host/templates.js';
import { relativeError, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const catalogue = nodeCatalogue();
const load = (name: string) => parseGraph(readFileSync(templatePath(name)!, 'utf8'), `${name}.json`);
/** The template at the smallest width its layers accept (head sizes must divide d_model). */
const tiny = (name: string) => {
  for (const width of [32, 64]) {
    const doc = load(name);
    doc.model.d_model = width;
    if (validateGraph(doc, catalogue, mixerWidthCheck).errors.length === 0) return doc;
  }
  return load(name);
};
const validates = (name: string) => validateGraph(load(name), catalogue, mixerWidthCheck).errors.length === 0;
const ready = templateNames().filter(validates);
const pending = templateNames().filter((name) => !validates(name));

const B = 2;
const T = 8;
const PREFILL = 3;

describe('prefill + step decoding equals the parallel forward', () => {
  it('runs for every template that validates; the others are named', () => {
    expect(ready).toContain('short-conv');
    expect(ready.length + pending.length).toBe(templateNames().length);
    console.info(`generate parity: ${ready.length} templates (${ready.join(', ')}); not yet: ${pending.join(', ')}`);
  });

  for (const name of ready) {
    it(`${name}: prefill ${PREFILL} tokens, then ${T - PREFILL} steps match the parallel logits (B=${B}, tiny width); state per token constant or one cache entry`, async () => {
      const e = await engine();
      const doc = tiny(name);
      const model = compileGraph(doc);
      const V = doc.model.vocab_size;
      const params = createParams(e, model.specs, 7);
      const next = rng(101);
      const ids = Array.from({ length: B * T }, () => Math.floor(next() * V));
      const parallel = await e.noGrad(() => model.logits(params, e.fromArray(ids, [B, T], 'i32'))).read();

      const session = new DecodeSession(e, model, params, B);
      session.prefill([0, 1].map((b) => ids.slice(b * T, b * T + PREFILL)));
      const memories: SequenceMemory[] = [session.memory()];
      let worst = 0;
      for (let t = PREFILL; t < T; t++) {
        const logits = session.step([0, 1].map((b) => ids[b * T + t]));
        const data = await logits.read();
        logits.release();
        memories.push(session.memory());
        for (let b = 0; b < B; b++) {
          const expected = parallel.subarray((b * T + t) * V, (b * T + t + 1) * V);
          worst = Math.max(worst, relativeError(data.subarray(b * V, (b + 1) * V), expected));
        }
      }
      expect(worst).toBeLessThan(1e-4);

      // Memory, read from the state tensors: a recurrent layer holds the same bytes after every token (and
      // after the prefill); an attention layer's KV cache grows by its per-token size (the mixer contract's
      // stateSize for attention) with each token.
      const perTokenFloats = new Map(model.modules.map((m) => [m.name, m.stateFloats]));
      expect(memories[0].layers.length).toBe(session.layers.length);
      memories.forEach((m, i) => {
        expect(m.tokens).toBe(PREFILL + i);
        m.layers.forEach((layer, k) => {
          const info = session.layers[k];
          const first = memories[0].layers[k].stateBytes;
          expect(layer.stateBytes, `${layer.name} after ${m.tokens} tokens`).toBe(
            info.family === 'attention' ? 4 * perTokenFloats.get(layer.name)! * m.tokens : first,
          );
          expect(layer.stateBytes).toBeGreaterThan(0);
          expect(layer.kvCacheBytes).toBe(2 * 4 * info.width * m.tokens);
        });
      });
      const growth = memories[memories.length - 1].stateBytes - memories[0].stateBytes;
      const attention = session.layers.filter((l) => l.family === 'attention');
      if (attention.length === 0) expect(growth).toBe(0);
      else expect(growth).toBeGreaterThan(0);

      session.dispose();
      for (const p of params.values()) p.release();
    });
  }
});

describe('prefill + step decoding with a cross-layer input', () => {
  it("RWKV-7 with the value residual (3 layers): each step carries the first layer's v to the later ones within the token", async () => {
    const e = await engine();
    const doc = tiny('rwkv7');
    const block = doc.blocks!.block;
    const attn = block.nodes.find((n) => n.kind === 'mixer.rwkv7')!;
    attn.params = { ...attn.params, value_residual: 'on', v_low_rank_dim: 8 };
    doc.nodes.find((n) => n.kind === 'repeat')!.params!.count = 3;
    const model = compileGraph(doc);
    expect(model.specs.map((s) => s.name)).toContain('layers.2.attn.v_lora.lora.2.bias');
    const V = doc.model.vocab_size;
    const params = createParams(e, model.specs, 7);
    // Output projections start at zero; give them values so that every layer (and the residual) shows.
    const noise = rng(5);
    for (const [name, p] of params)
      if (name.endsWith('o_proj.weight'))
        e.write(
          p,
          Float32Array.from({ length: p.size }, () => noise() - 0.5),
        );
    const next = rng(102);
    const ids = Array.from({ length: B * T }, () => Math.floor(next() * V));
    const parallel = await e.noGrad(() => model.logits(params, e.fromArray(ids, [B, T], 'i32'))).read();
    const session = new DecodeSession(e, model, params, B);
    session.prefill([0, 1].map((b) => ids.slice(b * T, b * T + PREFILL)));
    let worst = 0;
    for (let t = PREFILL; t < T; t++) {
      const logits = session.step([0, 1].map((b) => ids[b * T + t]));
      const data = await logits.read();
      logits.release();
      for (let b = 0; b < B; b++)
        worst = Math.max(
          worst,
          relativeError(data.subarray(b * V, (b + 1) * V), parallel.subarray((b * T + t) * V, (b * T + t + 1) * V)),
        );
    }
    expect(worst).toBeLessThan(1e-4);
    session.dispose();
    for (const p of params.values()) p.release();
  });
});
