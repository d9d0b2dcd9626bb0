// Embedding lookup and its deterministic backward.
//
// Forward: one invocation per output element gathers weight[id, d]. Ids live on the GPU, so the kernel
// cannot throw: an id outside [0, V) yields a row of NaN and is never used as an index. Callers holding
// the ids on the CPU should call `validateIds` first for a precise error.
//
// Backward: the gradient of row v is the sum of the upstream rows at every position holding id v.
// Float atomics do not exist in WGSL and would make the sum order (and so the bits) vary from run to
// run. Instead the (id, position) pairs are sorted by a bitonic network (a fixed sequence of
// compare-exchange passes, so the result is the same every run), and each (v, d) gradient element
// binary-searches its run of positions and sums them in increasing position order.

import { record } from '../autograd.js';
import { uniformBytes, type Engine } from '../engine.js';
import { linearGrid, linearMain } from '../grid.js';
import type { Tensor } from '../tensor.js';
import { checkDType, checkRank, checkSameEngine } from './checks.js';
import { WGSL_SPECIAL_VALUES } from './wgsl.js';

/** Throws naming the first id outside [0, vocab) and its position. */
export function validateIds(ids: ArrayLike<number>, vocab: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new RangeError(`embedding: id ${id} at position ${i} is outside [0, ${vocab})`);
    }
  }
}

const GATHER_KERNEL = `
struct Params { n: u32, vocab: u32, dim: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${WGSL_SPECIAL_VALUES}
${linearMain()}
  if (i >= u.n) { return; }
  let id = ids[i / u.dim];
  if (id < 0 || id >= i32(u.vocab)) { out[i] = nan_(); return; }
  out[i] = weight[u32(id) * u.dim + i % u.dim];
}`;

// Pairs (id, position); the padding up to a power of two sorts after every real pair.
const SORT_INIT_KERNEL = `
struct Params { n: u32, padded: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> pairs: array<vec2<i32>>;
${linearMain()}
  if (i >= u.padded) { return; }
  if (i < u.n) { pairs[i] = vec2<i32>(ids[i], i32(i)); } else { pairs[i] = vec2<i32>(2147483647, i32(i)); }
}`;

// One compare-exchange stage of a bitonic sort (block size k, partner distance j), ordering pairs by
// id then position. Positions are distinct, so the sorted order is unique.
const BITONIC_KERNEL = `
struct Params { padded: u32, k: u32, j: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> pairs: array<vec2<i32>>;
fn before(a: vec2<i32>, b: vec2<i32>) -> bool { return a.x < b.x || (a.x == b.x && a.y < b.y); }
${linearMain()}
  if (i >= u.padded) { return; }
  let partner = i ^ u.j;
  if (partner <= i) { return; }
  let a = pairs[i];
  let b = pairs[partner];
  let ascending = (i & u.k) == 0u;
  if (select(before(a, b), before(b, a), ascending)) { pairs[i] = b; pairs[partner] = a; }
}`;

const SCATTER_KERNEL = `
struct Params { n: u32, vocab: u32, dim: u32, count: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> pairs: array<vec2<i32>>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dWeight: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let v = i32(i / u.dim);
  let d = i % u.dim;
  // First sorted pair whose id is >= v.
  var lo = 0u;
  var hi = u.count;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (pairs[mid].x < v) { lo = mid + 1u; } else { hi = mid; }
  }
  var acc = 0.0;
  for (var s = lo; s < u.count && pairs[s].x == v; s++) { acc += g[u32(pairs[s].y) * u.dim + d]; }
  dWeight[i] = acc;
}`;

/** Sorts (id, position) pairs of `ids` by id, then position; returns an i32 [padded, 2] tensor. */
function sortIdPositions(engine: Engine, ids: Tensor): Tensor {
  const padded = 1 << Math.ceil(Math.log2(Math.max(1, ids.size)));
  const pairs = engine.empty([padded, 2], 'i32');
  engine.dispatch(
    { name: 'embedding.sortInit', wgsl: SORT_INIT_KERNEL },
    { bindings: [ids, pairs], uniforms: uniformBytes([ids.size, padded]), workgroups: linearGrid(padded) },
  );
  for (let k = 2; k <= padded; k *= 2) {
    for (let j = k / 2; j >= 1; j /= 2) {
      engine.dispatch(
        { name: 'embedding.bitonicStage', wgsl: BITONIC_KERNEL },
        { bindings: [pairs], uniforms: uniformBytes([padded, k, j]), workgroups: linearGrid(padded) },
      );
    }
  }
  return pairs;
}

/** Rows of `weight` [V,D] selected by `ids` (i32, any shape) → [...ids.shape, D]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  const op = 'embedding';
  checkDType(op, 'weight', weight, 'f32');
  checkRank(op, 'weight', weight, 2);
  checkDType(op, 'ids', ids, 'i32');
  const engine = checkSameEngine(op, [weight, ids]);
  const [vocab, dim] = weight.shape;
  const out = engine.empty([...ids.shape, dim]);
  engine.dispatch(
    { name: 'embedding.gather', wgsl: GATHER_KERNEL },
    { bindings: [weight, ids, out], uniforms: uniformBytes([out.size, vocab, dim]), workgroups: linearGrid(out.size) },
  );
  return record(out, op, [weight, ids], (g) => {
    const pairs = sortIdPositions(engine, ids);
    const dWeight = engine.empty(weight.shape);
    engine.dispatch(
      { name: 'embedding.scatterAdd', wgsl: SCATTER_KERNEL },
      {
        bindings: [pairs, g, dWeight],
        uniforms: uniformBytes([dWeight.size, vocab, dim, ids.size]),
        workgroups: linearGrid(dWeight.size),
      },
    );
    pairs.release();
    return [dWeight, null];
  });
}
