// safetensors, byte-exact with the reference implementation (huggingface/safetensors):
//   [u64 little-endian header length N][N bytes of UTF-8 JSON header][tensor data]
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
// data section) plus an optional "__metadata__" map of strings. The writer sorts tensors by name, packs
// them contiguously and pads the header with spaces to a multiple of 8 bytes, as the Rust writer does.
// The reader refuses anything the reference would refuse: a header longer than the file, bad JSON,
// unknown dtypes, sizes that disagree with shapes, overlapping, out-of-range or gapped offsets.

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** F32/F16/BF16/F64 decode to Float32Array (F64 to Float64Array); integers to Int32Array/BigInt64Array/Uint8Array. */
  data: Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Int16Array | BigInt64Array;
}

export interface SafetensorsFile {
  tensors: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/** Rust's Dtype enum order, descending (the reference writer's sort key). */
const WRITE_ORDER: Dtype[] = ['I64', 'F64', 'F32', 'I32', 'BF16', 'F16', 'I16', 'I8', 'U8', 'BOOL'];

/** A header length beyond this is refused before allocating (the reference caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

export function encodeSafetensors(entries: SafetensorsEntry[], metadata: Record<string, string> = {}): Uint8Array {
  // The reference writer orders tensors by dtype (largest alignment first) and then by name.
  const sorted = [...entries].sort(
    (a, b) =>
      WRITE_ORDER.indexOf(a.dtype) - WRITE_ORDER.indexOf(b.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const payloads: Uint8Array[] = [];
  for (const e of sorted) {
    if (e.name === '__metadata__') throw new SafetensorsError(e.name, 'a tensor may not be named __metadata__');
    if (header[e.name]) throw new SafetensorsError(e.name, 'duplicate tensor name');
    const bytes = encodeData(e);
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + bytes.length] };
    payloads.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  json += ' '.repeat(padded - jsonBytes.length);
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(new TextEncoder().encode(json), 8);
  let cursor = 8 + padded;
  for (const p of payloads) {
    out.set(p, cursor);
    cursor += p.length;
  }
  return out;
}

function encodeData(e: SafetensorsEntry): Uint8Array {
  const count = e.shape.reduce((a, b) => a * b, 1);
  if (e.data.length !== count) {
    throw new SafetensorsError(e.name, `${e.data.length} values for shape [${e.shape.join(',')}]`);
  }
  if (e.dtype === 'F16' || e.dtype === 'BF16') {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = e.dtype === 'BF16' ? toBf16(Number(e.data[i])) : toF16(Number(e.data[i]));
    return new Uint8Array(out.buffer);
  }
  const expected = BYTES[e.dtype];
  if (e.data.BYTES_PER_ELEMENT !== expected) {
    throw new SafetensorsError(
      e.name,
      `dtype ${e.dtype} needs ${expected}-byte elements, got a ${e.data.constructor.name}`,
    );
  }
  // Copy: the view may be part of a larger buffer, and little-endian is what every supported host uses.
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
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (error) {
    throw new SafetensorsError(source, `header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new SafetensorsError(source, 'header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const metadata = readMetadata(header.__metadata__, source);
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (typeof info?.dtype !== 'string' || !(info.dtype in BYTES)) {
      throw new SafetensorsError(
        source,
        `${where}: unknown dtype ${JSON.stringify(info?.dtype)} (known: ${Object.keys(BYTES).join(', ')})`,
      );
    }
    const dtype = info.dtype as Dtype;
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0)) {
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
    if (end > data.length)
      throw new SafetensorsError(
        source,
        `${where}: data_offsets [${begin}, ${end}] run past the ${data.length}-byte data section`,
      );
    const shape = info.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count * BYTES[dtype] !== end - begin) {
      throw new SafetensorsError(
        source,
        `${where}: ${dtype}[${shape.join(',')}] needs ${count * BYTES[dtype]} bytes, data_offsets give ${end - begin}`,
      );
    }
    spans.push({ name, begin, end });
    tensors.push({ name, dtype, shape, data: decodeData(dtype, data.subarray(begin, end), count) });
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
  tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { tensors, metadata };
}

function readMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === undefined) return {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new SafetensorsError(source, '__metadata__ must be an object of strings');
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string')
      throw new SafetensorsError(source, `__metadata__.${key} must be a string (got ${typeof value})`);
  }
  return raw as Record<string, string>;
}

function decodeData(dtype: Dtype, bytes: Uint8Array, count: number): SafetensorsEntry['data'] {
  // An owned, aligned copy. (Not `bytes.slice()`: on a Node Buffer that is a view into a shared pool.)
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(copy.buffer, 0, count);
    case 'F64':
      return new Float64Array(copy.buffer, 0, count);
    case 'I32':
      return new Int32Array(copy.buffer, 0, count);
    case 'I64':
      return new BigInt64Array(copy.buffer, 0, count);
    case 'I16':
      return new Int16Array(copy.buffer, 0, count);
    case 'I8':
      return new Int8Array(copy.buffer, 0, count);
    case 'U8':
    case 'BOOL':
      return copy;
    case 'F16':
    case 'BF16': {
      const halves = new Uint16Array(copy.buffer, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dtype === 'BF16' ? fromBf16(halves[i]) : fromF16(halves[i]);
      return out;
    }
  }
}

const scratch = new DataView(new ArrayBuffer(4));

function fromBf16(h: number): number {
  scratch.setUint32(0, h << 16, true);
  return scratch.getFloat32(0, true);
}

function toBf16(x: number): number {
  scratch.setFloat32(0, x, true);
  const bits = scratch.getUint32(0, true);
  if ((bits & 0x7fffffff) > 0x7f800000) return 0x7fc0; // NaN stays NaN
  return ((bits + 0x7fff + ((bits >> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
}

function fromF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function toF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // rounds to infinity
  if (a < 2 ** -24 / 2) return sign;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24); // subnormal
  let exponent = Math.floor(Math.log2(a));
  let fraction = Math.round((a / 2 ** exponent - 1) * 1024);
  if (fraction === 1024) {
    fraction = 0;
    exponent++;
  }
  return sign | ((exponent + 15) << 10) | fraction;
}
