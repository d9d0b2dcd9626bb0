// IEEE half (F16) and bfloat16 (BF16) conversions to and from float32 bit patterns. safetensors stores
// both as raw 16-bit words; StateLab computes in f32, so the reader widens them and the writer rounds
// to nearest-even (the rounding PyTorch's `.half()` / `.bfloat16()` use).

const scratch = new DataView(new ArrayBuffer(4));

export function bf16ToFloat(h: number): number {
  scratch.setUint32(0, h << 16, true);
  return scratch.getFloat32(0, true);
}

export function floatToBf16(x: number): number {
  scratch.setFloat32(0, x, true);
  const bits = scratch.getUint32(0, true);
  if ((bits & 0x7fffffff) > 0x7f800000) return 0x7fc0; // NaN stays NaN
  return ((bits + 0x7fff + ((bits >> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
}

export function f16ToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function floatToF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // rounds to infinity
  if (a <= 2 ** -25) return sign; // exactly half the smallest subnormal rounds to even, i.e. zero
  if (a < 2 ** -14) return sign | roundHalfEven(a / 2 ** -24); // subnormal
  let exponent = Math.floor(Math.log2(a));
  if (2 ** exponent > a) exponent--; // log2 can round up just below a power of two
  let fraction = roundHalfEven((a / 2 ** exponent - 1) * 1024);
  if (fraction === 1024) {
    fraction = 0;
    exponent++;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | fraction;
}

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const rest = v - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
