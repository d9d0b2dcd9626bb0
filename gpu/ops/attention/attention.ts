// Causal softmax attention as a differentiable op: grouped and multi-query heads, an optional sliding
// window and the Forgetting Transformer's bias. Two implementations compute the same function: the
// dense one (dense.ts: the score matrix through the tuned matmul kernels, fast) while its B·H·Tq·Tk
// scores fit DENSE_MAX_SCORE_BYTES, and past that the flash kernels (flash-kernels.ts), whose memory is
// linear in T: the forward saves only the output and one logsumexp per query row.

import { record } from '../../autograd.js';
import type { Engine } from '../../engine.js';
import { formatShape, type Tensor } from '../../tensor.js';
import { add, mul, zeros } from '../elementwise.js';
import { sum } from '../reduce.js';
import { DENSE_MAX_SCORE_BYTES, denseAttention, denseScoreBytes, type DenseDims } from './dense.js';
import { dkvKernel, dqKernel, forwardKernel, type FlashTiles } from './flash-kernels.js';

export interface AttentionOptions {
  /** Logit scale; default D^-½. */
  scale?: number;
  /** Sliding window: query position p sees keys j with p − window < j ≤ p. 0 (default) = all of j ≤ p. */
  window?: number;
  /**
   * Forgetting Transformer bias: F [B, Tk, H], the cumulative sum of log forget gates per query head;
   * logits get F_p − F_j. Differentiable.
   */
  cumLogForget?: Tensor;
  /** Name used in error messages (e.g. the mixer's parameter prefix). */
  layer?: string;
  /**
   * 'auto' (default): dense while one score matrix fits DENSE_MAX_SCORE_BYTES (and a storage binding),
   * flash beyond. 'flash' or 'dense' force one (tests, benchmarks, memory-bound callers).
   */
  implementation?: 'auto' | 'flash' | 'dense';
}

type Dims = DenseDims;

function fail(where: string, message: string): never {
  throw new RangeError(`${where}: ${message}`);
}

function checkInputs(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Dims {
  const where = o.layer ? `attention "${o.layer}"` : 'attention';
  if (q.shape.length !== 4 || k.shape.length !== 4 || v.shape.length !== 4) {
    fail(where, `q, k, v must be [B, T, heads, head_dim], got ${q.describe()}, ${k.describe()}, ${v.describe()}`);
  }
  const [B, Tq, H, D] = q.shape;
  const [, Tk, HKV] = k.shape;
  for (const [name, t] of [
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.shape[0] !== B || t.shape[1] !== Tk || t.shape[2] !== HKV || t.shape[3] !== D) {
      fail(where, `${name} must have shape ${formatShape([B, Tk, HKV, D])}, got ${t.describe()}`);
    }
  }
  if (HKV < 1 || H % HKV !== 0) fail(where, `num_heads ${H} must be a multiple of num_kv_heads ${HKV}`);
  if (Tq > Tk) fail(where, `${Tq} queries but only ${Tk} keys (queries are the last positions of the keys)`);
  const window = o.window ?? 0;
  if (!Number.isInteger(window) || window < 0) fail(where, `window must be a non-negative integer (got ${window})`);
  if (o.cumLogForget) {
    const f = o.cumLogForget;
    if (f.shape.length !== 3 || f.shape[0] !== B || f.shape[1] !== Tk || f.shape[2] !== H) {
      fail(where, `cumLogForget must have shape ${formatShape([B, Tk, H])}, got ${f.describe()}`);
    }
  }
  for (const t of [q, k, v, o.cumLogForget]) {
    if (t && t.dtype !== 'f32') throw new TypeError(`${where}: expected f32 inputs, got ${t.describe()}`);
  }
  return { B, Tq, Tk, H, HKV, D };
}

/** Workgroup bytes of each kernel for given tiles (see the var<workgroup> declarations; rows padded by 1). */
function workgroupBytes(kind: 'forward' | 'dq' | 'dkv', br: number, bc: number, dmax: number): number {
  const row = dmax + 1;
  if (kind === 'forward') return 4 * (br * row + bc * row + br * bc);
  if (kind === 'dq') return 4 * (2 * br * row + 2 * bc * row + br * bc);
  return 4 * (2 * bc * row + 2 * br * row + 2 * br * bc + 2 * br);
}

/**
 * The tiles with the most (query, key) pairs whose workgroup memory fits this device; among equals the
 * squarest (fewer barriers per pair).
 */
export function chooseTiles(engine: Engine, kind: 'forward' | 'dq' | 'dkv', D: number): FlashTiles {
  const dmax = Math.max(8, 2 ** Math.ceil(Math.log2(D)));
  const tpr = 8;
  const limit = engine.ctx.limits.maxComputeWorkgroupStorageSize;
  let best: FlashTiles | null = null;
  const score = (t: FlashTiles) => t.br * t.bc * 64 + Math.min(t.br, t.bc);
  for (const br of [32, 16, 8, 4]) {
    for (const bc of [32, 16, 8, 4]) {
      const tiles = { br, bc, tpr, dmax };
      if (workgroupBytes(kind, br, bc, dmax) <= limit && (!best || score(tiles) > score(best))) best = tiles;
    }
  }
  if (!best)
    throw new RangeError(`attention: head_dim ${D} needs more workgroup memory than this device's ${limit} bytes`);
  return best;
}

function chooseImplementation(engine: Engine, d: Dims, asked: 'auto' | 'flash' | 'dense'): 'flash' | 'dense' {
  if (asked !== 'auto') return asked;
  const bytes = denseScoreBytes(d);
  return bytes <= DENSE_MAX_SCORE_BYTES && bytes <= engine.ctx.limits.maxStorageBufferBindingSize ? 'dense' : 'flash';
}

function uniforms(d: Dims, window: number, hasBias: boolean, scale: number, tiles: FlashTiles): ArrayBuffer {
  const bytes = new ArrayBuffer(48);
  const view = new DataView(bytes);
  [d.B, d.Tq, d.Tk, d.H, d.HKV, d.D, window, hasBias ? 1 : 0].forEach((x, i) => view.setUint32(4 * i, x, true));
  view.setFloat32(32, scale, true);
  view.setUint32(36, tiles.br, true);
  view.setUint32(40, tiles.bc, true);
  return bytes;
}

/**
 * Causal attention. q [B, Tq, H, D]; k, v [B, Tk, Hkv, D] with Hkv dividing H; the queries are the
 * last Tq positions (Tq = Tk in training; Tq < Tk when decoding against a KV cache). → [B, Tq, H, D].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const d = checkInputs(q, k, v, options);
  const engine = q.engine;
  const window = options.window ?? 0;
  const scale = options.scale ?? 1 / Math.sqrt(d.D);
  if (chooseImplementation(engine, d, options.implementation ?? 'auto') === 'dense') {
    return denseAttention(q, k, v, d, window, scale, options.cumLogForget);
  }
  const bias = options.cumLogForget ?? engine.empty([1]);
  const tiles = chooseTiles(engine, 'forward', d.D);
  const o = engine.empty([d.B, d.Tq, d.H, d.D]);
  const lse = engine.empty([d.B, d.Tq, d.H]);
  engine.dispatch(
    { name: 'attention:forward', wgsl: forwardKernel(tiles) },
    {
      bindings: [q, k, v, bias, o, lse],
      uniforms: uniforms(d, window, !!options.cumLogForget, scale, tiles),
      workgroups: [Math.ceil(d.Tq / tiles.br), d.B * d.H],
    },
  );
  const inputs = [q, k, v, options.cumLogForget].filter((t): t is Tensor => t !== undefined);
  if (!engine.isGradEnabled || !inputs.some((t) => t.requiresGrad)) {
    lse.release();
    if (!options.cumLogForget) bias.release();
    return o;
  }
  return record(o, 'attention', inputs, (gO) => {
    const grads = attentionBackward(engine, d, { q, k, v, bias, o, lse, gO }, window, scale, !!options.cumLogForget);
    return options.cumLogForget ? grads : grads.slice(0, 3);
  });
}

function attentionBackward(
  engine: Engine,
  d: Dims,
  x: { q: Tensor; k: Tensor; v: Tensor; bias: Tensor; o: Tensor; lse: Tensor; gO: Tensor },
  window: number,
  scale: number,
  hasBias: boolean,
): (Tensor | null)[] {
  // Δ_i = dO_i·o_i = Σ_j P_ij dO_i·v_j: the softmax Jacobian's row term.
  const delta = sum(mul(x.gO, x.o), 3);
  const dq = engine.empty(x.q.shape);
  const dk = engine.empty(x.k.shape);
  const dv = engine.empty(x.v.shape);
  // Row sums land on query positions, column sums on key positions; positions before the first
  // query (a KV-cache prefix) get no row sum, hence the zeros.
  const dbiasRows = hasBias
    ? d.Tq < d.Tk
      ? zeros(engine, [d.B, d.Tk, d.H])
      : engine.empty([d.B, d.Tk, d.H])
    : engine.empty([1]);
  const dbiasCols = hasBias ? engine.empty([d.B, d.Tk, d.H]) : engine.empty([1]);
  const tq = chooseTiles(engine, 'dq', d.D);
  engine.dispatch(
    { name: 'attention:dq', wgsl: dqKernel(tq) },
    {
      bindings: [x.q, x.k, x.v, x.bias, x.gO, x.lse, delta, dq, dbiasRows],
      uniforms: uniforms(d, window, hasBias, scale, tq),
      workgroups: [Math.ceil(d.Tq / tq.br), d.B * d.H],
    },
  );
  const tk = chooseTiles(engine, 'dkv', d.D);
  engine.dispatch(
    { name: 'attention:dkv', wgsl: dkvKernel(tk) },
    {
      bindings: [x.q, x.k, x.v, x.bias, x.gO, x.lse, delta, dk, dv, dbiasCols],
      uniforms: uniforms(d, window, hasBias, scale, tk),
      workgroups: [Math.ceil(d.Tk / tk.bc), d.B * d.HKV],
    },
  );
  delta.release();
  if (!hasBias) {
    dbiasRows.release();
    dbiasCols.release();
    return [dq, dk, dv, null];
  }
  const dbias = add(dbiasRows, dbiasCols);
  dbiasRows.release();
  dbiasCols.release();
  return [dq, dk, dv, dbias];
}
