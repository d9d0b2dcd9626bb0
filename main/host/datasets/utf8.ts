// Streaming UTF-8 decoding that reports where a file stops being UTF-8. The fast path is one fatal
// TextDecoder in stream mode (it carries a character split across two chunks by itself). When it throws,
// the exact offset is found by validating the bytes it had not yet consumed: the incomplete tail of the
// previous chunk plus the current chunk. A BOM is dropped only at the very start of the file (a decoder
// told to ignore BOMs would otherwise keep it, and one per chunk would drop U+FEFF inside the text).

import { DatasetError } from './errors.js';

export interface Utf8Problem {
  /** Offset of the first byte of the offending sequence. */
  offset: number;
  /** True when the bytes end in the middle of a sequence (no invalid byte yet). */
  incomplete: boolean;
}

/** The first invalid UTF-8 sequence in bytes (RFC 3629: no overlongs, surrogates or values past U+10FFFF). */
export function findInvalidUtf8(bytes: Uint8Array): Utf8Problem | null {
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    const extra =
      lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (extra === 0) return { offset: i, incomplete: false };
    // The second byte's range is narrower after some leads: it is what excludes overlongs and surrogates.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= extra; k++) {
      if (i + k >= bytes.length) return { offset: i, incomplete: true };
      const b = bytes[i + k];
      if (b < (k === 1 ? low : 0x80) || b > (k === 1 ? high : 0xbf)) return { offset: i, incomplete: false };
    }
    i += extra + 1;
  }
  return null;
}

/** Decodes a stream of byte chunks to text; throws a DatasetError naming the file and byte offset. */
export async function* decodeUtf8(chunks: AsyncIterable<Uint8Array>, file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let consumed = 0; // bytes of the file before the current chunk
  let tail: Uint8Array = new Uint8Array(0); // bytes the decoder holds back: an incomplete character at the end
  let atStart = true;
  for await (const chunk of chunks) {
    const pending = concat(tail, chunk);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw notUtf8(file, pending, consumed - tail.length);
    }
    consumed += chunk.length;
    tail = incompleteTail(pending);
    if (atStart && text) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text) yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw notUtf8(file, tail, consumed - tail.length);
  }
  if (atStart && rest.charCodeAt(0) === 0xfeff) rest = rest.slice(1);
  if (rest) yield rest;
}

function notUtf8(file: string, bytes: Uint8Array, base: number): DatasetError {
  const problem = findInvalidUtf8(bytes) ?? { offset: 0, incomplete: false };
  const offset = base + problem.offset;
  const hex = bytes[problem.offset]?.toString(16).padStart(2, '0') ?? '??';
  return new DatasetError(
    file,
    problem.incomplete
      ? `is not UTF-8 text: the file ends inside a multi-byte character that starts at byte offset ${offset} (0x${hex})`
      : `is not UTF-8 text: invalid byte sequence at byte offset ${offset} (0x${hex}); re-save the file as UTF-8`,
  );
}

/** The trailing bytes of an unfinished character (at most 3), given bytes that are valid so far. */
function incompleteTail(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back];
    if (b < 0x80) break; // ASCII: nothing pending
    if (b >= 0xc0) {
      const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return back < length ? bytes.slice(bytes.length - back) : new Uint8Array(0);
    }
  }
  return new Uint8Array(0);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
