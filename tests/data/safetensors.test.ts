import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsFile, writeSafetensorsFile } from '../../main/host/safetensors-file.js';
import { floatToBf16, floatToF16 } from '../../shared/formats/half.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from '../../shared/formats/index.js';

const fixture = new URL('../fixtures/data/python-layout.safetensors', import.meta.url);

function withHeader(json: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors: compatibility with the reference library layout', () => {
  const bytes = new Uint8Array(readFileSync(fixture));

  it('reads the Python-library-layout fixture with every dtype value correct', () => {
    const file = decodeSafetensors(bytes, 'python-layout.safetensors');
    expect(file.metadata).toEqual({ format: 'pt', writer: 'python safetensors' });
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    expect([...byName.keys()]).toEqual(['embeddings.weight', 'half', 'ids', 'layers.0.attn.q_proj.weight', 'steps']);
    const q = byName.get('layers.0.attn.q_proj.weight')!;
    expect(q.dtype).toBe('F32');
    expect(q.shape).toEqual([3, 4]);
    expect(Array.from(q.data as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => i / 8 - 0.5));
    expect(Array.from(byName.get('embeddings.weight')!.data as Float32Array)).toEqual([
      1.5,
      -2.25,
      Math.fround(3e-8),
      65504,
    ]);
    expect(Array.from(byName.get('ids')!.data as Int32Array)).toEqual([7, -1, 2147483647]);
    expect(byName.get('half')!.dtype).toBe('F16');
    expect(Array.from(byName.get('half')!.data as Float32Array)).toEqual([0.5, -1, 2]);
    expect(Array.from(byName.get('steps')!.data as BigInt64Array)).toEqual([1n, 2n]);
  });

  it('writes the same bytes as the reference writer for the same tensors (order, offsets, padding)', () => {
    const entries: SafetensorsEntry[] = [
      { name: 'ids', dtype: 'I32', shape: [3], data: Int32Array.from([7, -1, 2147483647]) },
      { name: 'half', dtype: 'F16', shape: [3], data: Float32Array.from([0.5, -1, 2]) },
      { name: 'steps', dtype: 'I64', shape: [2], data: BigInt64Array.from([1n, 2n]) },
      {
        name: 'layers.0.attn.q_proj.weight',
        dtype: 'F32',
        shape: [3, 4],
        data: Float32Array.from({ length: 12 }, (_, i) => i / 8 - 0.5),
      },
      { name: 'embeddings.weight', dtype: 'F32', shape: [2, 2], data: Float32Array.from([1.5, -2.25, 3e-8, 65504]) },
    ];
    expect(encodeSafetensors(entries, { format: 'pt', writer: 'python safetensors' })).toEqual(bytes);
  });

  it('writes an empty file as "{}" padded with spaces to 8 bytes, and a one-tensor file with a 64-byte header', () => {
    expect(Array.from(encodeSafetensors([]))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const one = encodeSafetensors([
      { name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) },
    ]);
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(json.length).toBe(64); // exactly a multiple of 8: no padding
    expect(one).toEqual(withHeader(json, new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer)));
  });
});

describe('safetensors: round trips and dtypes', () => {
  it('round-trips every integer and float dtype bit-exactly, including NaN payloads and -0', () => {
    const f32 = Float32Array.from({ length: 19 }, (_, i) => Math.sin(i) * 10 ** (i % 7));
    new Uint32Array(f32.buffer)[3] = 0x7fa00001; // a signalling NaN with a payload
    f32[4] = -0;
    const entries: SafetensorsEntry[] = [
      { name: 'f32', dtype: 'F32', shape: [19], data: f32 },
      { name: 'f64', dtype: 'F64', shape: [2, 2], data: Float64Array.from([Math.PI, -1e300, 5e-324, -0]) },
      { name: 'i64', dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) },
      { name: 'u64', dtype: 'U64', shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
      { name: 'i32', dtype: 'I32', shape: [3], data: Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1]) },
      { name: 'u32', dtype: 'U32', shape: [1], data: Uint32Array.from([2 ** 32 - 1]) },
      { name: 'i16', dtype: 'I16', shape: [2], data: Int16Array.from([-32768, 32767]) },
      { name: 'u16', dtype: 'U16', shape: [1], data: Uint16Array.from([65535]) },
      { name: 'i8', dtype: 'I8', shape: [2], data: Int8Array.from([-128, 127]) },
      { name: 'u8', dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) },
      { name: 'mask', dtype: 'BOOL', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
      { name: 'scalar', dtype: 'F32', shape: [], data: Float32Array.from([42]) },
      { name: 'empty', dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
    ];
    const file = encodeSafetensors(entries, { note: 'ünïcödé ✓' });
    const back = decodeSafetensors(file);
    expect(back.metadata).toEqual({ note: 'ünïcödé ✓' });
    for (const e of entries) {
      const t = back.tensors.find((x) => x.name === e.name)!;
      expect([t.dtype, t.shape]).toEqual([e.dtype, e.shape]);
      expect(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toEqual(
        new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength),
      );
    }
    expect(encodeSafetensors(back.tensors, back.metadata)).toEqual(file);
    // Every tensor starts 8-byte aligned in the file when the dtype ordering puts wide types first.
    const headerLength = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
  });

  it('rounds F16 to nearest-even exactly as numpy does', () => {
    const values = [
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      65519,
      65520,
      2 ** -25,
      2 ** -25 * 1.5,
      1e-7,
      -3.14159,
      0.1,
      2 ** -24 * 2.5,
    ];
    // numpy: np.array(values).astype(np.float16).view(np.uint16)
    expect(values.map(floatToF16)).toEqual([15360, 15362, 31743, 31744, 0, 1, 2, 49736, 11878, 2]);
  });

  it('rounds BF16 to nearest-even and keeps NaN a NaN', () => {
    // 1 + 2^-8 is halfway between bf16 1.0 (0x3f80) and 1 + 2^-7 (0x3f81): ties go to the even 0x3f80.
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBf16(NaN)).toBe(0x7fc0);
    expect(floatToBf16(-Infinity)).toBe(0xff80);
  });

  it('refuses a header that names the same tensor twice (JSON.parse would keep only the last)', () => {
    const bytes = withHeader(
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "w" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      new Uint8Array(8),
    );
    expect(() => decodeSafetensors(bytes, 'dup.safetensors')).toThrow(/dup.safetensors: header names "w" twice/);
  });

  it('does not mistake a string value at the top level of a nested object for a key', () => {
    const bytes = withHeader(
      '{"__metadata__":{"w":"w"},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
      new Uint8Array(1),
    );
    expect(decodeSafetensors(bytes).metadata).toEqual({ w: 'w' });
  });

  it('refuses to write duplicate names or values that do not fill the shape, naming the tensor', () => {
    const w = { name: 'w', dtype: 'F32' as const, shape: [2], data: new Float32Array(2) };
    expect(() => encodeSafetensors([w, w])).toThrow(/duplicate tensor name "w"/);
    expect(() => encodeSafetensors([{ ...w, shape: [3] }])).toThrow(/tensor "w": 2 values for shape \[3\]/);
    expect(() => encodeSafetensors([{ ...w, dtype: 'I64' }])).toThrow(/tensor "w": dtype I64 needs 8-byte elements/);
  });

  it('accepts tensor names that are Object.prototype keys', () => {
    const file = encodeSafetensors([
      { name: '__proto__', dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
      { name: 'constructor', dtype: 'U8', shape: [1], data: Uint8Array.from([2]) },
    ]);
    expect(decodeSafetensors(file).tensors.map((t) => [t.name, t.data[0]])).toEqual([
      ['__proto__', 1],
      ['constructor', 2],
    ]);
  });
});

describe('safetensors files on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'statelab-st-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes temp-then-rename: the target is replaced whole and no temporary file is left', () => {
    const path = join(dir, 'model.safetensors');
    writeSafetensorsFile(path, [{ name: 'a', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) }], {
      step: '1',
    });
    writeSafetensorsFile(path, [{ name: 'b', dtype: 'I32', shape: [1], data: Int32Array.from([7]) }], { step: '2' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const back = readSafetensorsFile(path);
    expect(back.metadata).toEqual({ step: '2' });
    expect(back.tensors.map((t) => [t.name, Array.from(t.data as Int32Array)])).toEqual([['b', [7]]]);
  });

  it('names the file when it is missing or truncated', () => {
    const missing = join(dir, 'missing.safetensors');
    expect(() => readSafetensorsFile(missing)).toThrow(new RegExp(`${missing}: cannot read \\(ENOENT`));
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, readFileSync(fixture).subarray(0, 300));
    expect(() => readSafetensorsFile(truncated)).toThrow(
      new RegExp(`${truncated}: header length 392 runs past the end of the 300-byte file`),
    );
  });

  it('a failed write leaves the previous file intact', () => {
    const path = join(dir, 'keep.safetensors');
    writeSafetensorsFile(path, [{ name: 'a', dtype: 'U8', shape: [1], data: Uint8Array.from([9]) }]);
    expect(() =>
      writeSafetensorsFile(path, [{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }]),
    ).toThrow(/tensor "a": 2 values for shape \[3\]/);
    expect(readSafetensorsFile(path).tensors[0].data[0]).toBe(9);
    expect(() => writeSafetensorsFile(join(dir, 'no-such-dir', 'x.safetensors'), [])).toThrow(/cannot write \(ENOENT/);
  });
});
