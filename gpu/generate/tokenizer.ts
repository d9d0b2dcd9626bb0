// What generation needs from a tokenizer: text → ids (refusing what it cannot represent) and a streaming
// decoder (one token may hold part of a character): the byte tokenizer of byte-level runs, and a
// tokenizer.json (shared/tokenizers: BPE, an imported teacher's) adapted to the same interface.

import { loadTokenizer } from '../../shared/tokenizers/index.js';

export interface StreamDecoder {
  /** Text completed by this token ('' while a multi-byte character is still incomplete). */
  push(id: number): string;
  /** What is left at the end (an incomplete character decodes to U+FFFD). */
  flush(): string;
}

export interface Tokenizer {
  readonly name: string;
  /** Ids this tokenizer can produce are 0 … vocabSize − 1. */
  readonly vocabSize: number;
  /** Throws a `TokenizerError` naming the first character it cannot encode. */
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  streamDecoder(): StreamDecoder;
}

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

/**
 * UTF-8 bytes as tokens (id = byte). `modelVocab` < 256 (an ASCII-only model, say) makes bytes ≥ modelVocab
 * unrepresentable; lone UTF-16 surrogates have no UTF-8 encoding at all (TextEncoder would silently turn
 * them into U+FFFD, changing the prompt), so both are refused with the character and its position.
 */
export function byteTokenizer(modelVocab = 256): Tokenizer {
  const vocabSize = Math.min(256, modelVocab);
  const encoder = new TextEncoder();
  return {
    name: 'byte',
    vocabSize,
    encode(text) {
      const ids: number[] = [];
      let position = 0;
      for (const char of text) {
        const code = char.codePointAt(0)!;
        if (code >= 0xd800 && code <= 0xdfff) {
          throw new TokenizerError(
            `character ${position} is a lone UTF-16 surrogate (U+${hex(code, 4)}), which has no UTF-8 encoding`,
          );
        }
        for (const byte of encoder.encode(char)) {
          if (byte >= vocabSize) {
            throw new TokenizerError(
              `character ${position} "${char}" (U+${hex(code, 4)}) encodes to byte 0x${hex(byte, 2)}, outside ` +
                `this model's vocabulary of ${vocabSize} tokens`,
            );
          }
          ids.push(byte);
        }
        position++;
      }
      return ids;
    },
    decode: (ids) => new TextDecoder('utf-8').decode(Uint8Array.from(ids)),
    streamDecoder() {
      const decoder = new TextDecoder('utf-8');
      return {
        push: (id) => decoder.decode(Uint8Array.of(id), { stream: true }),
        flush: () => decoder.decode(),
      };
    },
  };
}

/**
 * A tokenizer.json's text for generation. Streaming decodes everything generated so far and hands out the
 * new text, holding it back while it ends in U+FFFD (a character whose bytes are still arriving).
 */
export function jsonTokenizer(json: string, source: string): Tokenizer {
  const tokenizer = loadTokenizer(json, source);
  return {
    name: `${tokenizer.kind} (${source})`,
    vocabSize: tokenizer.vocabSize,
    encode: (text) => tokenizer.encode(text),
    decode: (ids) => tokenizer.decode(ids),
    streamDecoder(): StreamDecoder {
      const ids: number[] = [];
      let emitted = '';
      const next = (final: boolean) => {
        const text = tokenizer.decode(ids);
        if (!final && text.endsWith('\uFFFD')) return '';
        // Byte-level decoding only extends the text once no character is pending.
        const fresh = text.slice(emitted.length);
        emitted = text;
        return fresh;
      };
      return {
        push: (id) => {
          ids.push(id);
          return next(false);
        },
        flush: () => next(true),
      };
    },
  };
}
