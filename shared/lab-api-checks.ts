// Building blocks of the LabApi contract: the error type, small checkers for untrusted arguments (each
// error names the method and the argument), and the JSON wire form of bytes used by the HTTP transport
// (`{"$bytes": "<base64>"}`; Electron's IPC carries Uint8Array natively and needs none of this).

/** Why a call failed, independent of the transport (HTTP status or IPC rejection). */
export type LabErrorCode = 'bad-arguments' | 'unknown-method' | 'not-found' | 'unsupported' | 'internal';

export class LabApiError extends Error {
  constructor(
    readonly code: LabErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LabApiError';
  }
}

function bad(method: string, message: string): never {
  throw new LabApiError('bad-arguments', `${method}: ${message}`);
}

export function expectCount(method: string, args: unknown[], names: string[]): void {
  if (args.length !== names.length) {
    const expected = names.length === 0 ? 'no arguments' : `${names.length} (${names.join(', ')})`;
    bad(method, `expected ${expected}, got ${args.length}`);
  }
}

export function expectString(method: string, name: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string') bad(method, `${name} must be a string, got ${describe(value)}`);
  if (value.length > maxLength) bad(method, `${name} is longer than ${maxLength} characters`);
  return value;
}

export function expectNumber(
  method: string,
  name: string,
  value: unknown,
  options: { integer?: boolean; min?: number; max?: number } = {},
): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (!options.integer || Number.isInteger(value));
  if (!ok) bad(method, `${name} must be ${options.integer ? 'an integer' : 'a finite number'}, got ${describe(value)}`);
  if (options.min !== undefined && value < options.min) bad(method, `${name} must be at least ${options.min}`);
  if (options.max !== undefined && value > options.max) bad(method, `${name} must be at most ${options.max}`);
  return value;
}

export function expectEnum<T extends string>(method: string, name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    bad(method, `${name} must be one of ${choices.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

export function expectObject(method: string, name: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    bad(method, `${name} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function expectBytes(method: string, name: string, value: unknown, maxBytes: number): Uint8Array {
  if (!(value instanceof Uint8Array)) bad(method, `${name} must be bytes (Uint8Array), got ${describe(value)}`);
  if (value.byteLength > maxBytes) bad(method, `${name} is larger than ${maxBytes} bytes`);
  return value;
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (Array.isArray(value)) return 'an array';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---------------------------------------------------------------- bytes over JSON

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 3 * 8192;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(bytes.length, start + CHUNK);
    let out = '';
    for (let i = start; i < end; i += 3) {
      const a = bytes[i];
      const b = i + 1 < end ? bytes[i + 1] : 0;
      const c = i + 2 < end ? bytes[i + 2] : 0;
      const n = (a << 16) | (b << 8) | c;
      out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
      out += i + 1 < end ? ALPHABET[(n >> 6) & 63] : '=';
      out += i + 2 < end ? ALPHABET[n & 63] : '=';
    }
    parts.push(out);
  }
  return parts.join('');
}

export function base64ToBytes(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new LabApiError('bad-arguments', 'bytes: base64 length must be a multiple of 4');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const ch = text.charCodeAt(i + j);
      const v = ch === 61 && i + j >= text.length - padding ? 0 : ch < 128 ? LOOKUP[ch] : -1;
      if (v < 0) throw new LabApiError('bad-arguments', `bytes: invalid base64 character at ${i + j}`);
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** Replaces every Uint8Array in a JSON-bound value by `{"$bytes": base64}`. */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: bytesToBase64(value) };
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

/** The inverse of `toWire`, applied to parsed JSON. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof record.$bytes === 'string') {
      return base64ToBytes(record.$bytes);
    }
    return Object.fromEntries(keys.map((k) => [k, fromWire(record[k])]));
  }
  return value;
}
