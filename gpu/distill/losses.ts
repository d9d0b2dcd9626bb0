// The loss terms of distillation (references and gradients in losses.ref.ts):
//   klDivergence — KL(teacher‖student) of the next-token distributions at temperature τ, scaled by τ² and
//     averaged over scored tokens (MambaInLlama's word-level KL; τ = 1 there). One fused row kernel: neither
//     softmax is ever written out, and the teacher gets no gradient (it is a constant).
//   mse — mean squared error against a teacher tensor: attention transfer (LoLCATs' per-layer attention
//     output MSE) and hidden-state matching.
//   labelCrossEntropy — the hard-label next-token loss, the engine's fused cross-entropy.

import { record } from '../autograd.js';
import { uniformBytes } from '../engine.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { checkDType, checkRank, checkSameEngine } from '../ops/checks.js';
import { mul, scale, sub } from '../ops/elementwise.js';
import { sumAll } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import {
  rowGrid,
  rowMain,
  rowMeanKernel,
  rowWorkgroupSize,
  workgroupReduce,
  WGSL_SPECIAL_VALUES,
} from '../ops/wgsl.js';
import type { Tensor } from '../tensor.js';

export interface KlOptions {
  /** Softens both distributions; the loss is multiplied by τ² so its gradient scale stays comparable. */
  temperature?: number;
  /** Next-token targets [N] (i32): rows whose target is `ignoreIndex` are not scored. Absent: every row. */
  targets?: Tensor;
  ignoreIndex?: number;
}

const PARAMS = 'struct Params { rows: u32, vocab: u32, ignoreIndex: i32, masked: u32, invTemp: f32 }';

// log Σ exp(z/τ) of one row of `name`, stabilized by the row maximum; call in uniform control flow.
function rowLogSumExp(name: string, size: number): string {
  return `
fn lse_${name}(base: u32, tid: u32) -> f32 {
  var localMax = F32_LOWEST;
  for (var k = tid; k < u.vocab; k += ${size}u) { localMax = max(localMax, ${name}[base + k] * u.invTemp); }
  let m = workgroupMax(localMax, tid);
  var localSum = 0.0;
  for (var k = tid; k < u.vocab; k += ${size}u) { localSum += exp(${name}[base + k] * u.invTemp - m); }
  return m + log(workgroupSum(localSum, tid));
}`;
}

const SCORED = `
fn scored(row: u32) -> bool { return u.masked == 0u || targets[row] != u.ignoreIndex; }`;

function header(size: number, bindings: string): string {
  return `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> student: array<f32>;
@group(0) @binding(2) var<storage, read> teacher: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
${bindings}
${WGSL_SPECIAL_VALUES}
${workgroupReduce(size)}
${SCORED}
${rowLogSumExp('student', size)}
${rowLogSumExp('teacher', size)}`;
}

/** Per row: Σ p (log p − log q) and a 1/0 "scored" flag into rowLoss [N, 2]. */
function rowKernel(size: number): string {
  return `${header(size, '@group(0) @binding(4) var<storage, read_write> rowLoss: array<f32>;')}
${rowMain(size)}
  let base = row * u.vocab;
  let lseS = lse_student(base, tid);
  let lseT = lse_teacher(base, tid);
  var local = 0.0;
  for (var k = tid; k < u.vocab; k += ${size}u) {
    let logP = teacher[base + k] * u.invTemp - lseT;
    let logQ = student[base + k] * u.invTemp - lseS;
    local += exp(logP) * (logP - logQ);
  }
  let kl = workgroupSum(local, tid);
  if (tid != 0u) { return; }
  let counted = scored(row);
  rowLoss[2u * row] = select(0.0, kl, counted);
  rowLoss[2u * row + 1u] = select(0.0, 1.0, counted);
}`;
}

// loss = τ² Σ kl / count (τ² is the factor), and the count for the backward.
const MEAN_KERNEL = rowMeanKernel({ factor: true, writeCount: true });

/** d loss / d student = g · τ / count · (q − p) on scored rows, 0 elsewhere. */
function gradKernel(size: number): string {
  return `${header(
    size,
    `@group(0) @binding(4) var<storage, read> gradLoss: array<f32>;
@group(0) @binding(5) var<storage, read> scoredCount: array<f32>;
@group(0) @binding(6) var<storage, read_write> dStudent: array<f32>;`,
  )}
${rowMain(size)}
  let base = row * u.vocab;
  let lseS = lse_student(base, tid);
  let lseT = lse_teacher(base, tid);
  let counted = scored(row);
  let factor = gradLoss[0] / (u.invTemp * max(scoredCount[0], 1.0));
  for (var k = tid; k < u.vocab; k += ${size}u) {
    let q = exp(student[base + k] * u.invTemp - lseS);
    let p = exp(teacher[base + k] * u.invTemp - lseT);
    dStudent[base + k] = select(0.0, factor * (q - p), counted);
  }
}`;
}

/**
 * KL(teacher‖student) of `student` and `teacher` logits [N, V] at temperature τ, times τ², averaged over
 * scored rows; shape [1]. No scored row → 0 (and a zero gradient). Only the student receives a gradient.
 */
export function klDivergence(student: Tensor, teacher: Tensor, options: KlOptions = {}): Tensor {
  const op = 'klDivergence';
  const { temperature = 1, targets, ignoreIndex = -100 } = options;
  checkDType(op, 'student', student, 'f32');
  checkDType(op, 'teacher', teacher, 'f32');
  checkRank(op, 'student', student, 2);
  if (student.shape.join() !== teacher.shape.join()) {
    throw new RangeError(`${op}: teacher ${teacher.describe()} must have the shape of student ${student.describe()}`);
  }
  const [rows, vocab] = student.shape;
  if (vocab === 0) throw new RangeError(`${op}: student ${student.describe()} has an empty vocabulary axis`);
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new RangeError(`${op}: temperature ${temperature} must be a positive number`);
  }
  if (targets) {
    checkDType(op, 'targets', targets, 'i32');
    if (targets.shape.length !== 1 || targets.shape[0] !== rows) {
      throw new RangeError(`${op}: targets ${targets.describe()} must have shape [${rows}]`);
    }
  }
  const engine = checkSameEngine(op, targets ? [student, teacher, targets] : [student, teacher]);
  // A one-element stand-in keeps the binding layout fixed when every row is scored.
  const mask = targets ?? engine.fromArray([0], [1], 'i32');
  const size = rowWorkgroupSize(vocab);
  const uniforms = uniformBytes([rows, vocab, ignoreIndex, targets ? 1 : 0, 0]);
  new DataView(uniforms).setFloat32(16, 1 / temperature, true);

  const rowLoss = engine.empty([rows, 2]);
  engine.dispatch(
    { name: 'klDivergence.rows', wgsl: rowKernel(size) },
    { bindings: [student, teacher, mask, rowLoss], uniforms, workgroups: rowGrid(rows) },
  );
  const loss = engine.empty([1]);
  // The number of scored rows, kept for the backward's 1/count.
  const count = engine.empty([1]);
  engine.dispatch(
    { name: 'klDivergence.mean', wgsl: MEAN_KERNEL },
    {
      bindings: [rowLoss, loss, count],
      uniforms: uniformBytes({ u32: [rows], f32: [temperature * temperature] }),
      workgroups: [1],
    },
  );
  rowLoss.release();

  return record(loss, op, [student], (g) => {
    const dStudent = engine.empty(student.shape);
    engine.dispatch(
      { name: 'klDivergence.backward', wgsl: gradKernel(size) },
      { bindings: [student, teacher, mask, g, count, dStudent], uniforms, workgroups: rowGrid(rows) },
    );
    return [dStudent];
  });
}

/** Mean of (a − target)² over all elements; shape [1]. `target` is a constant (a teacher's tensor). */
export function mse(a: Tensor, target: Tensor): Tensor {
  if (a.shape.join() !== target.shape.join()) {
    throw new RangeError(`mse: target ${target.describe()} must have the shape of ${a.describe()}`);
  }
  if (a.size === 0) throw new RangeError(`mse: ${a.describe()} is empty`);
  const d = sub(a, target);
  return scale(sumAll(mul(d, d)), 1 / a.size);
}

/** Mean next-token cross-entropy of logits [B, T, V] against targets [B, T] (−100 = not scored). */
export function labelCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  const [b, t, v] = logits.shape;
  return crossEntropy(reshape(logits, [b * t, v]), reshape(targets, [b * t]));
}
