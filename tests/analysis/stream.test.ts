// Streaming evaluation: the per-token scoring kernel against its float64 reference, the probe forward
// against the compiler's own parallel form, and the central property of every long-context analysis —
// streaming a sequence chunk by chunk with the carried state gives the same per-token loss as one
// parallel forward over the whole sequence (chunk sizes that do not divide the length, every family).

import { describe, expect, it } from 'vitest';
import { cpuTensor, randn } from '../../gpu/cpu/tensor.js';
import { ProbeForward } from '../../gpu/analysis/probe-forward.js';
import { streamScores } from '../../gpu/analysis/stream.js';
import { SCORE, tokenScores } from '../../gpu/analysis/token-scores.js';
import { tokenScoresRef } from '../../gpu/analysis/token-scores.ref.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { load, parallelScores, randomIds, template } from './helpers.js';

const engine = useEngine();

describe('token scores', () => {
  it('nll, first arg-max and scored flag match the float64 reference (ties, ignored rows, wide rows)', async () => {
    const e = await engine();
    for (const [rows, vocab] of [
      [37, 11],
      [5, 300],
    ] as const) {
      const logits = randn([rows, vocab], 7 + vocab, 3);
      for (let k = 0; k < vocab; k += 3) logits.data[2 * vocab + k] = 50; // a tie in row 2: first index wins
      const targets = Array.from({ length: rows }, (_, i) => (i % 4 === 1 ? -100 : (i * 7) % vocab));
      const out = e.tidy(() =>
        tokenScores(e.fromArray(logits.data, [rows, vocab]), e.fromArray(targets, [rows], 'i32')),
      );
      const got = await out.read();
      out.release();
      const want = tokenScoresRef(cpuTensor(logits.shape, logits.data), targets);
      const nll = (d: ArrayLike<number>) => Array.from({ length: rows }, (_, i) => d[3 * i + SCORE.NLL]);
      expect(relativeError(nll(got), nll(want.data))).toBeLessThan(1e-5);
      for (let i = 0; i < rows; i++) {
        expect(got[3 * i + SCORE.ARGMAX]).toBe(want.data[3 * i + SCORE.ARGMAX]);
        expect(got[3 * i + SCORE.SCORED]).toBe(want.data[3 * i + SCORE.SCORED]);
      }
      expect(got[3 * 2 + SCORE.ARGMAX]).toBe(0);
    }
  });
});

describe('streamed evaluation', () => {
  it("the probe forward equals the compiled model's parallel form", async () => {
    const e = await engine();
    const m = load(e, template('mamba'));
    const probe = new ProbeForward(m.model);
    const ids = randomIds(2 * 9, 256, 4);
    const [a, b] = e.tidy(() =>
      e.noGrad(() => {
        const x = e.fromArray(ids, [2, 9], 'i32');
        return [m.model.logits(m.params, x), probe.logits(m.params, x)];
      }),
    );
    expect(relativeError(await b.read(), await a.read())).toBe(0);
  });

  // Each template carries a different kind of state across chunks: SSM + conv history, matrix state,
  // delta-rule state + short convs, a growing KV cache with rotary positions, LSTM (h, c), RG-LRU + conv.
  for (const name of ['mamba', 'gla', 'deltanet', 'llama', 'lstm', 'hawk']) {
    it(`${name}: per-token loss streamed in chunks of 7 equals one parallel forward over 30 tokens`, async () => {
      const e = await engine();
      const m = load(e, template(name));
      const [B, L] = [2, 30];
      const ids = randomIds(B * (L + 1), 256, 11);
      const inputs = new Int32Array(B * L);
      const targets = new Int32Array(B * L);
      for (let b = 0; b < B; b++) {
        inputs.set(ids.subarray(b * (L + 1), b * (L + 1) + L), b * L);
        targets.set(ids.subarray(b * (L + 1) + 1, (b + 1) * (L + 1)), b * L);
      }
      targets[5] = -100;
      const streamed = await streamScores(e, new ProbeForward(m.model), m.params, {
        inputs,
        targets,
        batch: B,
        length: L,
        chunk: 7,
      });
      const whole = await parallelScores(e, m, inputs, targets, B, L);
      const nll = (d: ArrayLike<number>) => Array.from({ length: B * L }, (_, i) => d[3 * i + SCORE.NLL]);
      expect(relativeError(nll(streamed), nll(whole))).toBeLessThan(1e-4);
      expect(streamed[3 * 5 + SCORE.SCORED]).toBe(0);
      for (const p of m.params.values()) p.release();
    });
  }

  it('states after each chunk arrive in order with the absorbed token counts', async () => {
    const e = await engine();
    const m = load(e, template('gla'));
    const ends: number[] = [];
    const shapes: string[] = [];
    await streamScores(e, new ProbeForward(m.model), m.params, {
      inputs: randomIds(20, 256, 2),
      targets: randomIds(20, 256, 3),
      batch: 1,
      length: 20,
      chunk: 6,
      onState: (end, state) => {
        ends.push(end);
        shapes.push(state.get('layers.0.attn')!.S.shape.join('x'));
      },
    });
    expect(ends).toEqual([6, 12, 18, 20]);
    expect(new Set(shapes).size).toBe(1);
  });

  it('refuses token ids outside the vocabulary, naming the id', async () => {
    const e = await engine();
    const m = load(e, template('gla'));
    const request = { inputs: Int32Array.of(1, 999), targets: Int32Array.of(1, 2), batch: 1, length: 2, chunk: 2 };
    await expect(streamScores(e, new ProbeForward(m.model), m.params, request)).rejects.toThrow(/999/);
  });
});
