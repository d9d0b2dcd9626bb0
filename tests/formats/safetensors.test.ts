import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../shared/formats/safetensors.js';

function header(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

function withHeader(json: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips bit-exactly, with metadata, in the reference layout (8-byte padded header, sorted tensors)', () => {
    const random = Float32Array.from({ length: 37 }, () => (Math.random() - 0.5) * 1e3);
    random[3] = NaN;
    random[4] = -0;
    const file = encodeSafetensors(
      [
        { name: 'z.weight', dtype: 'F32', shape: [37], data: random },
        { name: 'a.ids', dtype: 'I32', shape: [2, 2], data: Int32Array.from([1, -2, 3, 2147483647]) },
        { name: 'a.bias', dtype: 'F32', shape: [0], data: new Float32Array(0) },
      ],
      { format: 'pt', step: '12' },
    );
    const h = header(file);
    expect(h.length % 8).toBe(0);
    expect(h.trimEnd()).toBe(
      '{"__metadata__":{"format":"pt","step":"12"},"a.bias":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},' +
        '"z.weight":{"dtype":"F32","shape":[37],"data_offsets":[0,148]},"a.ids":{"dtype":"I32","shape":[2,2],"data_offsets":[148,164]}}',
    );
    const back = decodeSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt', step: '12' });
    const z = back.tensors.find((t) => t.name === 'z.weight')!;
    expect(new Uint8Array(z.data.buffer)).toEqual(new Uint8Array(random.buffer));
    expect(Array.from(back.tensors.find((t) => t.name === 'a.ids')!.data as Int32Array)).toEqual([
      1, -2, 3, 2147483647,
    ]);
    expect(encodeSafetensors(back.tensors, back.metadata)).toEqual(file);
    // Files read with fs come as Node Buffers that view a shared pool at an offset.
    const pooled = Buffer.concat([Buffer.from('padding!'), Buffer.from(file)]).subarray(8);
    const fromBuffer = decodeSafetensors(pooled);
    expect(new Uint8Array(fromBuffer.tensors.find((t) => t.name === 'z.weight')!.data.buffer)).toEqual(
      new Uint8Array(random.buffer),
    );
  });

  it('decodes F16 and BF16 to float32 exactly for representable values', () => {
    const values = Float32Array.from([0, 1, -2.5, 65504, 2 ** -24, 0.333251953125]);
    const file = encodeSafetensors([
      { name: 'h', dtype: 'F16', shape: [6], data: values },
      { name: 'b', dtype: 'BF16', shape: [3], data: Float32Array.from([1, -3.5, 2 ** 100]) },
    ]);
    const back = decodeSafetensors(file);
    expect(Array.from(back.tensors.find((t) => t.name === 'h')!.data as Float32Array)).toEqual(Array.from(values));
    expect(Array.from(back.tensors.find((t) => t.name === 'b')!.data as Float32Array)).toEqual([1, -3.5, 2 ** 100]);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(4), /too short for a header length/],
    [
      'header past the end',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 1000n, true);
        return b;
      })(),
      /header length 1000 runs past the end of the 16-byte file/,
    ],
    [
      'hostile header length',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true);
        return b;
      })(),
      /exceeds the 100000000-byte limit/,
    ],
    ['not JSON', withHeader('{"a": ', new Uint8Array(0)), /header is not valid UTF-8 JSON/],
    [
      'unknown dtype',
      withHeader('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', new Uint8Array(16)),
      /tensor "a": unknown dtype "F128"/,
    ],
    [
      'size mismatch',
      withHeader('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /F32\[3\] needs 12 bytes, data_offsets give 8/,
    ],
    [
      'out of range',
      withHeader('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', new Uint8Array(8)),
      /run past the 8-byte data section/,
    ],
    [
      'overlap',
      withHeader(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
        new Uint8Array(12),
      ),
      /overlaps the previous tensor/,
    ],
    [
      'gap',
      withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)),
      /gap of 4 bytes before tensor "a"/,
    ],
    [
      'trailing bytes',
      withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(8)),
      /4 bytes after the last tensor/,
    ],
    [
      'bad offsets',
      withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', new Uint8Array(8)),
      /are not \[begin, end\]/,
    ],
    [
      'metadata not strings',
      withHeader('{"__metadata__":{"step":3}}', new Uint8Array(0)),
      /__metadata__\.step must be a string/,
    ],
  ];
  for (const [label, bytes, message] of bad) {
    it(`refuses a corrupted file: ${label}`, () => {
      expect(() => decodeSafetensors(bytes, 'model.safetensors')).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes, 'model.safetensors')).toThrow(message);
    });
  }
});
