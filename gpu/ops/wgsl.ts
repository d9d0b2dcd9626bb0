// WGSL building blocks shared by the row kernels (softmax, cross-entropy, norms) and by ops that must
// mark bad input with NaN. Written once here so every kernel reduces the same deterministic way.

/** Workgroup size for a row kernel: narrow rows waste fewer idle invocations with a smaller group. */
export function rowWorkgroupSize(width: number): number {
  return width <= 64 ? 64 : 256;
}

const MAX_GROUPS_X = 65535;

/** One workgroup per row; rows beyond 65535 spill into the y dimension (see `rowMain`). */
export function rowGrid(rows: number): [number, number] {
  if (rows <= MAX_GROUPS_X) return [rows, 1];
  return [MAX_GROUPS_X, Math.ceil(rows / MAX_GROUPS_X)];
}

/**
 * Entry-point header of a row kernel: defines `row` (this workgroup's row) and `tid` (the invocation's
 * index in the group), and returns for the padding groups of a 2-D grid. The uniform block `u` must
 * have a `rows` field. Returning on `row` keeps control flow uniform (it depends on workgroup_id only),
 * so the barriers of `workgroupSum`/`workgroupMax` stay legal afterwards.
 */
export function rowMain(size: number): string {
  return `@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; }`;
}

/**
 * Workgroup-wide sum and max of one f32 per invocation, by a fixed binary tree in workgroup memory:
 * the same inputs give the same bits on every run (no atomics). `size` must be a power of two and
 * equal to the kernel's workgroup size; both functions must be called in uniform control flow.
 */
export function workgroupReduce(size: number): string {
  if (!Number.isInteger(Math.log2(size))) throw new RangeError(`workgroupReduce: size ${size} is not a power of two`);
  const reducer = (name: string, combine: string) => `
fn ${name}(value: f32, tid: u32) -> f32 {
  reduceScratch[tid] = value;
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride = stride / 2u) {
    if (tid < stride) { reduceScratch[tid] = ${combine}(reduceScratch[tid], reduceScratch[tid + stride]); }
    workgroupBarrier();
  }
  let result = reduceScratch[0];
  // Every invocation must read the result before the next reduction overwrites the scratch.
  workgroupBarrier();
  return result;
}`;
  return `
var<workgroup> reduceScratch: array<f32, ${size}>;
fn add_(a: f32, b: f32) -> f32 { return a + b; }
${reducer('workgroupSum', 'add_')}
${reducer('workgroupMax', 'max')}`;
}

/**
 * `nan_()` and `F32_LOWEST`. WGSL's constant evaluator rejects NaN (and infinite) values, so the NaN is
 * built from a runtime variable's bits; the lowest finite f32 stands in for -infinity as a max seed.
 */
export const WGSL_SPECIAL_VALUES = `
const F32_LOWEST = -3.4028234e38;
fn nan_() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}`;

/**
 * One workgroup of 256 sums per-row (loss, counted) pairs from `rowLoss` [2·rows] in a fixed order
 * (deterministic, no atomics): loss[0] = factor · Σ loss / Σ counted, 0 when nothing is counted. With
 * `factor` the uniform block carries it after `rows` (else 1); with `writeCount` the count goes to binding 3.
 */
export function rowMeanKernel(options: { factor: boolean; writeCount: boolean }): string {
  const factor = options.factor ? 'u.factor * ' : '';
  return `
struct Params { rows: u32${options.factor ? ', factor: f32' : ''} }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
${options.writeCount ? '@group(0) @binding(3) var<storage, read_write> scoredCount: array<f32>;' : ''}
${workgroupReduce(256)}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32) {
  var localLoss = 0.0;
  var localCount = 0.0;
  for (var r = tid; r < u.rows; r += 256u) {
    localLoss += rowLoss[2u * r];
    localCount += rowLoss[2u * r + 1u];
  }
  let total = workgroupSum(localLoss, tid);
  let count = workgroupSum(localCount, tid);
  if (tid == 0u) {
    loss[0] = select(0.0, ${factor}total / count, count > 0.0);${options.writeCount ? '\n    scoredCount[0] = count;' : ''}
  }
}`;
}
