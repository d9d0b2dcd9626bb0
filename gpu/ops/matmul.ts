// Matrix products: `matmul` (batched, broadcasting, optional transposes of either operand) and
// `linear` (torch's x·Wᵀ + b). Transposes are never materialized: the kernels read either layout,
// and the backward rules are matmuls with the transpose flags flipped. Kernels: ./matmul.kernels.ts.

import { record } from '../autograd.js';
import { uniformBytes, type Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { checkFloat } from './elementwise.js';
import {
  SKINNY_GROUPS,
  SKINNY_Q,
  skinnyMatmulWgsl,
  tiledMatmulWgsl,
  validateTileConfig,
  type LayoutFlags,
  type TileConfig,
} from './matmul.kernels.js';
import { sum, sumToShape } from './reduce.js';
import { reshape } from './shape.js';

export type { TileConfig } from './matmul.kernels.js';

export interface MatmulOptions {
  /** Use aᵀ: a is stored [..., K, M]. */
  transA?: boolean;
  /** Use bᵀ: b is stored [..., N, K] (a torch Linear weight against an input). */
  transB?: boolean;
  /** Kernel override for tests and benchmarks; 'auto' picks by shape. */
  kernel?: 'auto' | 'tiled' | 'skinny';
  /** Tile override for benchmarks (tiled kernel only). */
  tile?: TileConfig;
}

/**
 * Tiles chosen by the shape heuristic (H100 sweep, bench/RESULTS.md). With Dawn's default robustness
 * on (what the app gets), LARGE_TILE was the fastest at 1024³, 2048³ and 4096³. SMALL_TILE keeps more
 * SMs busy when large tiles would be very few, and needs only 16 KiB of workgroup memory (WebGPU's
 * default limit). With the disable_robustness toggle, UNSAFE_FAST_TILE measured faster at 2048³ and
 * 4096³; it is exported for hosts that run so (pass it as `tile`).
 */
export const LARGE_TILE: TileConfig = { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, group: 8 };
export const SMALL_TILE: TileConfig = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, group: 8 };
export const UNSAFE_FAST_TILE: TileConfig = {
  bm: 128,
  bn: 128,
  bk: 16,
  tm: 8,
  tn: 8,
  group: 8,
  lanes: 8,
  guards: true,
};
/** Fewer large tiles than this (half a wave on a 132-SM GPU) and SMALL_TILE runs instead. */
export const LARGE_TILE_MIN_TILES = 64;
/** A side at most this long uses the skinny kernel (matrix-vector products in step mode). */
export const SKINNY_MAX = 8;

const MAX_BATCH_RANK = 4;

// Generated sources are cached: regenerating (and re-hashing) a long WGSL string per dispatch would
// make encoding a training step CPU-bound.
const sources = new Map<string, string>();
function cachedSource(key: string, generate: () => string): string {
  let wgsl = sources.get(key);
  if (!wgsl) sources.set(key, (wgsl = generate()));
  return wgsl;
}
const MAX_GRID = 65535;

interface Plan {
  M: number;
  N: number;
  K: number;
  batchShape: number[];
  batch: number;
  /** Merged batch dims (≤ 4) and each operand's element strides along them (0 = broadcast). */
  dims: number[];
  aStrides: number[];
  bStrides: number[];
}

function plan(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Plan {
  checkFloat(op, a, b);
  if (a.engine !== b.engine) throw new Error(`${op}: inputs live on different GPU devices`);
  const shapes = `a ${a.describe()}${transA ? ' (transA)' : ''} and b ${b.describe()}${transB ? ' (transB)' : ''}`;
  if (a.shape.length < 2 || b.shape.length < 2)
    throw new RangeError(`${op}: both operands need ≥ 2 dims, got ${shapes}`);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) throw new RangeError(`${op}: inner dimensions differ (${K} vs ${Kb}) for ${shapes}`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batchShape: number[] = [];
  const dims: number[] = [];
  const aStrides: number[] = [];
  const bStrides: number[] = [];
  const aPad = [...new Array<number>(rank - aBatch.length).fill(1), ...aBatch];
  const bPad = [...new Array<number>(rank - bBatch.length).fill(1), ...bBatch];
  let aStride = M * K;
  let bStride = K * N;
  const aS = new Array<number>(rank);
  const bS = new Array<number>(rank);
  for (let d = rank - 1; d >= 0; d--) {
    aS[d] = aPad[d] === 1 ? 0 : aStride;
    bS[d] = bPad[d] === 1 ? 0 : bStride;
    aStride *= aPad[d];
    bStride *= bPad[d];
  }
  for (let d = 0; d < rank; d++) {
    const da = aPad[d];
    const db = bPad[d];
    if (da !== db && da !== 1 && db !== 1) throw new RangeError(`${op}: batch dims do not broadcast for ${shapes}`);
    const dim = Math.max(da, db);
    batchShape.push(da === 0 || db === 0 ? 0 : dim);
    if (dim === 1) continue;
    // Merge with the previous kept dim when both operands walk them as one longer dim.
    const last = dims.length - 1;
    if (last >= 0 && aStrides[last] === aS[d] * dim && bStrides[last] === bS[d] * dim) {
      dims[last] *= dim;
      aStrides[last] = aS[d];
      bStrides[last] = bS[d];
    } else {
      dims.push(dim);
      aStrides.push(aS[d]);
      bStrides.push(bS[d]);
    }
  }
  if (dims.length > MAX_BATCH_RANK) {
    throw new RangeError(`${op}: more than ${MAX_BATCH_RANK} independent broadcast batch dims for ${shapes}`);
  }
  const batch = batchShape.reduce((p, d) => p * d, 1);
  if (batch > MAX_GRID) throw new RangeError(`${op}: batch of ${batch} exceeds ${MAX_GRID} for ${shapes}`);
  return { M, N, K, batchShape, batch, dims, aStrides, bStrides };
}

/** Records the product into a new tensor [..., M, N]; no autograd. */
function dispatchMatmul(
  engine: Engine,
  a: Tensor,
  b: Tensor,
  p: Plan,
  transA: boolean,
  transB: boolean,
  options: MatmulOptions,
  bias?: Tensor,
  band?: CausalBand,
): Tensor {
  const { M, N, K, batch } = p;
  const out = engine.empty([...p.batchShape, M, N]);
  if (out.size === 0) return out;
  const flags: LayoutFlags = {
    transA,
    transB,
    // (K = 0 leaves the operands empty, below the 16-byte minimum binding of a vec4 array.)
    vecA: K > 0 && (transA ? M : K) % 4 === 0,
    vecB: K > 0 && (transB ? K : N) % 4 === 0,
    vecC: N % 4 === 0,
    bias: !!bias,
    ...(band ? { band: band.mode } : {}),
  };
  const pad = (values: number[], fill: number) => [...new Array<number>(4 - values.length).fill(fill), ...values];
  const tail = [...pad(p.dims, 1), ...pad(p.aStrides, 0), ...pad(p.bStrides, 0)];
  const bindings = bias ? [a, b, bias, out] : [a, b, out];
  const choice = options.kernel ?? 'auto';
  const skinny = choice === 'skinny' || (choice === 'auto' && Math.min(M, N) <= SKINNY_MAX);
  if (skinny) {
    const wideIsN = N >= M;
    const blocks = Math.ceil((wideIsN ? N : M) / SKINNY_GROUPS);
    const tinyBlocks = Math.ceil((wideIsN ? M : N) / SKINNY_Q);
    engine.dispatch(
      {
        name: 'matmul:skinny',
        wgsl: cachedSource(`s${JSON.stringify(flags)}${wideIsN}`, () => skinnyMatmulWgsl(flags, wideIsN)),
      },
      {
        bindings,
        uniforms: uniformBytes([M, N, K, 0, 0, blocks, 0, 0, ...tail]),
        workgroups: [Math.min(blocks, MAX_GRID), tinyBlocks, batch],
      },
    );
    return out;
  }
  const split = options.tile ? 1 : splitKFactor(p, transA, transB, !!bias, !!band);
  if (split > 1) return splitKMatmul(engine, a, b, p, split, options);
  const tile = options.tile ?? chooseTile(M, N, batch, engine.ctx.limits);
  flags.aligned = !tile.guards && M % tile.bm === 0 && N % tile.bn === 0 && K % tile.bk === 0 && K > 0;
  const key = `t${JSON.stringify(tile)}${JSON.stringify(flags)}`;
  if (!sources.has(key)) {
    const limits = engine.ctx.limits;
    validateTileConfig(tile, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupStorageSize);
  }
  const tilesN = Math.ceil(N / tile.bn);
  const tilesM = Math.ceil(M / tile.bm);
  if (tilesN > MAX_GRID || tilesM > MAX_GRID) {
    throw new RangeError(`matmul: [${M}×${K}]·[${K}×${N}] needs more than ${MAX_GRID} tiles along one side`);
  }
  engine.dispatch(
    { name: 'matmul:tiled', wgsl: cachedSource(key, () => tiledMatmulWgsl(tile, flags)) },
    {
      bindings,
      uniforms: uniformBytes([M, N, K, tilesN, tilesM, 0, band?.offset ?? 0, 0, ...tail]),
      workgroups: [tilesN, tilesM, batch],
    },
  );
  return out;
}

/** Split-K aims for this many workgroups (two waves on a 132-SM GPU; harmless on smaller ones). */
const SPLIT_K_TARGET_GROUPS = 264;
/** Shortest K slice worth a partial product of its own. */
const SPLIT_K_MIN_SLICE = 256;

/**
 * How many K slices the weight-gradient form takes: aᵀ·b with K the outer dim of both operands (x [B·T,
 * d_in]ᵀ · dy [B·T, d_out]). There the output has few tiles (16 for 256×256) while K = B·T is long, so a
 * handful of SMs each walk all of K and the rest idle — on an H100 these products were half of a small
 * Llama step's matmul time. Powers of two that divide K into slices of ≥ 256 (multiples of 16).
 */
export function splitKFactor(
  p: Pick<Plan, 'M' | 'N' | 'K' | 'batch'>,
  transA: boolean,
  transB: boolean,
  bias = false,
  band = false,
): number {
  if (!transA || transB || bias || band || p.batch !== 1) return 1;
  const tiles = Math.ceil(p.M / SMALL_TILE.bm) * Math.ceil(p.N / SMALL_TILE.bn);
  let split = 1;
  while (
    tiles * split * 2 <= SPLIT_K_TARGET_GROUPS &&
    p.K % (split * 2 * 16) === 0 &&
    p.K / (split * 2) >= SPLIT_K_MIN_SLICE
  ) {
    split *= 2;
  }
  return split;
}

/**
 * aᵀ·b with K cut into `split` slices: both operands are [K, ·] in memory, so [split, K/split, ·] is a free
 * reshape and the slices are one batched product [split, M, N], summed over the slices in a fixed order
 * (deterministic, no atomics).
 */
function splitKMatmul(engine: Engine, a: Tensor, b: Tensor, p: Plan, split: number, options: MatmulOptions): Tensor {
  const { M, N, K } = p;
  return engine.noGrad(() => {
    const aSlices = reshape(a, [split, K / split, M]);
    const bSlices = reshape(b, [split, K / split, N]);
    const partial = dispatchMatmul(
      engine,
      aSlices,
      bSlices,
      plan('matmul', aSlices, bSlices, true, false),
      true,
      false,
      options,
    );
    const out = reshape(sum(partial, 0), [...p.batchShape, M, N]);
    partial.release();
    return out;
  });
}

/** The shape heuristic between the two tile sizes (within the device's workgroup-memory limit). */
export function chooseTile(M: number, N: number, batch: number, limits?: GPUSupportedLimits): TileConfig {
  const largeBytes = 2 * LARGE_TILE.bk * (LARGE_TILE.bm + LARGE_TILE.bn) * 4;
  if (limits && largeBytes > limits.maxComputeWorkgroupStorageSize) return SMALL_TILE;
  const large = Math.ceil(M / LARGE_TILE.bm) * Math.ceil(N / LARGE_TILE.bn) * batch;
  return large >= LARGE_TILE_MIN_TILES ? LARGE_TILE : SMALL_TILE;
}

/**
 * op(a) · op(b) with NumPy broadcasting over the batch dims: a [..., M, K] (or [..., K, M] with
 * transA), b [..., K, N] (or [..., N, K] with transB) → [..., M, N].
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const p = plan('matmul', a, b, transA, transB);
  // A weight shared by every batch entry, against row-stacked inputs: one 2-D product with M·batch
  // rows fills the GPU better, and its backward sums the weight gradient inside the product.
  const bShared = p.bStrides.every((s) => s === 0);
  if (!transA && bShared && p.batch > 1 && a.shape.length > 2) {
    const rows = (a.size / Math.max(1, p.K)) | 0;
    const flatA = reshape(a, [rows, p.K]);
    const flatB = b.shape.length === 2 ? b : reshape(b, b.shape.slice(-2));
    return reshape(matmul(flatA, flatB, { ...options, transA: false }), [...p.batchShape, p.M, p.N]);
  }
  const out = dispatchMatmul(a.engine, a, b, p, transA, transB, options);
  return record(out, 'matmul', [a, b], (g) => {
    // d op(a) = g·op(b)ᵀ and d op(b) = op(a)ᵀ·g, each written as one matmul on the stored layouts.
    const gradA = transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
    const gradB = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
    return [sumToShape(gradA, a.shape), sumToShape(gradB, b.shape)];
  });
}

/** A causal band for `causalMatmul` (see LayoutFlags.band): query m sees keys j ≤ m + offset. */
export interface CausalBand {
  mode: 'upper' | 'kEnd' | 'kStart';
  offset: number;
}

/**
 * op(a) · op(b) as `matmul`, without autograd, skipping the tiles a causal band makes zero or unread
 * (attention's products; the caller guarantees the zeros and never reads the skipped outputs).
 */
export function causalMatmul(a: Tensor, b: Tensor, band: CausalBand, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const p = plan('causalMatmul', a, b, transA, transB);
  return dispatchMatmul(a.engine, a, b, p, transA, transB, options, undefined, band);
}

/**
 * y = x · weightᵀ + bias, torch layout: x [..., in], weight [out, in], bias [out] → [..., out].
 * Leading dims are flattened so this is one 2-D product (the bias is added in the kernel's epilogue).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  checkFloat('linear', x, weight, ...(bias ? [bias] : []));
  const inF = x.shape[x.shape.length - 1];
  const described = `x ${x.describe()}, weight ${weight.describe()}${bias ? `, bias ${bias.describe()}` : ''}`;
  if (x.shape.length < 1 || weight.shape.length !== 2 || weight.shape[1] !== inF) {
    throw new RangeError(`linear: expected x [..., in] and weight [out, in], got ${described}`);
  }
  const outF = weight.shape[0];
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outF)) {
    throw new RangeError(`linear: bias must be [${outF}], got ${described}`);
  }
  const rows = inF === 0 ? x.size : x.size / inF;
  const x2 = reshape(x, [rows, inF]);
  const p = plan('linear', x2, weight, false, true);
  const y2 = dispatchMatmul(x.engine, x2, weight, p, false, true, {}, bias);
  const inputs = bias ? [x2, weight, bias] : [x2, weight];
  record(y2, 'linear', inputs, (g) => [
    matmul(g, weight), // dx = g · W
    matmul(g, x2, { transA: true }), // dW = gᵀ · x, summed over all rows inside the product
    ...(bias ? [sum(g, 0)] : []),
  ]);
  return reshape(y2, [...x.shape.slice(0, -1), outF]);
}
