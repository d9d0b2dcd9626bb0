import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BatchSampler,
  buildTokenStream,
  inputsAndTargets,
  loadTokenizerFile,
  readDataset,
  saveTokenizerFile,
  sequentialBatches,
} from '../../main/host/datasets/index.js';
import { ByteTokenizer, CharTokenizer, trainBpe } from '../../shared/tokenizers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'statelab-tokens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('token stream', () => {
  const text = Array.from({ length: 300 }, (_, i) => `Line ${i} — ünïcödé 🦀\n`).join('');

  it('tokenizes a streamed file into train + validation that together are the whole text, validation last', async () => {
    const path = join(dir, 'corpus.txt');
    writeFileSync(path, text);
    const tokenizer = new ByteTokenizer();
    const stream = await buildTokenStream(readDataset({ path, chunkBytes: 100 }), tokenizer, {
      validationFraction: 0.25,
    });
    const all = new TextEncoder().encode(text);
    expect(stream.train.length + stream.validation.length).toBe(all.length);
    expect(stream.validation.length).toBe(Math.round(all.length * 0.25));
    expect(Array.from(stream.train)).toEqual(Array.from(all.subarray(0, stream.train.length)));
    expect(Array.from(stream.validation)).toEqual(Array.from(all.subarray(stream.train.length)));
    expect(stream.truncated).toBe(false);
  });

  it('gives identical token arrays for any read chunk size (char tokenizer)', async () => {
    const path = join(dir, 'chars.txt');
    writeFileSync(path, text);
    const tokenizer = CharTokenizer.fromCorpus([text]);
    const a = await buildTokenStream(readDataset({ path, chunkBytes: 97 }), tokenizer);
    const b = await buildTokenStream(readDataset({ path, chunkBytes: 1 << 20 }), tokenizer);
    expect(a).toEqual(b);
    expect(tokenizer.decode([...a.train, ...a.validation])).toBe(text);
  });

  it('puts the separator after every record and caps at maxTokens, flagging the truncation', async () => {
    const tokenizer = new ByteTokenizer(['<eot>']);
    const stream = await buildTokenStream(['ab', 'c'], tokenizer, { separatorId: 256, validationFraction: 0 });
    expect(Array.from(stream.train)).toEqual([97, 98, 256, 99, 256]);
    const capped = await buildTokenStream(['ab', 'cd', 'ef'], tokenizer, { maxTokens: 3, validationFraction: 0 });
    expect([Array.from(capped.train), capped.truncated]).toEqual([[97, 98, 99], true]);
    const exact = await buildTokenStream(['ab', 'cd'], tokenizer, { maxTokens: 4, validationFraction: 0 });
    expect(exact.truncated).toBe(false);
  });

  it('refuses bad options and an empty stream, naming the source', async () => {
    const tokenizer = new ByteTokenizer();
    await expect(buildTokenStream([], tokenizer, { source: 'x.txt' })).rejects.toThrow(
      'x.txt: dataset is empty (no tokens)',
    );
    await expect(buildTokenStream(['a'], tokenizer, { validationFraction: 0.9 })).rejects.toThrow(
      /validation fraction 0.9 must be between 0 and 0.5/,
    );
    await expect(buildTokenStream(['a'], tokenizer, { separatorId: 256 })).rejects.toThrow(
      /separator id 256 is outside the vocabulary \(size 256\)/,
    );
  });
});

describe('BatchSampler', () => {
  const tokens = Int32Array.from({ length: 1000 }, (_, i) => i * 7 + 3); // value identifies its position
  const shape = { batch: 4, seqLen: 16, seed: 42 };

  it('produces [B, T+1] windows that are contiguous slices of the tokens', () => {
    const sampler = new BatchSampler(tokens, shape);
    for (let k = 0; k < 20; k++) {
      const { windows, batch, seqLen } = sampler.next();
      expect([windows.length, batch, seqLen]).toEqual([4 * 17, 4, 16]);
      for (let row = 0; row < 4; row++) {
        const w = windows.subarray(row * 17, (row + 1) * 17);
        const start = (w[0] - 3) / 7;
        expect(Number.isInteger(start) && start >= 0 && start + 17 <= 1000).toBe(true);
        expect(Array.from(w)).toEqual(Array.from(tokens.subarray(start, start + 17)));
      }
    }
  });

  it('is deterministic per seed and differs between seeds', () => {
    const draw = (seed: number) => {
      const s = new BatchSampler(tokens, { ...shape, seed });
      return Array.from({ length: 5 }, () => Array.from(s.next().windows));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(43)).not.toEqual(draw(42));
  });

  it('resumes exactly: restoring a saved position replays the uninterrupted stream', () => {
    const uninterrupted = new BatchSampler(tokens, shape);
    const expected = Array.from({ length: 12 }, () => uninterrupted.next().windows);
    const first = new BatchSampler(tokens, shape);
    for (let k = 0; k < 7; k++) first.next();
    const saved = JSON.parse(JSON.stringify(first.position()));
    expect(saved).toEqual({ kind: 'random-windows', seed: 42, batch: 4, seqLen: 16, tokens: 1000, drawn: 7 });
    const resumed = new BatchSampler(tokens, shape);
    resumed.restore(saved);
    for (let k = 7; k < 12; k++) expect(resumed.next().windows).toEqual(expected[k]);
  });

  it('refuses a position saved for other data or settings, and windows longer than the data', () => {
    const sampler = new BatchSampler(tokens, shape);
    const other = new BatchSampler(tokens.subarray(0, 500), shape);
    expect(() => sampler.restore(other.position())).toThrow(/was saved with tokens 500, but this run has 1000/);
    expect(() => sampler.restore({ kind: 'random-windows', drawn: -1 })).toThrow(/is not a random-windows position/);
    expect(() => new BatchSampler(tokens.subarray(0, 10), shape, 'tiny.txt')).toThrow(
      /tiny.txt: 10 tokens are fewer than one window of 17/,
    );
  });

  it('uses every start position, the last one included', () => {
    const small = Int32Array.from({ length: 6 }, (_, i) => i);
    const sampler = new BatchSampler(small, { batch: 64, seqLen: 3, seed: 1 });
    const starts = new Set<number>();
    for (let k = 0; k < 4; k++) {
      const { windows } = sampler.next();
      for (let row = 0; row < 64; row++) starts.add(windows[row * 4]);
    }
    expect([...starts].sort()).toEqual([0, 1, 2]);
  });

  it('splits windows into next-token inputs and targets', () => {
    const { inputs, targets } = inputsAndTargets({ windows: Int32Array.from([1, 2, 3, 4, 5, 6]), batch: 2, seqLen: 2 });
    expect([Array.from(inputs), Array.from(targets)]).toEqual([
      [1, 2, 4, 5],
      [2, 3, 5, 6],
    ]);
  });

  it('builds a fixed evaluation set of non-overlapping windows in order', () => {
    const batches = sequentialBatches(
      Int32Array.from({ length: 50 }, (_, i) => i),
      { batch: 2, seqLen: 4 },
      10,
    );
    expect(batches.length).toBe(5); // 50 tokens / (2 × 5) per batch
    expect(Array.from(batches[1].windows)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });
});

describe('tokenizer.json files', () => {
  it('saves temp-then-rename and loads back a tokenizer that encodes the same', async () => {
    const sub = mkdtempSync(join(dir, 'tok-'));
    const path = join(sub, 'tokenizer.json');
    const text = 'streams of text, streamed 🦀 text';
    const bpe = await trainBpe([text.repeat(3)], { vocabSize: 270, specials: ['<|endoftext|>'] });
    saveTokenizerFile(path, bpe);
    saveTokenizerFile(path, bpe); // overwrite in place
    expect(readdirSync(sub)).toEqual(['tokenizer.json']);
    const loaded = await loadTokenizerFile(path);
    expect(loaded.encode(text + '<|endoftext|>')).toEqual(bpe.encode(text + '<|endoftext|>'));
  });

  it('names the file when it is missing or not a tokenizer', async () => {
    await expect(loadTokenizerFile(join(dir, 'none.json'))).rejects.toThrow(/none.json: cannot read \(no such file\)/);
    const bad = join(dir, 'bad-tokenizer.json');
    writeFileSync(bad, '{"model": {"type": "WordLevel", "vocab": {}}}');
    await expect(loadTokenizerFile(bad)).rejects.toThrow(new RegExp(`${bad}: model type "WordLevel" is not supported`));
  });
});
