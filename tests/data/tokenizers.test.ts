import { describe, expect, it } from 'vitest';
import {
  BpeTokenizer,
  ByteTokenizer,
  CharTokenizer,
  gpt2Split,
  loadTokenizer,
  trainBpe,
  type Tokenizer,
} from '../../shared/tokenizers/index.js';

const unicode = [
  'Hello, world! 123',
  'naïve café — “quotes” ‘single’',
  '日本語のテキスト、中文，한국어',
  'emoji 🦀🚀 and flags 🇫🇷 and ZWJ 👩‍👩‍👧',
  'combining e\u0301 vs é, tabs\tand\r\nCRLF\n\n  indented',
  "contractions: it's we're they've I'm you'll he'd",
  '\u0000 nul and \u007f del and \uFEFF bom in the middle',
  '',
];

function roundTrips(tokenizer: Tokenizer, texts: string[]): void {
  for (const text of texts) expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
}

function sameBehaviour(a: Tokenizer, b: Tokenizer, texts: string[]): void {
  expect(b.vocabSize).toBe(a.vocabSize);
  expect(b.specialTokens).toEqual(a.specialTokens);
  for (const text of texts) {
    const ids = a.encode(text);
    expect(b.encode(text)).toEqual(ids);
    expect(b.decode(ids)).toBe(a.decode(ids));
  }
}

describe('byte-level tokenizer', () => {
  const tokenizer = new ByteTokenizer(['<|endoftext|>', '<pad>']);

  it('encodes text as its UTF-8 bytes and round-trips any unicode text', () => {
    expect(tokenizer.encode('aé🦀')).toEqual([0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0xa6, 0x80]);
    expect(tokenizer.vocabSize).toBe(258);
    roundTrips(tokenizer, unicode);
  });

  it('matches special tokens verbatim (longest first) and decodes them back', () => {
    const ids = tokenizer.encode('a<|endoftext|><pad>b<pad');
    expect(ids).toEqual([0x61, 256, 257, 0x62, ...new TextEncoder().encode('<pad')]);
    expect(tokenizer.decode(ids)).toBe('a<|endoftext|><pad>b<pad');
  });

  it('decodes invalid UTF-8 from a model to U+FFFD and refuses ids outside the vocabulary', () => {
    expect(tokenizer.decode([0x61, 0xff, 0xc3])).toBe('a\uFFFD\uFFFD');
    expect(() => tokenizer.decode([258])).toThrow(/token id 258 is outside the vocabulary \(size 258\)/);
    expect(() => tokenizer.decode([-1])).toThrow(/token id -1/);
  });

  it('refuses duplicate or empty special tokens', () => {
    expect(() => new ByteTokenizer(['<a>', '<a>'])).toThrow(/special token "<a>" is listed twice/);
    expect(() => new ByteTokenizer([''])).toThrow(/non-empty strings/);
  });
});

describe('char-level tokenizer', () => {
  const tokenizer = CharTokenizer.fromCorpus(['hello wörld', ' 🦀!'], { specials: ['<eos>'] });

  it('gives ids to unk, then specials, then the corpus characters in code point order', () => {
    expect(tokenizer.specialTokens).toEqual([
      { id: 0, content: '<unk>' },
      { id: 1, content: '<eos>' },
    ]);
    expect(tokenizer.chars).toEqual([' ', '!', 'd', 'e', 'h', 'l', 'o', 'r', 'w', 'ö', '🦀']);
    expect(tokenizer.vocabSize).toBe(13);
    expect(tokenizer.encode('hello')).toEqual([6, 5, 7, 7, 8]);
  });

  it('round-trips text made of known characters, astral characters as one id', () => {
    roundTrips(tokenizer, ['hello wörld 🦀!', 'löl<eos>', '']);
    expect(tokenizer.encode('🦀')).toEqual([12]);
  });

  it('maps unknown characters to the unk id', () => {
    expect(tokenizer.encode('hex🚀')).toEqual([6, 5, 0, 0]);
    expect(tokenizer.decode(tokenizer.encode('hex'))).toBe('he<unk>');
  });

  it('builds the same vocabulary from a stream as from the same text in memory', async () => {
    async function* chunks() {
      yield 'hello w';
      yield 'örld';
      yield ' 🦀!';
    }
    const streamed = await CharTokenizer.fromStream(chunks(), { specials: ['<eos>'] });
    expect(streamed.chars).toEqual(tokenizer.chars);
  });
});

describe('BPE trainer', () => {
  it('merges the most frequent pair first (hand-checked: "ab ab ab abc")', async () => {
    // Words: "ab" ×1, " ab" ×2, " abc" ×1. Pair counts: (a,b) 4, (Ġ,a) 3, (b,c) 1 → merge a+b;
    // then (Ġ,ab) 3, (ab,c) 1 → merge Ġ+ab; then (Ġab,c) 1 → merge Ġab+c.
    const bpe = await trainBpe(['ab ab ab abc'], { vocabSize: 259, minFrequency: 1 });
    const merges = bpe.toJSON().model.merges;
    expect(merges).toEqual(['a b', 'Ġ ab', 'Ġab c']);
    expect(bpe.encode('ab abc')).toEqual([256, 258]);
    expect(bpe.encode(' ab')).toEqual([257]);
    expect(bpe.encode('abab')).toEqual([256, 256]);
  });

  it('breaks count ties by the smallest (left id, right id) pair', async () => {
    // Words "xy", " zw": all pairs count 1. Ġ (byte 32) < x (120), so Ġ+z goes first; then x+y (120 < 256).
    const bpe = await trainBpe(['xy zw'], { vocabSize: 259, minFrequency: 1 });
    expect(bpe.toJSON().model.merges).toEqual(['Ġ z', 'x y', 'Ġz w']);
  });

  it('stops below the target when no pair reaches minFrequency', async () => {
    // (a,b) is seen twice ("ab", " ab"); after merging it every pair is seen once.
    const bpe = await trainBpe(['ab ab cd'], { vocabSize: 300, minFrequency: 2 });
    expect(bpe.toJSON().model.merges).toEqual(['a b']);
    expect(bpe.vocabSize).toBe(257);
  });

  const corpus = Array.from(
    { length: 40 },
    (_, i) =>
      `Document ${i}: the quick brown fox jumps over the lazy dog ${i % 7} times; ünïcödé ${'ab'.repeat(i % 5)}.\n`,
  );

  it('is deterministic: the same corpus gives the same merges in any document order', async () => {
    const options = { vocabSize: 340, minFrequency: 1, specials: ['<|endoftext|>'] };
    const a = await trainBpe(corpus, options);
    const b = await trainBpe([...corpus].reverse(), options);
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(a.vocabSize).toBe(340);
    expect(a.specialTokens).toEqual([{ id: 339, content: '<|endoftext|>' }]);
  });

  it('gives the same merges as a naive trainer that recounts every pair after each merge', async () => {
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const letters = 'aabbbcdeé ';
    const text = Array.from({ length: 3000 }, () => letters[Math.floor(random() * letters.length)]).join('');
    const bpe = await trainBpe([text], { vocabSize: 320, minFrequency: 2 });
    // Naive reference: words as byte-id arrays with counts; recount all pairs, take max count, ties to
    // the smallest (left, right).
    const counts = new Map<string, number>();
    for (const w of gpt2Split(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    let words = [...counts].map(([w, c]) => ({ ids: Array.from(new TextEncoder().encode(w)), c }));
    const names = Array.from({ length: 256 }, (_, b) => bpe.tokenOf(b)!);
    const merges: string[] = [];
    while (names.length < 320) {
      const pairs = new Map<number, number>();
      for (const { ids, c } of words) {
        for (let i = 0; i + 1 < ids.length; i++) {
          const key = ids[i] * 4096 + ids[i + 1];
          pairs.set(key, (pairs.get(key) ?? 0) + c);
        }
      }
      const best = [...pairs].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0];
      if (!best || best[1] < 2) break;
      const [l, r] = [Math.floor(best[0] / 4096), best[0] % 4096];
      merges.push(`${names[l]} ${names[r]}`);
      names.push(names[l] + names[r]);
      words = words.map(({ ids, c }) => {
        const out: number[] = [];
        for (let i = 0; i < ids.length; i++) {
          if (ids[i] === l && ids[i + 1] === r) {
            out.push(names.length - 1);
            i++;
          } else out.push(ids[i]);
        }
        return { ids: out, c };
      });
    }
    expect(merges.length).toBeGreaterThan(20);
    expect(bpe.toJSON().model.merges).toEqual(merges);
  });

  it('round-trips unicode text, including characters never seen in training', async () => {
    const bpe = await trainBpe(corpus, { vocabSize: 350 });
    roundTrips(bpe, [...unicode, corpus.join('')]);
    expect(bpe.encode(corpus[3]).length).toBeLessThan(new TextEncoder().encode(corpus[3]).length / 2);
  });

  it('does not train on special tokens and encodes them as one id', async () => {
    const bpe = await trainBpe(['<s><s><s> hi<s>'], { vocabSize: 300, minFrequency: 2, specials: ['<s>'] });
    expect(bpe.toJSON().model.merges).toEqual([]);
    expect(bpe.encode('<s>hi')).toEqual([256, 0x68, 0x69]);
  });

  it('refuses a vocabulary smaller than the bytes plus special tokens', async () => {
    await expect(trainBpe(['x'], { vocabSize: 256, specials: ['<s>'] })).rejects.toThrow(
      /vocabSize 256 must be an integer from 257/,
    );
  });

  it('pre-tokenizes like GPT-2: pieces cover the text exactly', () => {
    expect(gpt2Split("Hello world's  2024!!\n\n x")).toEqual([
      'Hello',
      ' world',
      "'s",
      ' ',
      ' 2024',
      '!!',
      '\n\n',
      ' x',
    ]);
    for (const text of unicode) expect(gpt2Split(text).join('')).toBe(text);
  });
});

describe('tokenizer.json save and load', () => {
  const texts = [...unicode, 'hello wörld 🦀! <eos> <|endoftext|>', 'zzz unseen ⚙'];

  it('load(save(x)) behaves like x for byte, char and trained BPE tokenizers', async () => {
    const tokenizers: Tokenizer[] = [
      new ByteTokenizer(['<|endoftext|>']),
      CharTokenizer.fromCorpus(['hello wörld 🦀!'], { specials: ['<eos>'] }),
      await trainBpe(texts, { vocabSize: 300, specials: ['<|endoftext|>'] }),
    ];
    for (const tokenizer of tokenizers) {
      const saved = JSON.stringify(tokenizer.toJSON());
      const loaded = loadTokenizer(saved, 'saved.json');
      sameBehaviour(tokenizer, loaded, texts);
      expect(loaded.toJSON()).toEqual(JSON.parse(saved));
    }
  });

  // A GPT-2-shaped tokenizer.json written by hand: ByteLevel with add_prefix_space, merges in the newer
  // [left, right] form, an added special token.
  const gpt2Like = {
    version: '1.0',
    added_tokens: [{ id: 7, content: '<|endoftext|>', special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      vocab: { Ġ: 0, h: 1, i: 2, hi: 3, Ġhi: 4, '!': 5, 'Ġ!': 6 },
      merges: [
        ['h', 'i'],
        ['Ġ', 'hi'],
      ],
    },
  };

  it('loads a GPT-2-style tokenizer.json and encodes by merge rank with a prefix space', () => {
    const tokenizer = loadTokenizer(gpt2Like);
    // "hi hi!" → prefix space → pieces "Ġhi", "Ġhi", "!" → h+i first (rank 0), then Ġ+hi (rank 1).
    expect(tokenizer.encode('hi hi!')).toEqual([4, 4, 5]);
    expect(tokenizer.encode('hi<|endoftext|>hi')).toEqual([4, 7, 4]);
    expect(tokenizer.decode([4, 4, 5])).toBe(' hi hi!');
    expect(tokenizer.vocabSize).toBe(8);
    expect(() => tokenizer.encode('x')).toThrow(/"x" \(U\+0078\) is not in the vocabulary and there is no unk_token/);
  });

  it('applies Split pre-tokenizers with HF delimiter behaviours', () => {
    const base = {
      model: { type: 'BPE', vocab: { a: 0, b: 1, ',': 2, 'a,': 3, ',b': 4 }, merges: ['a ,', ', b'] },
      decoder: { type: 'Fuse' },
    };
    const withSplit = (behavior: string) =>
      loadTokenizer({ ...base, pre_tokenizer: { type: 'Split', pattern: { String: ',' }, behavior, invert: false } });
    expect(withSplit('Isolated').encode('a,b')).toEqual([0, 2, 1]);
    expect(withSplit('MergedWithPrevious').encode('a,b')).toEqual([3, 1]);
    expect(withSplit('MergedWithNext').encode('a,b')).toEqual([0, 4]);
    expect(withSplit('Removed').encode('a,b')).toEqual([0, 1]);
    expect(loadTokenizer(base).encode('a,b')).toEqual([3, 1]); // no pre-tokenizer: rank 0 (a+,) wins
  });

  it('fuses consecutive unknowns into one unk when fuse_unk is set', () => {
    const json = {
      model: { type: 'BPE', vocab: { '<unk>': 0, a: 1 }, merges: [], unk_token: '<unk>', fuse_unk: true },
    };
    expect(loadTokenizer(json).encode('axyza')).toEqual([1, 0, 1]);
  });

  const refusals: [string, unknown, RegExp][] = [
    [
      'WordPiece model',
      { model: { type: 'WordPiece', vocab: {} } },
      /model type "WordPiece" is not supported \(supported: BPE\)/,
    ],
    ['Unigram model', { model: { type: 'Unigram', vocab: [] } }, /model type "Unigram" is not supported/],
    [
      'Metaspace decoder',
      { model: { type: 'BPE', vocab: {}, merges: [] }, decoder: { type: 'Metaspace' } },
      /decoder "Metaspace" is not supported/,
    ],
    [
      'Whitespace pre-tokenizer',
      { model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: { type: 'Whitespace' } },
      /pre_tokenizer "Whitespace" is not supported/,
    ],
    [
      'byte fallback',
      { model: { type: 'BPE', vocab: {}, merges: [], byte_fallback: true } },
      /model.byte_fallback is not supported/,
    ],
    [
      'merge of tokens not in the vocabulary',
      { model: { type: 'BPE', vocab: { a: 0 }, merges: ['a b'] } },
      /model.merges\[0\] \("a" \+ "b"\) uses "b", not in model.vocab/,
    ],
    [
      'Split regex JavaScript cannot compile',
      {
        model: { type: 'BPE', vocab: {}, merges: [] },
        pre_tokenizer: { type: 'Split', pattern: { Regex: "(?i:'s|'t)" }, behavior: 'Isolated', invert: false },
      },
      /Split regex .* cannot be compiled in JavaScript/,
    ],
  ];
  for (const [label, json, message] of refusals) {
    it(`refuses an unsupported or broken tokenizer.json, naming it: ${label}`, () => {
      expect(() => loadTokenizer(json, 'my/tokenizer.json')).toThrow(message);
      expect(() => loadTokenizer(json, 'my/tokenizer.json')).toThrow(/^my\/tokenizer.json: /);
    });
  }

  it('refuses text that is not JSON, naming the file', () => {
    expect(() => loadTokenizer('{"model": ', 'tok.json')).toThrow(/tok.json: not valid JSON/);
  });

  it('keeps the BPE class for loaded files', () => {
    expect(loadTokenizer(gpt2Like)).toBeInstanceOf(BpeTokenizer);
  });
});
