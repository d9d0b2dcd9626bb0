// The on-disk token cache: a dataset tokenized once, reused while its source and tokenizer are unchanged.
//
// One file, `<key>.bin`: a 4 KiB header (a magic line, then JSON padded with spaces) and the tokens as
// little-endian uint16 or int32 from byte 4096. The key hashes the source's fingerprint (path, size, mtime,
// format, field, separator, tokenizer), so an edited file or another tokenizer gets a different cache; the
// header repeats the fingerprint and carries the token count and a CRC-32 of the data, which opening checks,
// so a stale, truncated or bit-flipped cache is refused, never trusted.
//
// Written chunk by chunk to a temporary sibling named after the writing process; only a complete file
// (header last, fsync) is renamed to `<key>.bin`. A killed tokenization therefore leaves at most a temporary
// file, which readers never open and the next writer of that key deletes once its process is gone.

import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DatasetError, describeFsError } from './errors.js';
import { BYTES_PER_TOKEN, dtypeFor, FileTokenSource, type TokenDtype } from './token-source.js';

export const HEADER_BYTES = 4096;
const MAGIC = 'STATELAB-TOKENS 1\n';
const FLUSH_TOKENS = 1 << 18;

/** What the cached tokens were made from; any change means a different cache. */
export type TokenFingerprint = Record<string, string | number | null>;

export interface TokenCacheHeader {
  dtype: TokenDtype;
  tokens: number;
  vocabSize: number;
  crc32: number;
  fingerprint: TokenFingerprint;
}

export function cacheKey(fingerprint: TokenFingerprint): string {
  return createHash('sha256').update(stableJson(fingerprint)).digest('hex').slice(0, 32);
}

export function cachePath(cacheDir: string, fingerprint: TokenFingerprint): string {
  return join(cacheDir, `${cacheKey(fingerprint)}.bin`);
}

function stableJson(value: TokenFingerprint): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** Appends tokens to a temporary cache file; finish() makes it the cache, abort() removes it. */
export class TokenCacheWriter {
  readonly temp: string;
  private readonly fd: number;
  private readonly dtype: TokenDtype;
  private readonly chunk: Uint16Array | Int32Array;
  private filled = 0;
  private written = 0;
  private crc = 0;
  private done = false;

  constructor(
    readonly path: string,
    private readonly vocabSize: number,
    private readonly fingerprint: TokenFingerprint,
  ) {
    const dir = dirname(path);
    const name = basename(path);
    // Fail before tokenizing anything if the header could not hold this fingerprint (a path of kilobytes).
    encodeHeader({ dtype: 'int32', tokens: Number.MAX_SAFE_INTEGER, vocabSize, crc32: 2 ** 32 - 1, fingerprint }, path);
    try {
      mkdirSync(dir, { recursive: true });
      removeAbandonedTemps(dir, name);
      this.temp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
      this.fd = openSync(this.temp, 'w');
    } catch (error) {
      throw new DatasetError(path, `cannot write the token cache (${describeFsError(error)})`);
    }
    this.dtype = dtypeFor(vocabSize);
    this.chunk = this.dtype === 'uint16' ? new Uint16Array(FLUSH_TOKENS) : new Int32Array(FLUSH_TOKENS);
  }

  get tokens(): number {
    return this.written + this.filled;
  }

  append(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      if (this.filled === this.chunk.length) this.flush();
      this.chunk[this.filled++] = ids[i];
    }
  }

  private flush(): void {
    if (this.filled === 0) return;
    // Typed arrays are little-endian on every platform Node runs on, which is what the format says.
    const bytes = new Uint8Array(this.chunk.buffer, 0, this.filled * BYTES_PER_TOKEN[this.dtype]);
    this.writeAt(bytes, HEADER_BYTES + this.written * BYTES_PER_TOKEN[this.dtype]);
    this.crc = crc32(bytes, this.crc);
    this.written += this.filled;
    this.filled = 0;
  }

  private writeAt(bytes: Uint8Array, position: number): void {
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, position + done);
    } catch (error) {
      this.abort();
      throw new DatasetError(this.path, `cannot write the token cache (${describeFsError(error)})`);
    }
  }

  /** Writes the header, syncs, and renames the file into place; returns its header. */
  finish(): TokenCacheHeader {
    this.flush();
    const header: TokenCacheHeader = {
      dtype: this.dtype,
      tokens: this.written,
      vocabSize: this.vocabSize,
      crc32: this.crc,
      fingerprint: this.fingerprint,
    };
    this.writeAt(encodeHeader(header, this.path), 0);
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.done = true;
      renameSync(this.temp, this.path);
    } catch (error) {
      this.abort();
      throw new DatasetError(this.path, `cannot write the token cache (${describeFsError(error)})`);
    }
    return header;
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(this.temp);
    } catch {
      // already gone; nothing was trusted either way
    }
  }
}

function encodeHeader(header: TokenCacheHeader, path: string): Uint8Array {
  const text = MAGIC + JSON.stringify(header) + '\n';
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > HEADER_BYTES)
    throw new DatasetError(
      path,
      `token cache header would be ${bytes.length} bytes (max ${HEADER_BYTES}); shorten the path`,
    );
  const out = new Uint8Array(HEADER_BYTES).fill(0x20);
  out.set(bytes);
  return out;
}

/** Temporary files of this cache name left by processes that no longer run (killed mid-tokenization). */
function removeAbandonedTemps(dir: string, name: string): void {
  for (const entry of readdirSync(dir)) {
    const m = /^\.(.+)\.(\d+)\.\d+\.tmp$/.exec(entry);
    if (!m || m[1] !== name || isRunning(Number(m[2]))) continue;
    try {
      unlinkSync(join(dir, entry));
    } catch {
      // another process cleaned it first
    }
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return false; // a temp of ours that an earlier, failed attempt left
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface OpenedCache {
  header: TokenCacheHeader;
  /** All the cached tokens; callers split it into ranges. */
  range(start: number, length: number): FileTokenSource;
}

/**
 * Opens `<key>.bin` for this fingerprint: null when there is none; a DatasetError saying what is wrong when
 * the file is there but cannot be trusted (the caller deletes and rebuilds it). Reads the whole file once to
 * check its CRC — sequential and in small blocks, far cheaper than tokenizing again.
 */
export function openTokenCache(path: string, fingerprint: TokenFingerprint): OpenedCache | null {
  if (!existsSync(path)) return null;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new DatasetError(path, `cannot read the token cache (${describeFsError(error)})`);
  }
  try {
    const header = readHeader(fd, path);
    if (stableJson(header.fingerprint) !== stableJson(fingerprint))
      throw new DatasetError(path, 'token cache was made from another file version or tokenizer (stale)');
    const width = BYTES_PER_TOKEN[header.dtype];
    const size = fstatSync(fd).size;
    if (size !== HEADER_BYTES + header.tokens * width)
      throw new DatasetError(
        path,
        `token cache is ${size} bytes but its header says ${header.tokens} ${header.dtype} tokens (${HEADER_BYTES + header.tokens * width} bytes): truncated or damaged`,
      );
    const crc = crcOfData(fd, size);
    if (crc !== header.crc32)
      throw new DatasetError(path, `token cache data fails its checksum (crc32 ${crc} ≠ ${header.crc32}): damaged`);
    return {
      header,
      range: (start, length) => new FileTokenSource(path, HEADER_BYTES, header.dtype, start, length),
    };
  } finally {
    closeSync(fd);
  }
}

function readHeader(fd: number, path: string): TokenCacheHeader {
  const bytes = new Uint8Array(HEADER_BYTES);
  const got = readSync(fd, bytes, 0, HEADER_BYTES, 0);
  const text = new TextDecoder().decode(bytes.subarray(0, got));
  if (got < HEADER_BYTES || !text.startsWith(MAGIC))
    throw new DatasetError(path, 'is not a StateLab token cache (bad or missing header)');
  let header: Partial<TokenCacheHeader>;
  try {
    header = JSON.parse(text.slice(MAGIC.length).trimEnd()) as Partial<TokenCacheHeader>;
  } catch (error) {
    throw new DatasetError(path, `token cache header is not valid JSON (${(error as Error).message})`);
  }
  const ok =
    header &&
    (header.dtype === 'uint16' || header.dtype === 'int32') &&
    Number.isSafeInteger(header.tokens) &&
    header.tokens! >= 0 &&
    Number.isSafeInteger(header.vocabSize) &&
    Number.isInteger(header.crc32) &&
    header.fingerprint !== null &&
    typeof header.fingerprint === 'object';
  if (!ok) throw new DatasetError(path, `token cache header is incomplete: ${JSON.stringify(header)}`);
  return header as TokenCacheHeader;
}

function crcOfData(fd: number, size: number): number {
  const block = new Uint8Array(1 << 22);
  let crc = 0;
  for (let position = HEADER_BYTES; position < size;) {
    const n = readSync(fd, block, 0, Math.min(block.length, size - position), position);
    if (n === 0) break;
    crc = crc32(block.subarray(0, n), crc);
    position += n;
  }
  return crc;
}

/**
 * Deletes the caches of earlier versions of the same source file (same `path`, another `size` or
 * `mtimeMs`): they can never match again, and a dataset edited a few times would otherwise leave a copy of
 * its tokens per edit. Caches of the same file under another tokenizer are kept. Returns what it removed.
 */
export function removeSupersededCaches(cacheDir: string, current: TokenFingerprint): string[] {
  const removed: string[] = [];
  if (current.path === undefined) return removed;
  for (const entry of readdirSync(cacheDir)) {
    if (!/^[0-9a-f]{32}\.bin$/.test(entry)) continue;
    const path = join(cacheDir, entry);
    let fingerprint: TokenFingerprint;
    try {
      const fd = openSync(path, 'r');
      try {
        fingerprint = readHeader(fd, path).fingerprint;
      } finally {
        closeSync(fd);
      }
    } catch {
      continue; // unreadable: whoever opens it next finds out and rebuilds it
    }
    if (
      fingerprint.path === current.path &&
      (fingerprint.size !== current.size || fingerprint.mtimeMs !== current.mtimeMs)
    ) {
      try {
        unlinkSync(path); // a run still reading it keeps its open handle (POSIX); elsewhere it stays
        removed.push(path);
      } catch {
        // in use (Windows) or already gone
      }
    }
  }
  return removed;
}
