// A dataset's tokens for training, whatever their size: tokenized from the streamed texts into memory while
// they fit a memory budget, and spilled into the on-disk token cache (token-cache.ts) the moment they do not
// — or taken straight from that cache when an earlier run already tokenized the same file with the same
// tokenizer. Either way the result is a train and a validation TokenSource with the tail split of
// buildTokenStream, so the samplers draw the same windows from the same offsets in both cases.

import { createHash } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import type { Tokenizer } from '../../../shared/tokenizers/index.js';
import { DatasetError } from './errors.js';
import {
  cachePath,
  HEADER_BYTES,
  openTokenCache,
  removeSupersededCaches,
  TokenCacheWriter,
  type TokenFingerprint,
} from './token-cache.js';
import { FileTokenSource, MemoryTokenSource, type TokenSource } from './token-source.js';
import { checkTokenStreamOptions, splitPoint } from './token-stream.js';

export interface TokenStoreOptions {
  /** Fraction of tokens held out for validation (the tail), in [0, 0.5]. Default 0.1. */
  validationFraction?: number;
  /** Appended after every text (an end-of-text token between records). */
  separatorId?: number;
  /** Named in errors. */
  source?: string;
  /** Where token caches live. Without it (or without a fingerprint) tokens always stay in memory. */
  cacheDir?: string;
  /** What the texts come from (file path, size, mtime, format, field); the tokenizer is added here. */
  fingerprint?: TokenFingerprint;
  /** Bytes of in-memory tokens (4 per token) before spilling to the cache. Default: no limit. */
  memoryBudgetBytes?: number;
  onLog?: (message: string) => void;
}

export interface TokenStore {
  train: TokenSource;
  validation: TokenSource;
  /** The cache file the tokens are read from, or null when they are in memory. */
  cacheFile: string | null;
  /** True when an existing cache was reused (nothing was tokenized). */
  reused: boolean;
  close(): void;
}

export async function openTokenStore(
  texts: () => AsyncIterable<string> | Iterable<string>,
  tokenizer: Tokenizer,
  options: TokenStoreOptions = {},
): Promise<TokenStore> {
  const source = options.source ?? 'dataset';
  const fraction = options.validationFraction ?? 0.1;
  checkTokenStreamOptions(source, tokenizer, { ...options, validationFraction: fraction });
  const budget = options.memoryBudgetBytes ?? Infinity;
  if (!(budget > 0)) throw new DatasetError(source, `memory budget ${budget} bytes must be positive`);
  const fingerprint: TokenFingerprint | null = options.fingerprint
    ? { ...options.fingerprint, tokenizer: tokenizerHash(tokenizer), separator: options.separatorId ?? null }
    : null;
  const path = options.cacheDir && fingerprint ? cachePath(options.cacheDir, fingerprint) : null;

  if (path && fingerprint) {
    try {
      const cached = openTokenCache(path, fingerprint);
      if (cached) {
        options.onLog?.(`${source}: ${cached.header.tokens} tokens from the token cache ${path}`);
        return split(cached.header.tokens, fraction, cached.range, path, true);
      }
    } catch (error) {
      if (!(error instanceof DatasetError)) throw error;
      options.onLog?.(`${error.message}; tokenizing again`);
      try {
        unlinkSync(path);
      } catch {
        // the rename of the rebuilt cache replaces it anyway
      }
    }
  }

  // Tokens in memory until the budget is reached, then all of them (those so far and the rest) in the cache.
  const budgetTokens = Math.max(1, Math.floor(budget / 4));
  let buffer: Int32Array | null = new Int32Array(Math.min(1 << 16, budgetTokens));
  let length = 0;
  let writer: TokenCacheWriter | null = null;
  const append = (ids: ArrayLike<number>) => {
    if (buffer && path && fingerprint && length + ids.length > budgetTokens) {
      writer = new TokenCacheWriter(path, tokenizer.vocabSize, fingerprint);
      options.onLog?.(
        `${source}: tokens exceed the ${formatBytes(budget)} memory budget; writing the token cache ${path} (via ${writer.temp})`,
      );
      writer.append(buffer.subarray(0, length));
      buffer = null;
    }
    if (writer) return writer.append(ids);
    if (length + ids.length > buffer!.length) {
      // Doubling, but never past the budget when there is a cache to spill to (the spill comes first).
      const cap = path ? budgetTokens : Infinity;
      const grown = new Int32Array(Math.max(length + ids.length, Math.min(buffer!.length * 2, cap)));
      grown.set(buffer!.subarray(0, length));
      buffer = grown;
    }
    buffer!.set(ids, length);
    length += ids.length;
  };
  const sep = options.separatorId;
  try {
    for await (const text of texts()) {
      append(tokenizer.encode(text));
      if (sep !== undefined) append([sep]);
    }
  } catch (error) {
    (writer as TokenCacheWriter | null)?.abort(); // a failed tokenization leaves no cache, half or whole
    throw error;
  }
  const done = writer as TokenCacheWriter | null;
  if (done) {
    if (done.tokens === 0) done.abort();
    else {
      const header = done.finish();
      options.onLog?.(`${source}: ${header.tokens} ${header.dtype} tokens written to the token cache ${path}`);
      for (const old of removeSupersededCaches(options.cacheDir!, fingerprint!))
        options.onLog?.(`${source}: removed the token cache of an earlier version of the file, ${old}`);
      const file = path!;
      const range = (start: number, count: number) =>
        new FileTokenSource(file, HEADER_BYTES, header.dtype, start, count);
      return split(header.tokens, fraction, range, file, false);
    }
  }
  if (length === 0) throw new DatasetError(source, 'dataset is empty (no tokens)');
  const tokens = buffer!.subarray(0, length);
  return split(
    length,
    fraction,
    (start, count) => new MemoryTokenSource(tokens.slice(start, start + count)),
    null,
    false,
  );
}

function split(
  tokens: number,
  fraction: number,
  range: (start: number, length: number) => TokenSource,
  cacheFile: string | null,
  reused: boolean,
): TokenStore {
  const at = splitPoint(tokens, fraction);
  const train = range(0, at);
  const validation = range(at, tokens - at);
  return {
    train,
    validation,
    cacheFile,
    reused,
    close: () => {
      train.close();
      validation.close();
    },
  };
}

function tokenizerHash(tokenizer: Tokenizer): string {
  return createHash('sha256').update(JSON.stringify(tokenizer.toJSON())).digest('hex');
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${+(bytes / 2 ** 20).toFixed(1)} MiB` : `${+(bytes / 1024).toFixed(1)} KiB`;
}
