// safetensors, byte-exact with the reference implementation (huggingface/safetensors):
//   [u64 little-endian header length N][N bytes of UTF-8 JSON header][tensor data]
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
// data section, end exclusive) plus an optional "__metadata__" map of strings. The writer orders tensors
// as the Rust `prepare` does (dtype descending in the Rust enum's order, then name), packs them
// contiguously and pads the header with spaces to a multiple of 8 bytes, so every tensor is aligned.
// The reader refuses anything the reference would refuse: a header longer than the file, bad JSON,
// unknown dtypes, sizes that disagree with shapes, overlapping, out-of-range or gapped offsets, trailing
// bytes — and also duplicate tensor names, which JSON.parse (and serde) would silently collapse.

import { bf16ToFloat, f16ToFloat, floatToBf16, floatToF16 } from './half.js';

export type Dtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

const BYTES: Record<Dtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** The Rust `Dtype` enum's declaration order, reversed: the reference writer sorts by it, descending. */
const WRITE_ORDER: Dtype[] = [
  'U64',
  'I64',
  'F64',
  'F32',
  'U32',
  'I32',
  'BF16',
  'F16',
  'U16',
  'I16',
  'I8',
  'U8',
  'BOOL',
];

export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;

export interface SafetensorsEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /**
   * F32, F16 and BF16 decode to Float32Array (F16/BF16 widened exactly), F64 to Float64Array, integers to
   * the matching typed array (I64/U64 as BigInt arrays), U8 and BOOL to Uint8Array. When writing F16/BF16,
   * pass float values (any float array); they are rounded to nearest-even.
   */
  data: TensorData;
}

export interface SafetensorsFile {
  /** Sorted by name. */
  tensors: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/** A header length beyond this is refused before allocating (the reference caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

export function encodeSafetensors(
  entries: SafetensorsEntry[],
  metadata: Record<string, string> = {},
  source = 'safetensors',
): Uint8Array {
  const sorted = [...entries].sort(
    (a, b) => WRITE_ORDER.indexOf(a.dtype) - WRITE_ORDER.indexOf(b.dtype) || compareNames(a.name, b.name),
  );
  // A prototype-free object: a tensor may legally be called "constructor" or "__proto__".
  const header: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string')
      throw new SafetensorsError(source, `metadata "${key}" must be a string (got ${typeof value})`);
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const payloads: Uint8Array[] = [];
  for (const e of sorted) {
    if (e.name === '__metadata__') throw new SafetensorsError(source, 'a tensor may not be named __metadata__');
    if (e.name in header) throw new SafetensorsError(source, `duplicate tensor name "${e.name}"`);
    if (!(e.dtype in BYTES)) throw new SafetensorsError(source, `tensor "${e.name}": unknown dtype ${e.dtype}`);
    if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(
        source,
        `tensor "${e.name}": shape [${e.shape.join(',')}] is not non-negative integers`,
      );
    const bytes = encodeData(e, source);
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + bytes.length] };
    payloads.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded); // spaces, as the Rust writer pads
  let cursor = 8 + padded;
  for (const p of payloads) {
    out.set(p, cursor);
    cursor += p.length;
  }
  return out;
}

/** Rust's `String` ordering: bytewise on UTF-8, which for JS strings is code point order (not UTF-16). */
function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const ca = Array.from(a, (c) => c.codePointAt(0)!);
  const cb = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i] - cb[i];
  return ca.length - cb.length;
}

function encodeData(e: SafetensorsEntry, source: string): Uint8Array {
  const count = e.shape.reduce((a, b) => a * b, 1);
  if (e.data.length !== count) {
    throw new SafetensorsError(source, `tensor "${e.name}": ${e.data.length} values for shape [${e.shape.join(',')}]`);
  }
  if (e.dtype === 'F16' || e.dtype === 'BF16') {
    if (e.data instanceof BigInt64Array || e.data instanceof BigUint64Array)
      throw new SafetensorsError(source, `tensor "${e.name}": ${e.dtype} needs float values, got 64-bit integers`);
    const out = new Uint16Array(count);
    const round = e.dtype === 'BF16' ? floatToBf16 : floatToF16;
    for (let i = 0; i < count; i++) out[i] = round(e.data[i]);
    return new Uint8Array(out.buffer);
  }
  const expected = BYTES[e.dtype];
  if (e.data.BYTES_PER_ELEMENT !== expected) {
    throw new SafetensorsError(
      source,
      `tensor "${e.name}": dtype ${e.dtype} needs ${expected}-byte elements, got a ${e.data.constructor.name}`,
    );
  }
  // Copy: the view may be part of a larger buffer; little-endian is what every supported host uses.
  return new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength).slice();
}

export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (bytes.length < 8)
    throw new SafetensorsError(source, `file of ${bytes.length} bytes is too short for a header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES))
    throw new SafetensorsError(source, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(
      source,
      `header length ${headerLength} runs past the end of the ${bytes.length}-byte file`,
    );
  }
  const n = Number(headerLength);
  const header = parseHeader(bytes.subarray(8, 8 + n), source);
  const data = bytes.subarray(8 + n);
  const metadata = readMetadata(header.__metadata__, source);
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, begin, end } = readTensorInfo(name, raw, data.length, source);
    spans.push({ name, begin, end });
    tensors.push({ name, dtype, shape, data: decodeData(dtype, data.subarray(begin, end)) });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const span of spans) {
    if (span.begin < cursor)
      throw new SafetensorsError(source, `tensor "${span.name}" overlaps the previous tensor's data`);
    if (span.begin > cursor)
      throw new SafetensorsError(source, `gap of ${span.begin - cursor} bytes before tensor "${span.name}"`);
    cursor = span.end;
  }
  if (cursor !== data.length)
    throw new SafetensorsError(
      source,
      `${data.length - cursor} bytes after the last tensor are not described by the header`,
    );
  tensors.sort((a, b) => compareNames(a.name, b.name));
  return { tensors, metadata };
}

function parseHeader(raw: Uint8Array, source: string): Record<string, unknown> {
  let text: string;
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    header = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(source, `header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new SafetensorsError(source, 'header is not a JSON object');
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) throw new SafetensorsError(source, `header names "${key}" twice`);
    seen.add(key);
  }
  return header as Record<string, unknown>;
}

/** The keys of a JSON object's top level, in order, duplicates included (the text is known to be valid JSON). */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      let next = i + 1;
      while (' \t\r\n'.includes(json[next])) next++;
      if (depth === 1 && json[next] === ':') keys.push(JSON.parse(json.slice(start, i + 1)));
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

function readTensorInfo(
  name: string,
  raw: unknown,
  dataLength: number,
  source: string,
): { dtype: Dtype; shape: number[]; begin: number; end: number } {
  const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  const where = `tensor "${name}"`;
  if (!info || typeof info !== 'object') throw new SafetensorsError(source, `${where}: entry is not an object`);
  if (typeof info.dtype !== 'string' || !Object.hasOwn(BYTES, info.dtype)) {
    throw new SafetensorsError(
      source,
      `${where}: unknown dtype ${JSON.stringify(info.dtype)} (known: ${Object.keys(BYTES).join(', ')})`,
    );
  }
  const dtype = info.dtype as Dtype;
  if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(
      source,
      `${where}: shape ${JSON.stringify(info.shape)} is not a list of non-negative integers`,
    );
  }
  const offsets = info.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[1] < offsets[0]
  ) {
    throw new SafetensorsError(source, `${where}: data_offsets ${JSON.stringify(offsets)} are not [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength)
    throw new SafetensorsError(
      source,
      `${where}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section`,
    );
  const shape = info.shape as number[];
  const bytes = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
  if (bytes !== end - begin) {
    throw new SafetensorsError(
      source,
      `${where}: ${dtype}[${shape.join(',')}] needs ${bytes} bytes, data_offsets give ${end - begin}`,
    );
  }
  return { dtype, shape, begin, end };
}

function readMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new SafetensorsError(source, '__metadata__ must be an object of strings');
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string')
      throw new SafetensorsError(source, `__metadata__.${key} must be a string (got ${typeof value})`);
  }
  return { ...(raw as Record<string, string>) };
}

function decodeData(dtype: Dtype, bytes: Uint8Array): TensorData {
  // An owned, aligned copy. (Not `bytes.slice()`: on a Node Buffer that is a view into a shared pool.)
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const count = bytes.length / BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(copy.buffer, 0, count);
    case 'F64':
      return new Float64Array(copy.buffer, 0, count);
    case 'I64':
      return new BigInt64Array(copy.buffer, 0, count);
    case 'U64':
      return new BigUint64Array(copy.buffer, 0, count);
    case 'I32':
      return new Int32Array(copy.buffer, 0, count);
    case 'U32':
      return new Uint32Array(copy.buffer, 0, count);
    case 'I16':
      return new Int16Array(copy.buffer, 0, count);
    case 'U16':
      return new Uint16Array(copy.buffer, 0, count);
    case 'I8':
      return new Int8Array(copy.buffer, 0, count);
    case 'U8':
    case 'BOOL':
      return copy;
    case 'F16':
    case 'BF16': {
      const halves = new Uint16Array(copy.buffer, 0, count);
      const widen = dtype === 'BF16' ? bf16ToFloat : f16ToFloat;
      return Float32Array.from(halves, widen);
    }
  }
}
