// Tokenizes a streamed dataset into one contiguous token array and splits it into training and
// validation parts: the last `validationFraction` of the tokens is validation. A tail split is
// deterministic, needs no second pass, and never lets a validation window overlap training text.

import type { Tokenizer } from '../../../shared/tokenizers/index.js';
import { DatasetError } from './errors.js';

export interface TokenStreamOptions {
  /** Fraction of tokens held out for validation, in [0, 0.5]. Default 0.1. */
  validationFraction?: number;
  /** Appended after every text: an end-of-text token between records (leave unset for .txt chunks). */
  separatorId?: number;
  /** Stop reading once this many tokens are collected (a cap for very large corpora). */
  maxTokens?: number;
  /** Named in errors. */
  source?: string;
}

export interface TokenStream {
  train: Int32Array;
  validation: Int32Array;
  /** Whether maxTokens cut the dataset short. */
  truncated: boolean;
}

export async function buildTokenStream(
  texts: AsyncIterable<string> | Iterable<string>,
  tokenizer: Tokenizer,
  options: TokenStreamOptions = {},
): Promise<TokenStream> {
  const source = options.source ?? 'dataset';
  const fraction = options.validationFraction ?? 0.1;
  checkTokenStreamOptions(source, tokenizer, { ...options, validationFraction: fraction });
  const max = options.maxTokens ?? Infinity;
  if (!(max > 0)) throw new DatasetError(source, `maxTokens ${max} must be positive`);
  const sep = options.separatorId;
  let buffer = new Int32Array(1 << 16);
  let length = 0;
  let truncated = false;
  const append = (id: number) => {
    if (length === buffer.length) {
      const grown = new Int32Array(buffer.length * 2);
      grown.set(buffer);
      buffer = grown;
    }
    buffer[length++] = id;
  };
  for await (const text of texts) {
    if (length >= max) {
      truncated = true; // there was more text after the cap
      break;
    }
    for (const id of tokenizer.encode(text)) append(id);
    if (sep !== undefined) append(sep);
  }
  if (length > max) {
    truncated = true;
    length = max;
  }
  if (length === 0) throw new DatasetError(source, 'dataset is empty (no tokens)');
  const split = splitPoint(length, fraction);
  return {
    train: buffer.slice(0, split),
    validation: buffer.slice(split, length),
    truncated,
  };
}

/** The first validation token of a tail split (shared with the on-disk token store, so both split alike). */
export function splitPoint(tokens: number, validationFraction: number): number {
  return tokens - Math.round(tokens * validationFraction);
}

export function checkTokenStreamOptions(
  source: string,
  tokenizer: Tokenizer,
  options: { validationFraction: number; separatorId?: number },
): void {
  const fraction = options.validationFraction;
  if (!(fraction >= 0 && fraction <= 0.5))
    throw new DatasetError(source, `validation fraction ${fraction} must be between 0 and 0.5`);
  const sep = options.separatorId;
  if (sep !== undefined && !(Number.isInteger(sep) && sep >= 0 && sep < tokenizer.vocabSize))
    throw new DatasetError(source, `separator id ${sep} is outside the vocabulary (size ${tokenizer.vocabSize})`);
}
