// Byte-level tokenizer: ids 0–255 are the UTF-8 bytes of the text, special tokens follow from 256.
// Lossless on any text and free of BPE artefacts, which is why it is the default for state-capacity and
// length-extrapolation experiments.

import { byteChar } from './byte-level.js';
import {
  checkSpecialStrings,
  checkTokenId,
  decodeUtf8Lossy,
  hfAddedToken,
  hfByteLevel,
  SpecialSplitter,
  type HfTokenizerJson,
  type SpecialToken,
  type Tokenizer,
} from './tokenizer.js';

export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte';
  readonly vocabSize: number;
  readonly specialTokens: readonly SpecialToken[];
  private readonly splitter: SpecialSplitter;
  private readonly encoder = new TextEncoder();

  constructor(specials: readonly string[] = []) {
    checkSpecialStrings(specials, 'byte tokenizer');
    this.specialTokens = specials.map((content, i) => ({ id: 256 + i, content }));
    this.vocabSize = 256 + specials.length;
    this.splitter = new SpecialSplitter(this.specialTokens);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const part of this.splitter.split(text)) {
      if (typeof part === 'number') ids.push(part);
      else for (const b of this.encoder.encode(part)) ids.push(b);
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    let out = '';
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      checkTokenId(id, this.vocabSize, 'byte');
      if (id < 256) {
        bytes.push(id);
        continue;
      }
      out += decodeUtf8Lossy(Uint8Array.from(bytes)) + this.specialTokens[id - 256].content;
      bytes.length = 0;
    }
    return out + decodeUtf8Lossy(Uint8Array.from(bytes));
  }

  /** A BPE tokenizer.json with the 256 byte characters as its vocabulary (id = byte value) and no merges. */
  toJSON(): HfTokenizerJson {
    const vocab: Record<string, number> = {};
    for (let b = 0; b < 256; b++) vocab[byteChar(b)] = b;
    for (const s of this.specialTokens) vocab[s.content] = s.id;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens.map(hfAddedToken),
      normalizer: null,
      pre_tokenizer: hfByteLevel(false),
      post_processor: null,
      decoder: hfByteLevel(true),
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
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
