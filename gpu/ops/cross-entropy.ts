// Fused cross-entropy: log-softmax and negative log-likelihood in one row kernel, so the [N,V]
// log-probabilities are never written. The loss is the mean over rows whose target is not the ignore
// index; when every row is ignored the loss is 0 (and so is its gradient), rather than 0/0.
//
// Targets live on the GPU, so the kernel cannot throw: a target outside [0,V) that is not the ignore
// index makes the loss NaN (and its row's gradient NaN) and is never used as an index. Callers holding
// the ids on the CPU should call `validateTargets` first to get a precise error instead.

import { record } from '../autograd.js';
import { uniformBytes } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { checkDType, checkRank, checkSameEngine } from './checks.js';
import { rowGrid, rowMain, rowMeanKernel, rowWorkgroupSize, workgroupReduce, WGSL_SPECIAL_VALUES } from './wgsl.js';

export interface CrossEntropyOptions {
  /** Rows whose target equals this value do not count (PyTorch's default, -100). */
  ignoreIndex?: number;
}

/** Throws naming the first target outside [0, vocab) that is not `ignoreIndex`, and its position. */
export function validateTargets(ids: ArrayLike<number>, vocab: number, ignoreIndex = -100): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === ignoreIndex) continue;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new RangeError(
        `crossEntropy: target ${id} at position ${i} is outside [0, ${vocab}) and is not the ignore index ${ignoreIndex}`,
      );
    }
  }
}

// Shared by both row kernels: status of a row's target (ignored, valid, or out of range).
const TARGET_STATUS = `
const IGNORED = 0u;
const VALID = 1u;
const OUT_OF_RANGE = 2u;
fn targetStatus(t: i32) -> u32 {
  if (t == u.ignoreIndex) { return IGNORED; }
  if (t < 0 || t >= i32(u.vocab)) { return OUT_OF_RANGE; }
  return VALID;
}`;

// Log-sum-exp of one row, stabilized by the row maximum; must be called in uniform control flow.
function rowLogSumExp(size: number): string {
  return `
fn rowLogSumExp(base: u32, tid: u32) -> f32 {
  var localMax = F32_LOWEST;
  for (var k = tid; k < u.vocab; k += ${size}u) { localMax = max(localMax, logits[base + k]); }
  let m = workgroupMax(localMax, tid);
  var localSum = 0.0;
  for (var k = tid; k < u.vocab; k += ${size}u) { localSum += exp(logits[base + k] - m); }
  return m + log(workgroupSum(localSum, tid));
}`;
}

const PARAMS = 'struct Params { rows: u32, vocab: u32, ignoreIndex: i32 }';

/** Per-row loss and a 1/0 "counts" flag into rowLoss [N, 2]. */
function rowLossKernel(size: number): string {
  return `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
${WGSL_SPECIAL_VALUES}
${workgroupReduce(size)}
${TARGET_STATUS}
${rowLogSumExp(size)}
${rowMain(size)}
  let base = row * u.vocab;
  let lse = rowLogSumExp(base, tid);
  if (tid != 0u) { return; }
  let t = targets[row];
  let status = targetStatus(t);
  var loss = 0.0;
  if (status == VALID) { loss = lse - logits[base + u32(t)]; }
  if (status == OUT_OF_RANGE) { loss = nan_(); }
  rowLoss[2u * row] = loss;
  rowLoss[2u * row + 1u] = select(1.0, 0.0, status == IGNORED);
}`;
}

// The mean over counted rows.
const MEAN_KERNEL = rowMeanKernel({ factor: false, writeCount: false });

// The number of counted rows, for the backward's 1/count scale.
const COUNT_KERNEL = `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> count: array<f32>;
${workgroupReduce(256)}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32) {
  var local = 0.0;
  for (var r = tid; r < u.rows; r += 256u) { local += select(1.0, 0.0, targets[r] == u.ignoreIndex); }
  let total = workgroupSum(local, tid);
  if (tid == 0u) { count[0] = total; }
}`;

/** d loss / d logits = g/count · (softmax − onehot(target)) on counted rows, 0 on ignored rows. */
function gradKernel(size: number): string {
  return `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> gradLoss: array<f32>;
@group(0) @binding(4) var<storage, read> count: array<f32>;
@group(0) @binding(5) var<storage, read_write> dLogits: array<f32>;
${WGSL_SPECIAL_VALUES}
${workgroupReduce(size)}
${TARGET_STATUS}
${rowLogSumExp(size)}
${rowMain(size)}
  let base = row * u.vocab;
  let lse = rowLogSumExp(base, tid);
  let t = targets[row];
  let status = targetStatus(t);
  let scale = gradLoss[0] / max(count[0], 1.0);
  for (var k = tid; k < u.vocab; k += ${size}u) {
    var d = 0.0;
    if (status == VALID) { d = scale * (exp(logits[base + k] - lse) - select(0.0, 1.0, i32(k) == t)); }
    if (status == OUT_OF_RANGE) { d = nan_(); }
    dLogits[base + k] = d;
  }
}`;
}

/**
 * Mean cross-entropy of `logits` [N,V] (f32) against `targets` [N] (i32) over rows whose target is not
 * `ignoreIndex`; returns shape [1]. All rows ignored → 0. Out-of-range targets → NaN (see above).
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  { ignoreIndex = -100 }: CrossEntropyOptions = {},
): Tensor {
  const op = 'crossEntropy';
  checkDType(op, 'logits', logits, 'f32');
  checkDType(op, 'targets', targets, 'i32');
  checkRank(op, 'logits', logits, 2);
  const [rows, vocab] = logits.shape;
  if (targets.shape.length !== 1 || targets.shape[0] !== rows) {
    throw new RangeError(
      `${op}: targets ${targets.describe()} must have shape [${rows}] to match logits ${logits.describe()}`,
    );
  }
  if (vocab === 0) throw new RangeError(`${op}: logits ${logits.describe()} has an empty vocabulary axis`);
  if (!Number.isInteger(ignoreIndex)) throw new RangeError(`${op}: ignoreIndex ${ignoreIndex} is not an integer`);
  const engine = checkSameEngine(op, [logits, targets]);
  const size = rowWorkgroupSize(vocab);
  const uniforms = uniformBytes([rows, vocab, ignoreIndex]);

  const rowLoss = engine.empty([rows, 2]);
  engine.dispatch(
    { name: 'crossEntropy.rows', wgsl: rowLossKernel(size) },
    { bindings: [logits, targets, rowLoss], uniforms, workgroups: rowGrid(rows) },
  );
  const loss = engine.empty([1]);
  engine.dispatch(
    { name: 'crossEntropy.mean', wgsl: MEAN_KERNEL },
    { bindings: [rowLoss, loss], uniforms: uniformBytes([rows]), workgroups: [1] },
  );
  rowLoss.release();

  // The backward recomputes the log-sum-exp and the count instead of saving them, so nothing but the
  // op's inputs has to outlive the forward.
  return record(loss, op, [logits, targets], (g) => {
    const count = engine.empty([1]);
    engine.dispatch(
      { name: 'crossEntropy.count', wgsl: COUNT_KERNEL },
      { bindings: [targets, count], uniforms, workgroups: [1] },
    );
    const dLogits = engine.empty(logits.shape);
    engine.dispatch(
      { name: 'crossEntropy.backward', wgsl: gradKernel(size) },
      { bindings: [logits, targets, g, count, dLogits], uniforms, workgroups: rowGrid(rows) },
    );
    count.release();
    return [dLogits, null];
  });
}
