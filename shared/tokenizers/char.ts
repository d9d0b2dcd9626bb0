// Char-level tokenizer: one id per Unicode code point seen in a corpus. Ids: the unknown token first (0),
// then the other special tokens, then the characters in code point order — so the same corpus always
// gives the same ids. Characters not in the vocabulary encode to the unknown token.

import {
  checkSpecialStrings,
  checkTokenId,
  hfAddedToken,
  SpecialSplitter,
  type HfTokenizerJson,
  type SpecialToken,
  type Tokenizer,
} from './tokenizer.js';

export interface CharTokenizerOptions {
  /** The unknown token's content (id 0). Default "<unk>". */
  unk?: string;
  /** Further special tokens, ids 1.. in this order. */
  specials?: readonly string[];
}

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly vocabSize: number;
  readonly specialTokens: readonly SpecialToken[];
  readonly unkId = 0;
  /** The characters, in id order (ids start after the special tokens). */
  readonly chars: readonly string[];
  private readonly ids = new Map<string, number>();
  private readonly splitter: SpecialSplitter;

  /** `chars` may repeat and come in any order; each distinct code point gets one id. */
  constructor(chars: Iterable<string>, options: CharTokenizerOptions = {}) {
    const specials = [options.unk ?? '<unk>', ...(options.specials ?? [])];
    checkSpecialStrings(specials, 'char tokenizer');
    this.specialTokens = specials.map((content, id) => ({ id, content }));
    const distinct = new Set<string>();
    for (const chunk of chars) for (const c of chunk) distinct.add(c);
    for (const s of specials) distinct.delete(s); // a one-character special token always wins over the character
    this.chars = [...distinct].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    this.chars.forEach((c, i) => this.ids.set(c, specials.length + i));
    this.vocabSize = specials.length + this.chars.length;
    this.splitter = new SpecialSplitter(this.specialTokens);
  }

  /** Builds the vocabulary from every character of a corpus (an iterable of text chunks). */
  static fromCorpus(texts: Iterable<string>, options: CharTokenizerOptions = {}): CharTokenizer {
    return new CharTokenizer(texts, options);
  }

  /** Same as fromCorpus for a streamed corpus (e.g. a dataset reader). */
  static async fromStream(texts: AsyncIterable<string>, options: CharTokenizerOptions = {}): Promise<CharTokenizer> {
    const distinct = new Set<string>();
    for await (const text of texts) for (const c of text) distinct.add(c);
    return new CharTokenizer(distinct, options);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const part of this.splitter.split(text)) {
      if (typeof part === 'number') out.push(part);
      else for (const c of part) out.push(this.ids.get(c) ?? this.unkId);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let out = '';
    const first = this.specialTokens.length;
    for (let i = 0; i < ids.length; i++) {
      checkTokenId(ids[i], this.vocabSize, 'char');
      out += ids[i] < first ? this.specialTokens[ids[i]].content : this.chars[ids[i] - first];
    }
    return out;
  }

  /**
   * tokenizer.json has no char-level model; a BPE model with no merges, no pre-tokenizer (the whole text
   * is one word, split into code points) and the Fuse decoder behaves identically, unknowns included.
   */
  toJSON(): HfTokenizerJson {
    const vocab: Record<string, number> = {};
    for (const s of this.specialTokens) vocab[s.content] = s.id;
    for (const [c, id] of this.ids) vocab[c] = id;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens.map(hfAddedToken),
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: this.specialTokens[0].content,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    };
  }
}
