// The CPU side of generation: sampling filters, seeded draws, stop sequences on streamed text and the byte
// tokenizer's refusals. No GPU here; the decode loop itself is tested in decode.test.ts.

import { describe, expect, it } from 'vitest';
import { argmax, resolveSampling, rowRandom, sampleToken } from '../../gpu/generate/sampling.js';
import { StopMatcher } from '../../gpu/generate/stop.js';
import { byteTokenizer, TokenizerError } from '../../gpu/generate/tokenizer.js';

const probsToLogits = (p: number[]) => p.map(Math.log);

function histogram(logits: number[], options: Parameters<typeof resolveSampling>[0], draws: number) {
  const o = resolveSampling(options);
  const random = rowRandom(o.seed, 0);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, [], o, random)]++;
  return counts.map((c) => c / draws);
}

describe('sampling', () => {
  const logits = probsToLogits([0.1, 0.4, 0.2, 0.3]);

  it('temperature 1 draws from softmax(logits): frequencies within 0.01 over 20 000 draws', () => {
    const freq = histogram(logits, { seed: 7 }, 20_000);
    [0.1, 0.4, 0.2, 0.3].forEach((p, i) => expect(Math.abs(freq[i] - p)).toBeLessThan(0.01));
  });

  it('top-k keeps the k most likely tokens, renormalized', () => {
    const freq = histogram(logits, { topK: 2, seed: 3 }, 20_000);
    expect(freq[0]).toBe(0);
    expect(freq[2]).toBe(0);
    expect(Math.abs(freq[1] - 0.4 / 0.7)).toBeLessThan(0.01);
  });

  it('top-p keeps the smallest prefix whose mass reaches p (0.65 → tokens 1 and 3)', () => {
    const freq = histogram(logits, { topP: 0.65, seed: 4 }, 20_000);
    expect(freq[0] + freq[2]).toBe(0);
    expect(Math.abs(freq[3] - 0.3 / 0.7)).toBeLessThan(0.01);
    // A tiny p still keeps one token: the most likely.
    expect(histogram(logits, { topP: 1e-6, seed: 4 }, 100)[1]).toBe(1);
  });

  it('temperature 0 and top-k 1 are greedy, ties to the lowest id; low temperature sharpens', () => {
    const tied = [0.5, 2, 1, 2];
    expect(sampleToken(tied, [], resolveSampling({ temperature: 0 }), () => 0.99)).toBe(1);
    expect(sampleToken(tied, [], resolveSampling({ topK: 1 }), () => 0.99)).toBe(1);
    expect(argmax(tied)).toBe(1);
    expect(histogram(logits, { temperature: 0.05, seed: 1 }, 2000)[1]).toBeGreaterThan(0.99);
  });

  it('repetition penalty divides positive and multiplies negative logits of tokens in the context', () => {
    const o = resolveSampling({ temperature: 0, repetitionPenalty: 2 });
    expect(sampleToken([3, 2, -1], [], o, Math.random)).toBe(0);
    expect(sampleToken([3, 2, -1], [0], o, Math.random)).toBe(1); // 3/2 = 1.5 < 2
    expect(sampleToken([-1, -1.5, -3], [0, 0], o, Math.random)).toBe(1); // −1·2 = −2 < −1.5
  });

  it('the same seed gives the same draws; another seed differs; rows have their own streams', () => {
    const o = resolveSampling({ seed: 11 });
    const draw = (seed: number, row: number) => {
      const random = rowRandom(seed, row);
      return Array.from({ length: 40 }, () => sampleToken(logits, [], { ...o, seed }, random));
    };
    expect(draw(11, 0)).toEqual(draw(11, 0));
    expect(draw(11, 0)).not.toEqual(draw(12, 0));
    expect(draw(11, 0)).not.toEqual(draw(11, 1));
  });

  it('refuses bad options and non-finite logits with the option named', () => {
    expect(() => resolveSampling({ temperature: -1 })).toThrow(/temperature must be a number ≥ 0 \(got -1\)/);
    expect(() => resolveSampling({ temperature: NaN })).toThrow(/temperature/);
    expect(() => resolveSampling({ topK: 1.5 })).toThrow(/topK must be an integer/);
    expect(() => resolveSampling({ topP: 0 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => resolveSampling({ topP: 1.5 })).toThrow(/topP/);
    expect(() => resolveSampling({ repetitionPenalty: 0 })).toThrow(/repetitionPenalty must be a number > 0/);
    expect(() => resolveSampling({ seed: -3 })).toThrow(/seed/);
    expect(() => sampleToken([0, NaN], [], resolveSampling(), Math.random)).toThrow(/logit 1 is NaN/);
  });
});

describe('stop sequences', () => {
  it('text that may begin a stop sequence is held back, and released when it does not', () => {
    const m = new StopMatcher(['\n\n', 'END']);
    expect(m.push('Hello E')).toEqual({ emit: 'Hello ', stopped: false });
    expect(m.push('N')).toEqual({ emit: '', stopped: false });
    expect(m.push('d!')).toEqual({ emit: 'ENd!', stopped: false });
    expect(m.push('\n')).toEqual({ emit: '', stopped: false });
    expect(m.flush()).toBe('\n');
  });

  it('a stop sequence split across tokens ends the text before it, at its first occurrence', () => {
    const m = new StopMatcher(['STOP', 'OP']);
    const pieces = ['ab', 'S', 'T', 'OP tail'];
    const out = pieces.map((p) => m.push(p));
    expect(out.map((o) => o.emit).join('')).toBe('ab');
    expect(out[3].stopped).toBe(true);
  });

  it('refuses an empty stop sequence', () => {
    expect(() => new StopMatcher(['x', ''])).toThrow(/must not be empty/);
  });
});

describe('byte tokenizer', () => {
  it('round-trips UTF-8 and decodes multi-byte characters split across tokens', () => {
    const t = byteTokenizer(256);
    const ids = t.encode('héllo ✓');
    expect(ids).toEqual([...new TextEncoder().encode('héllo ✓')]);
    const d = t.streamDecoder();
    expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe('héllo ✓');
    const partial = t.streamDecoder();
    expect(partial.push(0xe2)).toBe('');
    expect(partial.flush()).toBe('\ufffd');
  });

  it('refuses characters outside the model vocabulary and lone surrogates, naming them', () => {
    expect(() => byteTokenizer(128).encode('café')).toThrow(TokenizerError);
    expect(() => byteTokenizer(128).encode('café')).toThrow(
      /character 3 "é" \(U\+00E9\) encodes to byte 0xC3, outside this model's vocabulary of 128 tokens/,
    );
    expect(() => byteTokenizer(256).encode('a\ud800b')).toThrow(/character 1 is a lone UTF-16 surrogate \(U\+D800\)/);
  });
});
