// A BPE tokenizer defined by a Hugging Face tokenizer.json (model type "BPE"): special tokens are split
// out first, the rest is normalized and pre-tokenized, and each piece is merged by merge rank — at every
// step the adjacent pair with the lowest rank is merged (all its occurrences, left to right), until no
// ranked pair is left. The JSON is kept as the source of truth, so toJSON() writes back what was loaded.

import { compilePipeline, type TextPipeline } from './hf-pipeline.js';
import {
  SpecialSplitter,
  TokenizerError,
  type HfTokenizerJson,
  type SpecialToken,
  type Tokenizer,
} from './tokenizer.js';

const CACHE_LIMIT = 100_000;
const CACHED_PIECE_LENGTH = 64;

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  readonly specialTokens: readonly SpecialToken[];
  private readonly json: HfTokenizerJson;
  private readonly pipeline: TextPipeline;
  private readonly splitter: SpecialSplitter;
  private readonly vocab = new Map<string, number>();
  private readonly tokens: (string | undefined)[] = [];
  /** ranks.get(left).get(right) = merge rank. Nested maps: token strings may contain any character. */
  private readonly ranks = new Map<string, Map<string, number>>();
  private readonly unkId: number | null;
  private readonly cache = new Map<string, number[]>();

  /** `json` must already be checked by loadTokenizer (or built by the trainer); this reads its model. */
  constructor(
    json: HfTokenizerJson,
    private readonly source = 'tokenizer.json',
  ) {
    this.json = structuredClone(json);
    const model = this.json.model;
    for (const [token, id] of Object.entries(model.vocab)) {
      if (!Number.isSafeInteger(id) || id < 0)
        throw new TokenizerError(source, `model.vocab["${token}"] is ${JSON.stringify(id)}, not a token id`);
      if (this.tokens[id] !== undefined)
        throw new TokenizerError(source, `model.vocab gives id ${id} to both "${this.tokens[id]}" and "${token}"`);
      this.vocab.set(token, id);
      this.tokens[id] = token;
    }
    model.merges.forEach((merge, rank) => {
      const [left, right] = splitMerge(merge, rank, source);
      for (const part of [left, right, left + right]) {
        if (!this.vocab.has(part))
          throw new TokenizerError(
            source,
            `model.merges[${rank}] ("${left}" + "${right}") uses "${part}", not in model.vocab`,
          );
      }
      let row = this.ranks.get(left);
      if (!row) this.ranks.set(left, (row = new Map()));
      if (!row.has(right)) row.set(right, rank); // HF keeps the first rank of a repeated merge
    });
    const specials: SpecialToken[] = [];
    for (const [i, t] of this.json.added_tokens.entries()) {
      if (!Number.isSafeInteger(t?.id) || t.id < 0 || typeof t.content !== 'string' || t.content === '')
        throw new TokenizerError(source, `added_tokens[${i}] needs an integer id and non-empty content`);
      const existing = this.tokens[t.id];
      if (existing !== undefined && existing !== t.content)
        throw new TokenizerError(source, `added_tokens[${i}] ("${t.content}") reuses id ${t.id} of "${existing}"`);
      this.tokens[t.id] = t.content;
      specials.push({ id: t.id, content: t.content });
    }
    this.specialTokens = specials;
    this.vocabSize = this.tokens.length;
    if (model.unk_token !== null && !this.vocab.has(model.unk_token))
      throw new TokenizerError(source, `model.unk_token "${model.unk_token}" is not in model.vocab`);
    this.unkId = model.unk_token === null ? null : this.vocab.get(model.unk_token)!;
    this.pipeline = compilePipeline(this.json as unknown as Record<string, unknown>, source);
    this.splitter = new SpecialSplitter(specials);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const part of this.splitter.split(text)) {
      if (typeof part === 'number') {
        ids.push(part);
        continue;
      }
      for (const piece of this.pipeline.preTokenize(this.pipeline.normalize(part))) {
        for (const id of this.encodePiece(piece)) ids.push(id);
      }
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const token = Number.isInteger(ids[i]) ? this.tokens[ids[i]] : undefined;
      if (token === undefined)
        throw new TokenizerError(this.source, `token id ${ids[i]} is not in the vocabulary (size ${this.vocabSize})`);
      tokens.push(token);
    }
    return this.pipeline.decode(tokens);
  }

  toJSON(): HfTokenizerJson {
    return structuredClone(this.json);
  }

  /** The token string of an id (for inspection and tests). */
  tokenOf(id: number): string | undefined {
    return this.tokens[id];
  }

  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let ids: number[];
    if (this.json.model.ignore_merges && this.vocab.has(piece)) ids = [this.vocab.get(piece)!];
    else ids = this.toIds(this.merge(Array.from(piece)));
    // Only word-sized pieces are worth caching (without a pre-tokenizer a piece is a whole text).
    if (piece.length <= CACHED_PIECE_LENGTH) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(piece, ids);
    }
    return ids;
  }

  private merge(symbols: string[]): string[] {
    while (symbols.length > 1) {
      let best = Infinity;
      let left = '';
      let right = '';
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(symbols[i])?.get(symbols[i + 1]);
        if (rank !== undefined && rank < best) [best, left, right] = [rank, symbols[i], symbols[i + 1]];
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else merged.push(symbols[i]);
      }
      symbols = merged;
    }
    return symbols;
  }

  private toIds(symbols: string[]): number[] {
    const ids: number[] = [];
    let lastWasUnk = false;
    for (const s of symbols) {
      const id = this.vocab.get(s);
      if (id !== undefined) {
        ids.push(id);
        lastWasUnk = false;
        continue;
      }
      if (this.unkId === null)
        throw new TokenizerError(
          this.source,
          `"${s}" (U+${s.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) is not in the vocabulary and there is no unk_token`,
        );
      if (!(this.json.model.fuse_unk && lastWasUnk)) ids.push(this.unkId);
      lastWasUnk = true;
    }
    return ids;
  }
}

/** A merge is "left right" (tokenizers < 0.20) or ["left", "right"] (newer files). */
function splitMerge(merge: unknown, rank: number, source: string): [string, string] {
  if (Array.isArray(merge) && merge.length === 2 && merge.every((m) => typeof m === 'string'))
    return merge as [string, string];
  if (typeof merge === 'string') {
    const parts = merge.split(' ');
    if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
  }
  throw new TokenizerError(
    source,
    `model.merges[${rank}] is ${JSON.stringify(merge)}, not "left right" or [left, right]`,
  );
}
