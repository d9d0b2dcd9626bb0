// The triangular solve of the chunked generalized delta rule: X = (I − A)⁻¹ for a batch of C×C
// matrices of which only the strictly lower triangle of A is read (the chunk's "removal" couplings
// A^{ab}_ij, j < i). X is unit lower triangular. In f32 by forward substitution, one invocation per
// column (X_ij = δ_ij + Σ_{j≤m<i} A_im X_mj needs only column j of X), A held in workgroup memory.
// (The delta rule's prepare kernel does the same substitution for I + A inside a larger fused
// kernel; this one stands alone so that its adjoint is three small products:)
//   dA = strictly lower part of Xᵀ dX Xᵀ          (from d(L⁻¹) = −L⁻¹ dL L⁻¹ with L = I − A).

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import type { Tensor } from '../../tensor.js';
import { mul } from '../elementwise.js';
import { matmul } from '../matmul.js';

const OP = 'unitLowerInverse';
/** Largest matrix side: A's C² floats must fit workgroup memory (16 KiB at C = 64). */
export const MAX_SOLVE_SIZE = 64;
const MAX_GROUPS_X = 65535;

function solveKernel(C: number): string {
  return `const C = ${C}u;
struct Params { count: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
var<workgroup> am: array<f32, ${C * C}>;
@compute @workgroup_size(${C})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) j: u32) {
  let n = wid.x + wid.y * u.gridX;
  if (n >= u.count) { return; }
  let base = n * C * C;
  for (var e = j; e < C * C; e += C) { am[e] = a[base + e]; }
  workgroupBarrier();
  // Column j of X, rows j.. (the rows above are zero).
  var col: array<f32, ${C}>;
  for (var i = 0u; i < C; i++) {
    var s = 0.0;
    if (i == j) {
      s = 1.0;
    } else if (i > j) {
      for (var m = j; m < i; m++) { s += am[i * C + m] * col[m]; }
    }
    col[i] = s;
    x[base + i * C + j] = s;
  }
}`;
}

/** [C, C] with ones where j < i (the strictly lower triangle). */
export function strictlyLowerMask(C: number): Float32Array {
  const mask = new Float32Array(C * C);
  for (let i = 0; i < C; i++) for (let j = 0; j < i; j++) mask[i * C + j] = 1;
  return mask;
}

/** (I − A)⁻¹ of every [C, C] matrix of a [..., C, C] tensor, reading only A's strictly lower triangle. */
export function unitLowerInverse(a: Tensor): Tensor {
  const rank = a.shape.length;
  const C = a.shape[rank - 1];
  if (rank < 2 || a.shape[rank - 2] !== C) throw new RangeError(`${OP}: a must be [..., C, C], got ${a.describe()}`);
  if (C < 1 || C > MAX_SOLVE_SIZE) throw new RangeError(`${OP}: matrix side ${C} must be in [1, ${MAX_SOLVE_SIZE}]`);
  if (a.dtype !== 'f32') throw new TypeError(`${OP}: a must be f32, got ${a.describe()}`);
  const engine = a.engine;
  const count = a.size / (C * C);
  const x = engine.empty(a.shape);
  if (count === 0) return x;
  const gridX = Math.min(count, MAX_GROUPS_X);
  engine.dispatch(
    { name: 'dplr-chunk:solve', wgsl: solveKernel(C) },
    {
      bindings: [a, x],
      uniforms: uniformBytes([count, gridX]),
      workgroups: [gridX, Math.ceil(count / gridX)],
    },
  );
  return record(x, OP, [a], (g) => [unitLowerInverseBackward(x, g)]);
}

/** The adjoint: dA = strictly lower part of Xᵀ dX Xᵀ, for X = (I − A)⁻¹ and dX its gradient. */
export function unitLowerInverseBackward(x: Tensor, g: Tensor): Tensor {
  const C = x.shape[x.shape.length - 1];
  const left = matmul(x, g, { transA: true });
  const full = matmul(left, x, { transB: true });
  left.release();
  const mask = x.engine.fromArray(strictlyLowerMask(C), [C, C]);
  const da = mul(full, mask);
  full.release();
  mask.release();
  return da;
}
