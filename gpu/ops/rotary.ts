// Rotary position embedding (RoFormer; fla's RotaryEmbedding, used by RetNet and attention layers): the
// channel pairs of each head are rotated by θ = p · base^(−2f/D) at absolute position p. The backward is
// the rotation by −θ. Positions start at a per-row offset (a GPU tensor), so a step with carried state
// rotates by its true position without reading anything back.
//
// Precision: f32 angles p·ω lose ~p·6e-8 rad (1e-4 rad at p = 2048), and WGSL's sin/cos are only
// specified on [−π, π]. The angle is therefore reduced exactly: with ω/2π = w_hi + w_lo where w_hi has
// 12 significant bits, and p = 4096·p_hi + p_lo (both < 4096), the products p_hi·(4096 w_hi) and
// p_lo·w_hi are exact in f32, so are their fractional parts, and p·w_lo is tiny — the turn count mod 1
// is accurate to ~1e-7 for every position below 2^24.

import { record } from '../autograd.js';
import { uniformBytes } from '../engine.js';
import { linearGrid, linearMain } from '../grid.js';
import { formatShape, type Tensor } from '../tensor.js';

export interface RotaryOptions {
  /** Position of token 0 per batch row, f32 [B] (integer values); absent = 0. */
  offset?: Tensor;
  /** Frequency base (10000 in RoFormer and fla). */
  base?: number;
  /** Pairs (2f, 2f+1) (GPT-J) instead of (f, f + D/2) (GPT-NeoX, fla's default). */
  interleaved?: boolean;
}

const ROTARY_KERNEL = `
struct Params { n: u32, T: u32, H: u32, D: u32, interleaved: u32, hasOffset: u32, direction: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> turns: array<f32>;
@group(0) @binding(3) var<storage, read> offset: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
// 2π · (p · (whi + wlo) mod 1) in [−π, π], exactly reduced (see the file header).
fn angle(p: f32, whi: f32, wlo: f32) -> f32 {
  let phi = floor(p / 4096.0);
  let plo = p - phi * 4096.0;
  var t = fract(phi * (4096.0 * whi)) + fract(plo * whi) + p * wlo;
  t = t - round(t);
  return 6.283185307179586 * t;
}
${linearMain()}
  if (i >= u.n) { return; }
  let d = i % u.D;
  let t = (i / (u.D * u.H)) % u.T;
  let b = i / (u.D * u.H * u.T);
  let half = u.D / 2u;
  var f = d % half;
  var j = select(d - half, d + half, d < half);
  var first = d < half;
  if (u.interleaved != 0u) {
    f = d / 2u;
    j = d ^ 1u;
    first = (d & 1u) == 0u;
  }
  var p = f32(t);
  if (u.hasOffset != 0u) { p += offset[b]; }
  let theta = u.direction * angle(p, turns[2u * f], turns[2u * f + 1u]);
  let partner = x[i - d + j];
  y[i] = x[i] * cos(theta) + select(partner, -partner, first) * sin(theta);
}`;

/** Per frequency f: ω_f / 2π split into a 12-significant-bit head and the rest. */
function turnTable(D: number, base: number): number[] {
  const table: number[] = [];
  for (let f = 0; f < D / 2; f++) {
    const w = Math.pow(base, (-2 * f) / D) / (2 * Math.PI);
    const unit = Math.pow(2, 11 - Math.floor(Math.log2(w)));
    const hi = Math.round(w * unit) / unit;
    table.push(hi, w - hi);
  }
  return table;
}

function rotate(x: Tensor, turns: Tensor, o: RotaryOptions, direction: 1 | -1): Tensor {
  const [, T, H, D] = x.shape;
  const engine = x.engine;
  const offset = o.offset ?? engine.empty([1]);
  const y = engine.empty(x.shape);
  engine.dispatch(
    { name: 'rotary', wgsl: ROTARY_KERNEL },
    {
      bindings: [x, turns, offset, y],
      uniforms: uniformBytes({
        u32: [x.size, T, H, D, o.interleaved ? 1 : 0, o.offset ? 1 : 0],
        f32: [direction],
      }),
      workgroups: linearGrid(x.size),
    },
  );
  if (!o.offset) offset.release();
  return y;
}

/** Rotates the channel pairs of x: [B, T, H, D] (D even) by their positions; differentiable in x. */
export function rotary(x: Tensor, options: RotaryOptions = {}): Tensor {
  if (x.dtype !== 'f32' || x.shape.length !== 4) {
    throw new RangeError(`rotary: x must be f32 [B, T, H, D], got ${x.describe()}`);
  }
  const [B, , , D] = x.shape;
  if (D < 2 || D % 2 !== 0) throw new RangeError(`rotary: head dim D must be even, got ${x.describe()}`);
  const base = options.base ?? 10000;
  if (!(base > 1)) throw new RangeError(`rotary: base must be greater than 1, got ${base}`);
  const offset = options.offset;
  if (offset && (offset.dtype !== 'f32' || offset.shape.length !== 1 || offset.shape[0] !== B)) {
    throw new RangeError(
      `rotary: offset must be f32 ${formatShape([B])} (one position per row), got ${offset.describe()}`,
    );
  }
  const turns = x.engine.fromArray(turnTable(D, base), [D]);
  const y = rotate(x, turns, options, 1);
  return record(y, 'rotary', [x], (g) => [rotate(g, turns, options, -1)]);
}
