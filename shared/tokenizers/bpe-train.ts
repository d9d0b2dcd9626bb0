// Byte-level BPE training, GPT-2 style. The corpus is pre-tokenized with GPT-2's regex and counted as
// distinct words; each word starts as its UTF-8 bytes (ids 0–255 = byte values); then, until the
// vocabulary is full, the most frequent adjacent pair is merged into a new token (ids 256, 257, … in merge
// order) and special tokens take the last ids. Ties go to the pair whose left, then right, id is
// smallest — so the result depends only on the corpus and the settings, never on iteration order.
// Pair counts are updated incrementally (only words that contain the merged pair are re-counted) and the
// best pair comes from a max-heap with lazy deletion, so training a few thousand merges on megabytes of
// text takes seconds, not minutes.

import { BpeTokenizer } from './bpe.js';
import { byteChar, gpt2Split } from './byte-level.js';
import {
  checkSpecialStrings,
  hfAddedToken,
  hfByteLevel,
  SpecialSplitter,
  TokenizerError,
  type HfTokenizerJson,
} from './tokenizer.js';

export interface BpeTrainOptions {
  /** Total vocabulary: 256 bytes + merges + special tokens. */
  vocabSize: number;
  /** Special tokens (ids at the end of the vocabulary); their occurrences in the corpus are not trained on. */
  specials?: readonly string[];
  /** Pairs seen fewer times than this are never merged (training may then stop below vocabSize). Default 2. */
  minFrequency?: number;
}

const MAX_VOCAB = 1 << 20; // pair keys pack two ids below 2^20 into one safe integer

export class BpeTrainer {
  private readonly wordCounts = new Map<string, number>();
  private readonly splitter: SpecialSplitter;

  constructor(private readonly options: BpeTrainOptions) {
    const specials = options.specials ?? [];
    checkSpecialStrings(specials, 'BPE trainer');
    const { vocabSize, minFrequency = 2 } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < 256 + specials.length || vocabSize > MAX_VOCAB)
      throw new TokenizerError(
        'BPE trainer',
        `vocabSize ${vocabSize} must be an integer from ${256 + specials.length} (256 bytes + ${specials.length} special tokens) to ${MAX_VOCAB}`,
      );
    if (!Number.isInteger(minFrequency) || minFrequency < 1)
      throw new TokenizerError('BPE trainer', `minFrequency ${minFrequency} must be a positive integer`);
    this.splitter = new SpecialSplitter(specials.map((content, i) => ({ id: i, content })));
  }

  /** Counts the words of one text (call once per document or streamed chunk). */
  add(text: string): void {
    for (const part of this.splitter.split(text)) {
      if (typeof part === 'number') continue;
      for (const word of gpt2Split(part)) this.wordCounts.set(word, (this.wordCounts.get(word) ?? 0) + 1);
    }
  }

  async addStream(texts: AsyncIterable<string> | Iterable<string>): Promise<void> {
    for await (const text of texts) this.add(text);
  }

  /** Runs the merges and returns the trained tokenizer. */
  finish(): BpeTokenizer {
    const specials = this.options.specials ?? [];
    const minFrequency = this.options.minFrequency ?? 2;
    const targetMerges = this.options.vocabSize - 256 - specials.length;
    // Words sorted so that ids and iteration never depend on insertion order.
    const entries = [...this.wordCounts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const words = entries.map(([w]) => Array.from(new TextEncoder().encode(w)));
    const freqs = entries.map(([, c]) => c);
    const tokenStrings = Array.from({ length: 256 }, (_, b) => byteChar(b));
    const merges: string[] = [];
    const counts = new PairCounts();
    words.forEach((w, i) => counts.addWord(w, freqs[i], i));
    counts.flush();
    while (merges.length < targetMerges) {
      const best = counts.popBest();
      if (!best || best.count < minFrequency) break;
      const [left, right] = unpack(best.key);
      const id = tokenStrings.length;
      tokenStrings.push(tokenStrings[left] + tokenStrings[right]);
      merges.push(`${tokenStrings[left]} ${tokenStrings[right]}`);
      for (const i of counts.wordsWith(best.key)) {
        counts.addWord(words[i], -freqs[i], i);
        words[i] = mergeWord(words[i], left, right, id);
        counts.addWord(words[i], freqs[i], i);
      }
      counts.flush();
    }
    const vocab: Record<string, number> = Object.create(null);
    tokenStrings.forEach((t, id) => (vocab[t] = id));
    const added = specials.map((content, i) => ({ id: tokenStrings.length + i, content }));
    for (const s of added) vocab[s.content] = s.id;
    const json: HfTokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added.map(hfAddedToken),
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
        merges,
      },
    };
    return new BpeTokenizer(json, 'BPE trainer');
  }
}

/** Trains on an in-memory corpus or a stream of text chunks. */
export async function trainBpe(
  texts: AsyncIterable<string> | Iterable<string>,
  options: BpeTrainOptions,
): Promise<BpeTokenizer> {
  const trainer = new BpeTrainer(options);
  await trainer.addStream(texts);
  return trainer.finish();
}

/** Replaces every non-overlapping (left, right), scanning left to right, with `id`. */
function mergeWord(word: number[], left: number, right: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      out.push(id);
      i++;
    } else out.push(word[i]);
  }
  return out;
}

const pack = (left: number, right: number): number => left * MAX_VOCAB + right;
const unpack = (key: number): [number, number] => [Math.floor(key / MAX_VOCAB), key % MAX_VOCAB];

/** Pair frequencies, which words hold each pair, and a heap of (count, key) that may hold stale entries. */
class PairCounts {
  private readonly counts = new Map<number, number>();
  private readonly where = new Map<number, Set<number>>();
  private readonly changed = new Set<number>();
  private readonly heap = new PairHeap();

  addWord(word: number[], freq: number, index: number): void {
    for (let i = 0; i + 1 < word.length; i++) {
      const key = pack(word[i], word[i + 1]);
      const count = (this.counts.get(key) ?? 0) + freq;
      if (count === 0) this.counts.delete(key);
      else this.counts.set(key, count);
      if (freq > 0) {
        let set = this.where.get(key);
        if (!set) this.where.set(key, (set = new Set()));
        set.add(index);
      }
      this.changed.add(key);
    }
  }

  /** Pushes the current count of every pair touched since the last flush. */
  flush(): void {
    for (const key of this.changed) {
      const count = this.counts.get(key);
      if (count) this.heap.push(count, key);
    }
    this.changed.clear();
  }

  popBest(): { count: number; key: number } | undefined {
    for (let top = this.heap.pop(); top; top = this.heap.pop()) {
      if (this.counts.get(top.key) === top.count) return top; // otherwise stale: a newer entry exists
    }
    return undefined;
  }

  /** Word indices that may contain the pair, ascending; the set is dropped (the pair is being merged away). */
  wordsWith(key: number): number[] {
    const set = this.where.get(key);
    this.where.delete(key);
    return set ? [...set].sort((a, b) => a - b) : [];
  }
}

/** Binary max-heap on count, ties to the smaller key (= smaller left id, then smaller right id). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } | undefined {
    if (!this.counts.length) return undefined;
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.before(l, m)) m = l;
        if (r < this.counts.length && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    return this.counts[a] > this.counts[b] || (this.counts[a] === this.counts[b] && this.keys[a] < this.keys[b]);
  }

  private swap(a: number, b: number): void {
    [this.counts[a], this.counts[b]] = [this.counts[b], this.counts[a]];
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
  }
}
