// Argument checks and launch shapes shared by the chunked and the recurrent delta-rule ops.

import type { Engine } from '../../engine.js';
import { formatShape, type Tensor } from '../../tensor.js';
import { MAX_BV, STATE_TILE } from './chunk-kernels.js';

export interface DeltaRuleOptions {
  /** Log decay per token and head, [B, T, H], ≤ 0 (Gated DeltaNet); absent = no decay (DeltaNet). */
  g?: Tensor;
  /** State to start from, [B, H, K, V]; absent = zeros. */
  initialState?: Tensor;
  /** Query scale; fla's default K^-½. */
  scale?: number;
  /** Tokens per chunk of the chunked form (16 or 32; workgroup memory grows with its square). */
  chunkSize?: number;
}

export interface DeltaRuleOutput {
  /** [B, T, H, V] */
  o: Tensor;
  /** [B, H, K, V]: the state after the last token. */
  finalState: Tensor;
}

export interface DeltaDims {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
}

export const CHUNK_SIZES = [16, 32];

function fail(op: string, message: string): never {
  throw new RangeError(`${op}: ${message}`);
}

function expectShape(op: string, name: string, t: Tensor, shape: number[]): void {
  if (t.dtype !== 'f32') throw new TypeError(`${op}: ${name} must be f32, got ${t.describe()}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    fail(op, `${name} must have shape ${formatShape(shape)}, got ${t.describe()}`);
  }
}

/** Checks q, k [B,T,H,K], v [B,T,H,V], beta (and g) [B,T,H], initialState [B,H,K,V]. */
export function checkDeltaInputs(
  op: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  beta: Tensor,
  o: DeltaRuleOptions,
): DeltaDims {
  if (q.shape.length !== 4) fail(op, `q must be [B, T, H, K], got ${q.describe()}`);
  const [B, T, H, K] = q.shape;
  if (v.shape.length !== 4) fail(op, `v must be [B, T, H, V], got ${v.describe()}`);
  const V = v.shape[3];
  if (T < 1 || K < 1 || V < 1)
    fail(op, `sequence length and head dims must be positive (q ${q.describe()}, v ${v.describe()})`);
  expectShape(op, 'q', q, [B, T, H, K]);
  expectShape(op, 'k', k, [B, T, H, K]);
  expectShape(op, 'v', v, [B, T, H, V]);
  expectShape(op, 'beta', beta, [B, T, H]);
  if (o.g) expectShape(op, 'g', o.g, [B, T, H]);
  if (o.initialState) expectShape(op, 'initialState', o.initialState, [B, H, K, V]);
  const chunk = o.chunkSize ?? 32;
  if (!CHUNK_SIZES.includes(chunk)) fail(op, `chunkSize must be one of ${CHUNK_SIZES.join(', ')} (got ${chunk})`);
  const engine = q.engine;
  for (const t of [k, v, beta, o.g, o.initialState]) {
    if (t && t.engine !== engine) throw new Error(`${op}: inputs live on different GPU devices`);
  }
  return { B, T, H, K, V };
}

/**
 * Value columns per workgroup of the sequential kernels: the state's columns evolve independently, so
 * splitting V multiplies the workgroups (parallelism) while the [K, BV] tile stays within 8 KiB.
 */
export function valueTile(d: DeltaDims): number {
  let bv = MAX_BV;
  while (bv > 1 && (bv / 2 >= d.V || d.K * bv > STATE_TILE)) bv /= 2;
  if (d.K * bv > STATE_TILE)
    throw new RangeError(`delta rule: key head dim ${d.K} is larger than the supported ${STATE_TILE}`);
  return bv;
}

/**
 * The uniform block of every delta-rule kernel (layout `DELTA_PARAMS`). flags: 1 = initial state
 * given, 2 = final-state gradient given.
 */
export function deltaUniforms(d: DeltaDims, chunks: number, scale: number, flags: number, bv: number): ArrayBuffer {
  const bytes = new ArrayBuffer(48);
  const view = new DataView(bytes);
  [d.B, d.T, d.H, chunks].forEach((x, i) => view.setUint32(4 * i, x, true));
  view.setFloat32(16, scale, true);
  [flags, d.K, d.V, bv].forEach((x, i) => view.setUint32(20 + 4 * i, x, true));
  return bytes;
}

/** The delta-rule kernels bind up to 10 storage buffers; say so plainly on devices that allow fewer. */
export function checkBindingLimit(op: string, engine: Engine, needed: number): void {
  const limit = engine.ctx.limits.maxStorageBuffersPerShaderStage;
  if (limit < needed) {
    throw new Error(`${op}: needs ${needed} storage buffers per shader stage, this device allows ${limit}`);
  }
}

/** A 1-float stand-in for an absent optional input (every declared binding must be bound). */
export function placeholder(engine: Engine): Tensor {
  return engine.empty([1]);
}
