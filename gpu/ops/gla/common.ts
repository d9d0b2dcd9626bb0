// Argument checks, the uniform block and WGSL helpers shared by the chunked and the recurrent forms of
// the class-B recurrence S_t = Diag(exp g_t) S_{t−1} + k_t v_tᵀ, o_t = scale · S_tᵀ q_t.

import { uniformBytes } from '../../engine.js';
import { formatShape, type Tensor } from '../../tensor.js';

export interface GlaOptions {
  /**
   * Log decay ≤ 0: [B, T, H, K] (one per key channel: GLA, HGRN2, RWKV-6) or [B, T, H] (one per head:
   * simple GLA, Mamba-2, RetNet, mLSTM); absent = no decay (linear attention). Values must be ≤ 0:
   * every exponential the kernels take is then of a non-positive number.
   */
  g?: Tensor;
  /** State to start from, [B, H, K, V]; absent = zeros. */
  initialState?: Tensor;
  /** Query scale; fla's default K^-½. */
  scale?: number;
  /** Tokens per chunk of the chunked form (16 or 32); the result does not depend on it. */
  chunkSize?: number;
}

export interface GlaOutput {
  /** [B, T, H, V] */
  o: Tensor;
  /** [B, H, K, V]: the state after the last token. */
  finalState: Tensor;
}

export interface GlaDims {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
  /** Decay values per token and head: K (per channel) or 1 (scalar, or no decay). */
  GK: number;
}

export const CHUNK_SIZES = [16, 32];
export const DEFAULT_CHUNK = 32;

function fail(op: string, message: string): never {
  throw new RangeError(`${op}: ${message}`);
}

function expectShape(op: string, name: string, t: Tensor, shape: number[]): void {
  if (t.dtype !== 'f32') throw new TypeError(`${op}: ${name} must be f32, got ${t.describe()}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    fail(op, `${name} must have shape ${formatShape(shape)}, got ${t.describe()}`);
  }
}

/** Checks q, k [B,T,H,K], v [B,T,H,V], g [B,T,H,K] or [B,T,H], initialState [B,H,K,V], the chunk size. */
export function checkGlaInputs(op: string, q: Tensor, k: Tensor, v: Tensor, o: GlaOptions): GlaDims {
  if (q.shape.length !== 4) fail(op, `q must be [B, T, H, K], got ${q.describe()}`);
  const [B, T, H, K] = q.shape;
  if (v.shape.length !== 4) fail(op, `v must be [B, T, H, V], got ${v.describe()}`);
  const V = v.shape[3];
  if (B < 1 || T < 1 || H < 1 || K < 1 || V < 1) {
    fail(op, `batch, length, heads and head dims must be positive (q ${q.describe()}, v ${v.describe()})`);
  }
  expectShape(op, 'q', q, [B, T, H, K]);
  expectShape(op, 'k', k, [B, T, H, K]);
  expectShape(op, 'v', v, [B, T, H, V]);
  let GK = 1;
  if (o.g) {
    if (o.g.shape.length === 4) {
      expectShape(op, 'g', o.g, [B, T, H, K]);
      GK = K;
    } else if (o.g.shape.length === 3) {
      expectShape(op, 'g', o.g, [B, T, H]);
    } else {
      fail(op, `g must be [B, T, H, K] (per key channel) or [B, T, H] (per head), got ${o.g.describe()}`);
    }
  }
  if (o.initialState) expectShape(op, 'initialState', o.initialState, [B, H, K, V]);
  const chunk = o.chunkSize ?? DEFAULT_CHUNK;
  if (!CHUNK_SIZES.includes(chunk)) fail(op, `chunkSize must be one of ${CHUNK_SIZES.join(', ')} (got ${chunk})`);
  if (o.scale !== undefined && !Number.isFinite(o.scale)) fail(op, `scale must be a finite number (got ${o.scale})`);
  for (const t of [k, v, o.g, o.initialState]) {
    if (t && t.engine !== q.engine) throw new Error(`${op}: inputs live on different GPU devices`);
  }
  return { B, T, H, K, V, GK };
}

/** Flags of the uniform block: an initial state is bound; a final-state gradient is bound. */
export const HAS_INITIAL = 1;
export const HAS_FINAL_GRAD = 2;

/** The uniform block of every kernel in this folder (layout `GLA_PARAMS`). */
export function glaUniforms(d: GlaDims, chunks: number, scale: number, flags: number): ArrayBuffer {
  return uniformBytes({ u32: [d.B, d.T, d.H, chunks, d.K, d.V, d.GK, flags], f32: [scale] });
}

export const GLA_PARAMS = `
struct Params { B: u32, T: u32, H: u32, NT: u32, K: u32, V: u32, GK: u32, flags: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;
// Row of token t of batch b, head h in the [B, T, H, ·] layouts.
fn tok(b: u32, t: u32, h: u32) -> u32 { return (b * u.T + t) * u.H + h; }
// Index of key channel d's decay for the token at row r: per channel, or the head's one value.
fn gidx(r: u32, d: u32) -> u32 { return select(r, r * u.K + d, u.GK > 1u); }`;

/** Threads per workgroup of the chunk-parallel kernels. */
export const PARALLEL_THREADS = 128;
