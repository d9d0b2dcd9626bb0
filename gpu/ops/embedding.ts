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
// binary-searches its run of positions and sums them in increasing position order. Stages whose partners
// lie within one block of 1024 pairs run together in workgroup memory, one dispatch for all of them: a
// sort of 8192 positions takes 10 dispatches instead of 91 (one per stage), which mattered because a
// training step is encoded dispatch by dispatch on the CPU.

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

const BEFORE_WGSL = 'fn before(a: vec2<i32>, b: vec2<i32>) -> bool { return a.x < b.x || (a.x == b.x && a.y < b.y); }';

// One compare-exchange stage of a bitonic sort (block size k, partner distance j), ordering pairs by
// id then position. Positions are distinct, so the sorted order is unique.
const BITONIC_KERNEL = `
struct Params { padded: u32, k: u32, j: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> pairs: array<vec2<i32>>;
${BEFORE_WGSL}
${linearMain()}
  if (i >= u.padded) { return; }
  let partner = i ^ u.j;
  if (partner <= i) { return; }
  let a = pairs[i];
  let b = pairs[partner];
  let ascending = (i & u.k) == 0u;
  if (select(before(a, b), before(b, a), ascending)) { pairs[i] = b; pairs[partner] = a; }
}`;

/** Pairs one workgroup sorts or merges in its memory (a power of two); 256 invocations, 2 exchanges each. */
const LOCAL_BLOCK = 1024;

// Every stage (k, j) with j < block, for k from kFirst to kLast, on one block of the pairs held in
// workgroup memory: with kFirst = 2 and kLast = block it sorts the block; with kFirst = kLast = k > block
// it finishes stage k's merge after the global passes with j ≥ block. The same network as the one-stage
// kernel, so the same result.
const LOCAL_KERNEL = `
struct Params { padded: u32, block: u32, kFirst: u32, kLast: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> pairs: array<vec2<i32>>;
var<workgroup> tile: array<vec2<i32>, ${LOCAL_BLOCK}>;
${BEFORE_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * u.block;
  for (var e = lid; e < u.block; e += 256u) { tile[e] = pairs[base + e]; }
  workgroupBarrier();
  for (var k = u.kFirst; k <= u.kLast; k *= 2u) {
    for (var j = min(k, u.block) / 2u; j >= 1u; j /= 2u) {
      // Exchange t pairs element lo (its j bit clear) with lo + j.
      for (var t = lid; t < u.block / 2u; t += 256u) {
        let lo = (t / j) * 2u * j + t % j;
        let a = tile[lo];
        let b = tile[lo + j];
        let ascending = ((base + lo) & k) == 0u;
        if (select(before(a, b), before(b, a), ascending)) { tile[lo] = b; tile[lo + j] = a; }
      }
      workgroupBarrier();
    }
  }
  for (var e = lid; e < u.block; e += 256u) { pairs[base + e] = tile[e]; }
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
  const block = Math.min(LOCAL_BLOCK, padded);
  const pairs = engine.empty([padded, 2], 'i32');
  engine.dispatch(
    { name: 'embedding.sortInit', wgsl: SORT_INIT_KERNEL },
    { bindings: [ids, pairs], uniforms: uniformBytes([ids.size, padded]), workgroups: linearGrid(padded) },
  );
  const local = (kFirst: number, kLast: number) =>
    engine.dispatch(
      { name: 'embedding.bitonicLocal', wgsl: LOCAL_KERNEL },
      { bindings: [pairs], uniforms: uniformBytes([padded, block, kFirst, kLast]), workgroups: [padded / block] },
    );
  if (padded >= 2) local(2, block);
  for (let k = 2 * block; k <= padded; k *= 2) {
    // Partners farther apart than a block: one pass each, over all the pairs.
    for (let j = k / 2; j >= block; j /= 2) {
      engine.dispatch(
        { name: 'embedding.bitonicStage', wgsl: BITONIC_KERNEL },
        { bindings: [pairs], uniforms: uniformBytes([padded, k, j]), workgroups: linearGrid(padded) },
      );
    }
    local(k, k);
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
