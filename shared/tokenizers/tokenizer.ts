// The tokenizer contract shared by the byte-level, char-level and BPE tokenizers, the subset of the
// Hugging Face `tokenizer.json` format they read and write, and the special-token handling they share.
// tokenizer.json is the one on-disk format: the app, the tests, Python `tokenizers` and
// @huggingface/tokenizers can all load what we save.

export interface SpecialToken {
  id: number;
  content: string;
}

export interface Tokenizer {
  readonly kind: 'byte' | 'char' | 'bpe';
  /** One more than the largest id: the size of the model's embedding and output layers. */
  readonly vocabSize: number;
  /** Tokens matched verbatim in the input before anything else (e.g. "<|endoftext|>"), and decoded verbatim. */
  readonly specialTokens: readonly SpecialToken[];
  encode(text: string): number[];
  /** Invalid UTF-8 (a model can emit any byte sequence) decodes to U+FFFD; unknown ids throw. */
  decode(ids: ArrayLike<number>): string;
  /** A Hugging Face `tokenizer.json` object (JSON.stringify it to save). */
  toJSON(): HfTokenizerJson;
}

export class TokenizerError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'TokenizerError';
  }
}

/** The parts of Hugging Face's tokenizer.json we read and write (see huggingface/tokenizers, serialization). */
export interface HfTokenizerJson {
  version: string;
  truncation: unknown;
  padding: unknown;
  added_tokens: HfAddedToken[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: HfBpeModel;
}

export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface HfBpeModel {
  type: 'BPE';
  dropout: null;
  unk_token: string | null;
  continuing_subword_prefix: null;
  end_of_word_suffix: null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  /** "left right" strings (what we write), or [left, right] pairs (tokenizers ≥ 0.20 writes these). */
  merges: (string | [string, string])[];
}

export function hfAddedToken(token: SpecialToken): HfAddedToken {
  return {
    id: token.id,
    content: token.content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  };
}

/** ByteLevel pre-tokenizer / decoder settings as GPT-2's tokenizer.json spells them. */
export function hfByteLevel(addPrefixSpace: boolean, useRegex = true): Record<string, unknown> {
  return { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex };
}

/**
 * Splits text into plain segments and special-token ids. At each position the longest special token
 * that matches wins (so "<|a|><|ab|>"-style prefixes resolve the way HF's added-token trie does).
 */
export class SpecialSplitter {
  private readonly pattern: RegExp | null;
  private readonly ids = new Map<string, number>();

  constructor(specials: readonly SpecialToken[]) {
    for (const s of specials) {
      if (s.content === '') throw new TokenizerError('tokenizer', `special token ${s.id} has empty content`);
      this.ids.set(s.content, s.id);
    }
    const sorted = [...this.ids.keys()].sort((a, b) => b.length - a.length);
    this.pattern = sorted.length ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : null;
  }

  split(text: string): (string | number)[] {
    if (!this.pattern) return text ? [text] : [];
    const parts: (string | number)[] = [];
    let last = 0;
    for (const match of text.matchAll(this.pattern)) {
      if (match.index > last) parts.push(text.slice(last, match.index));
      parts.push(this.ids.get(match[0])!);
      last = match.index + match[0].length;
    }
    if (last < text.length) parts.push(text.slice(last));
    return parts;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function checkTokenId(id: number, vocabSize: number, kind: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
    throw new TokenizerError(`${kind} tokenizer`, `token id ${id} is outside the vocabulary (size ${vocabSize})`);
}

/** Lossy UTF-8 decoding for model output: invalid sequences become U+FFFD instead of throwing. */
export function decodeUtf8Lossy(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);
}

/** Validates a list of special-token strings: non-empty, no duplicates. */
export function checkSpecialStrings(specials: readonly string[], source: string): void {
  const seen = new Set<string>();
  for (const s of specials) {
    if (typeof s !== 'string' || s === '') throw new TokenizerError(source, 'special tokens must be non-empty strings');
    if (seen.has(s)) throw new TokenizerError(source, `special token "${s}" is listed twice`);
    seen.add(s);
  }
}
