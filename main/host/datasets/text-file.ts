// Plain text files (.txt): streamed as text chunks that end at a line break where the chunk has one, so
// that a tokenizer that pre-tokenizes (BPE) splits a chunk where the text itself has a boundary. Byte and
// char tokenizers give identical tokens however the text is chunked.

import { decodeUtf8 } from './utf8.js';
import { readByteChunks, DEFAULT_CHUNK_BYTES } from './read-file.js';

export interface ReadOptions {
  /** Bytes per read from disk (default 1 MiB). */
  chunkBytes?: number;
}

export async function* readTextFile(path: string, options: ReadOptions = {}): AsyncGenerator<string> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let carry = '';
  for await (const text of decodeUtf8(readByteChunks(path, chunkBytes), path)) {
    const joined = carry + text;
    const cut = joined.lastIndexOf('\n') + 1;
    // No line break for a long stretch (a minified file): yield anyway rather than grow without bound.
    if (cut === 0 && joined.length < 4 * chunkBytes) {
      carry = joined;
      continue;
    }
    const end = cut === 0 ? joined.length : cut;
    carry = joined.slice(end);
    yield joined.slice(0, end);
  }
  if (carry) yield carry;
}

export interface Line {
  text: string;
  /** 1-based line number in the file. */
  line: number;
}

/** The lines of a text stream (without their "\n" or "\r\n"), numbered from 1. */
export async function* readLines(texts: AsyncIterable<string>): AsyncGenerator<Line> {
  let partial = '';
  let line = 1;
  for await (const text of texts) {
    const parts = text.split('\n'); // split the new text only: a very long line stays linear
    if (parts.length === 1) {
      partial += text;
      continue;
    }
    parts[0] = partial + parts[0];
    partial = parts.pop()!;
    for (const part of parts) yield { text: stripCr(part), line: line++ };
  }
  if (partial) yield { text: stripCr(partial), line };
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
