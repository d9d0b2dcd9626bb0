// Where a dataset's tokens live, behind one interface: an array in memory (small datasets), or a range of a
// token cache file on disk read by position (datasets whose tokens do not fit the memory budget). Samplers
// only ever ask for a window `read(offset, count)`, so they neither know nor care which one they have, and
// the same offsets give the same tokens either way.

import { closeSync, openSync, readSync } from 'node:fs';
import { DatasetError, describeFsError } from './errors.js';

export interface TokenSource {
  readonly length: number;
  /** Tokens [offset, offset + count) into `into` (or a new array), which is returned. */
  read(offset: number, count: number, into?: Int32Array): Int32Array;
  /** Releases a file handle, if the source holds one; reading again reopens it. */
  close(): void;
}

export function checkRange(length: number, offset: number, count: number, where: string): void {
  if (!(Number.isInteger(offset) && Number.isInteger(count) && offset >= 0 && count >= 0 && offset + count <= length))
    throw new RangeError(`${where}: read of ${count} tokens at ${offset} is outside 0..${length}`);
}

export class MemoryTokenSource implements TokenSource {
  constructor(readonly tokens: Int32Array) {}

  get length(): number {
    return this.tokens.length;
  }

  read(offset: number, count: number, into = new Int32Array(count)): Int32Array {
    checkRange(this.tokens.length, offset, count, 'tokens in memory');
    into.set(this.tokens.subarray(offset, offset + count));
    return into;
  }

  close(): void {}
}

export type TokenDtype = 'uint16' | 'int32';

export const BYTES_PER_TOKEN: Record<TokenDtype, number> = { uint16: 2, int32: 4 };

/** The narrowest dtype that holds every id of a vocabulary: half the disk (and page cache) for most tokenizers. */
export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'int32';
}

/** An array or a source: the samplers accept either. */
export function asTokenSource(tokens: Int32Array | TokenSource): TokenSource {
  return tokens instanceof Int32Array ? new MemoryTokenSource(tokens) : tokens;
}

// A file handle per open source, closed when the source is collected if nobody called close(): a
// DataSource has no owner that always outlives it (the app's service, a CLI run), so this is the backstop.
const handles = new FinalizationRegistry<{ fd: number | null }>((h) => {
  if (h.fd !== null) closeSync(h.fd);
});

/**
 * Tokens [start, start + length) of a little-endian token file whose data begins at byte `dataOffset`.
 * Each read is one positioned read of just the window's bytes (the page cache does the rest), so memory
 * stays at one window whatever the file's size.
 */
export class FileTokenSource implements TokenSource {
  private readonly handle: { fd: number | null } = { fd: null };
  private scratch = new Uint8Array(0);

  constructor(
    readonly path: string,
    readonly dataOffset: number,
    readonly dtype: TokenDtype,
    readonly start: number,
    readonly length: number,
  ) {
    handles.register(this, this.handle, this);
  }

  read(offset: number, count: number, into = new Int32Array(count)): Int32Array {
    checkRange(this.length, offset, count, this.path);
    const width = BYTES_PER_TOKEN[this.dtype];
    const bytes = count * width;
    if (this.scratch.length < bytes) this.scratch = new Uint8Array(Math.max(bytes, 4096));
    const position = this.dataOffset + (this.start + offset) * width;
    let got = 0;
    try {
      this.handle.fd ??= openSync(this.path, 'r');
      while (got < bytes) {
        const n = readSync(this.handle.fd, this.scratch, got, bytes - got, position + got);
        if (n === 0) break;
        got += n;
      }
    } catch (error) {
      throw new DatasetError(this.path, `cannot read tokens (${describeFsError(error)})`);
    }
    if (got < bytes)
      throw new DatasetError(this.path, `token file ends early (wanted bytes ${position}..${position + bytes})`);
    const view = new DataView(this.scratch.buffer, this.scratch.byteOffset, bytes);
    if (this.dtype === 'uint16') for (let i = 0; i < count; i++) into[i] = view.getUint16(2 * i, true);
    else for (let i = 0; i < count; i++) into[i] = view.getInt32(4 * i, true);
    return into;
  }

  close(): void {
    if (this.handle.fd !== null) closeSync(this.handle.fd);
    this.handle.fd = null;
  }
}
