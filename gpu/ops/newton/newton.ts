// Newton-parallel evaluation of a diagonal ParaRNN cell (DEER / ParaRNN): the whole sequence
// s_t = f(s_{t−1}, x_t) is one nonlinear system. From the guess s_t = f(0, x_t), each iteration forms
// the residual r_t = f(s_{t−1}) − s_t and the Jacobian J_t = ∂f/∂s_{t−1} (diagonal, or 2×2 blocks),
// solves the linear recurrence δ_t = J_t δ_{t−1} + r_t with the chunked scan, and sets s += δ. Both the
// residual and the Jacobian are computed inside the scan's phases, never stored.
//
// The residual max|r| of every iterate goes to a small GPU tensor that is read back with `readLater`,
// so the caller sees it after the next flush without stalling the step. The tolerance acts on the GPU:
// once an iterate's residual is within it, the remaining iterations' kernels return at once.
//
// Backward at the solution is one linear adjoint recurrence, λ_t = e_h·dy_t + J_{t+1}^T λ_{t+1}, solved
// by the same scan in reverse time; its apply phase turns λ_t into the gradients of x_t and of the
// per-unit parameters (reduced per chunk, then summed: deterministic).

import { uniformBytes, type Engine } from '../../engine.js';
import { linearGrid } from '../../grid.js';
import type { Tensor } from '../../tensor.js';
import { sum } from '../reduce.js';
import { reshape } from '../shape.js';
import { ChunkScan, type ScanProgram } from './block-scan.js';
import type { DiagCell } from './diag-cells.js';
import {
  diagCellWgsl,
  diagLoaders,
  initialGuessKernel,
  residualReduceGroups,
  RESIDUAL_REDUCE_WGSL,
} from './diag-kernels.js';
import { zeros } from '../elementwise.js';

export interface NewtonConfig {
  /** Newton steps at most. */
  iterations: number;
  /** Stop once max|f(s_{t−1}) − s_t| ≤ tolerance. */
  tolerance: number;
  /** Time-chunk length of the scan. */
  chunk: number;
}

export interface NewtonOutcome {
  converged: boolean;
  /** Newton steps taken to reach the tolerance (the maximum when it was not reached). */
  iterations: number;
  /** residuals[k] = max|f(s_{t−1}) − s_t| after k steps (k = 0: the initial guess); ≥ 1e38 = not finite. */
  residuals: number[];
  message: string;
}

/** Available without stalling: both promises resolve after the engine's next flush. */
export interface NewtonReport {
  maxIterations: number;
  tolerance: number;
  outcome: Promise<NewtonOutcome>;
}

/** Non-finite residuals are stored as this sentinel (WGSL has no NaN or infinity literals). */
const NOT_FINITE = 3.0e38;

export function describeNewton(residuals: number[], maxIterations: number, tolerance: number): NewtonOutcome {
  const reached = residuals.findIndex((r) => r <= tolerance);
  const converged = reached >= 0;
  const iterations = converged ? reached : maxIterations;
  const shown = residuals.slice(0, iterations + 1).map((r) => (r >= 1e38 ? 'non-finite' : r.toExponential(2)));
  const last = residuals[iterations];
  const message = converged
    ? `Newton converged after ${iterations} iteration(s): residual ${last.toExponential(2)} ≤ tolerance ${tolerance}`
    : `Newton did not converge: residual ${last >= 1e38 ? 'non-finite (diverged)' : last.toExponential(2)} after ${maxIterations} ` +
      `iteration(s), tolerance ${tolerance} (residual per iteration: ${shown.join(', ')}); ` +
      `use more iterations, smaller recurrent weights, or mode "sequential"`;
  return { converged, iterations, residuals, message };
}

/** Rejects with the report's message when Newton did not reach its tolerance. */
export async function assertConverged(report: NewtonReport): Promise<NewtonOutcome> {
  const outcome = await report.outcome;
  if (!outcome.converged) throw new Error(outcome.message);
  return outcome;
}

function forwardProgram(cell: DiagCell): ScanProgram {
  // Newton's linear system at the current iterate: M = J_t(s_{t−1}), v = f(s_{t−1}) − s_t. `prev` walks
  // the old iterate; the apply phase overwrites s_t in place only after reading it.
  const coeffs = `let xt = loadPre(b, t, unit);
    let cur = loadState(b, t, unit);
    let f = cellStep(xt, p, prev);
    M = cellJacobian(xt, p, prev);
    for (var q = 0u; q < S; q++) { v[q] = f[q] - cur[q]; }
    prev = cur;`;
  const converged = (k: string) => `residuals[${k}] <= u.tol`;
  return {
    name: `newton.${cell.kind}.forward`,
    S: cell.states.length,
    reverse: false,
    common: `${diagCellWgsl(cell)}\n${diagLoaders({ states: true })}`,
    summarize: {
      bindings: `@group(0) @binding(2) var<storage, read> pre: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> states: array<f32>;
@group(0) @binding(5) var<storage, read> s0: array<f32>;
@group(0) @binding(6) var<storage, read_write> bound: array<f32>;
@group(0) @binding(7) var<storage, read_write> residualParts: array<f32>;
@group(0) @binding(8) var<storage, read> residuals: array<f32>;`,
      // Iterate k equals iterate k−1 when that one had converged: nothing to do.
      skip: `u.iter > 0u && ${converged('u.iter - 1u')}`,
      begin: `let p = loadParams(unit);
  var prev: array<f32, S>;
  if (c == 0u) {
    for (var q = 0u; q < S; q++) { prev[q] = s0[(b * S + q) * u.d + unit]; }
  } else {
    prev = loadState(b, first - 1u, unit);
  }
  // The state entering this chunk, saved for the apply phase (which overwrites states in place).
  for (var q = 0u; q < S; q++) { bound[((b * u.chunks + c) * S + q) * u.d + unit] = prev[q]; }
  var worst = 0.0;`,
      coeffs,
      after: `for (var q = 0u; q < S; q++) { worst = max(worst, select(${NOT_FINITE.toExponential()}, abs(v[q]), finite_(v[q]))); }`,
      end: 'residualParts[(b * u.chunks + c) * u.d + unit] = worst;',
    },
    carry: { bindings: '@group(0) @binding(3) var<storage, read> residuals: array<f32>;', skip: converged('u.iter') },
    apply: {
      bindings: `@group(0) @binding(2) var<storage, read> pre: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> states: array<f32>;
@group(0) @binding(5) var<storage, read> bound: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> sT: array<f32>;
@group(0) @binding(8) var<storage, read> residuals: array<f32>;`,
      skip: converged('u.iter'),
      begin: `let p = loadParams(unit);
  var prev: array<f32, S>;
  for (var q = 0u; q < S; q++) { prev[q] = bound[((b * u.chunks + c) * S + q) * u.d + unit]; }`,
      coeffs,
      after: `for (var q = 0u; q < S; q++) {
      let updated = cur[q] + x[q];
      states[((b * u.T + t) * S + q) * u.d + unit] = updated;
      if (t == u.T - 1u) { sT[(b * S + q) * u.d + unit] = updated; }
    }
    y[(b * u.T + t) * u.d + unit] = cur[OUT] + x[OUT];`,
    },
  };
}

function adjointProgram(cell: DiagCell): ScanProgram {
  // Reverse time: λ_t = e_out dy_t + J_{t+1}(s_t)^T λ_{t+1}, with J_T = 0.
  const coeffs = `v[OUT] = dy[(b * u.T + t) * u.d + unit];
    if (t + 1u < u.T) {
      let J = cellJacobian(loadPre(b, t + 1u, unit), p, loadState(b, t, unit));
      for (var i = 0u; i < S; i++) { for (var k = 0u; k < S; k++) { M[i * S + k] = J[k * S + i]; } }
    }`;
  const inputs = `@group(0) @binding(2) var<storage, read> pre: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> states: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;`;
  return {
    name: `newton.${cell.kind}.adjoint`,
    S: cell.states.length,
    reverse: true,
    common: `${diagCellWgsl(cell)}\n${diagLoaders({ states: true })}`,
    summarize: { bindings: inputs, begin: 'let p = loadParams(unit);', coeffs },
    apply: {
      bindings: `${inputs}
@group(0) @binding(6) var<storage, read> s0: array<f32>;
@group(0) @binding(7) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(8) var<storage, read_write> dpParts: array<f32>;`,
      begin: `let p = loadParams(unit);
  var dpAcc: array<f32, NP>;`,
      coeffs,
      after: `var sp: array<f32, S>;
    if (t > 0u) {
      sp = loadState(b, t - 1u, unit);
    } else {
      for (var q = 0u; q < S; q++) { sp[q] = s0[(b * S + q) * u.d + unit]; }
    }
    let g = cellVjp(loadPre(b, t, unit), p, sp, x);
    for (var k = 0u; k < NI; k++) { dpre[((b * u.T + t) * NI + k) * u.d + unit] = g.dx[k]; }
    for (var k = 0u; k < NP; k++) { dpAcc[k] += g.dp[k]; }`,
      end: 'for (var k = 0u; k < NP; k++) { dpParts[((b * u.chunks + c) * NP + k) * u.d + unit] = dpAcc[k]; }',
    },
  };
}

const programs = new Map<string, ScanProgram>();
function program(cell: DiagCell, kind: 'forward' | 'adjoint'): ScanProgram {
  const key = `${cell.kind}.${kind}`;
  let p = programs.get(key);
  if (!p) {
    p = kind === 'forward' ? forwardProgram(cell) : adjointProgram(cell);
    programs.set(key, p);
  }
  return p;
}

export interface NewtonSolution {
  /** Every state of the final iterate, [B, T, S, d]. */
  states: Tensor;
  y: Tensor;
  state: Tensor;
  report: NewtonReport;
}

/** Solves the sequence by Newton iterations. pre [B, T, NI·d], params [NP, d], s0 [B, S, d]. */
export function newtonSolve(
  engine: Engine,
  cell: DiagCell,
  pre: Tensor,
  params: Tensor,
  s0: Tensor,
  config: NewtonConfig,
): NewtonSolution {
  const [B, T] = pre.shape;
  const d = params.shape[1];
  const S = cell.states.length;
  const { iterations, tolerance, chunk } = config;
  const states = engine.empty([B, T, S, d]);
  const y = engine.empty([B, T, d]);
  const state = engine.empty([B, S, d]);
  // Zeros: the reduction folds each iterate's maximum in with atomicMax.
  const residuals = zeros(engine, [iterations + 1]);
  const scan = new ChunkScan(engine, program(cell, 'forward'), { B, T, d, chunk });
  const bound = engine.empty([B, scan.chunks, S, d]);
  const residualParts = engine.empty([B, scan.chunks, d]);
  engine.dispatch(
    { name: `newton.${cell.kind}.initial_guess`, wgsl: initialGuessKernel(cell) },
    {
      bindings: [pre, params, s0, states, y, state],
      uniforms: uniformBytes({ u32: [B, T, d, chunk, scan.chunks, 0], f32: [tolerance] }),
      workgroups: linearGrid(B * T * d, 64),
    },
  );
  const reduce = (iter: number) =>
    engine.dispatch(
      { name: 'newton.residual', wgsl: RESIDUAL_REDUCE_WGSL },
      {
        bindings: [residualParts, residuals],
        uniforms: uniformBytes({ u32: [B * scan.chunks * d, iter], f32: [tolerance] }),
        workgroups: [residualReduceGroups(B * scan.chunks * d)],
      },
    );
  for (let k = 0; k <= iterations; k++) {
    scan.summarize([pre, params, states, s0, bound, residualParts, residuals], k, tolerance);
    reduce(k);
    // The last pass only measures the final iterate's residual.
    if (k === iterations) break;
    scan.carryIn([residuals], k, tolerance);
    scan.apply([pre, params, states, bound, y, state, residuals], k, tolerance);
  }
  scan.release();
  bound.release();
  residualParts.release();
  const outcome = engine
    .readLater(residuals)
    .then((values) => describeNewton(Array.from(values), iterations, tolerance))
    .finally(() => residuals.release());
  // A report nobody awaits must not surface as an unhandled rejection when the device is lost.
  outcome.catch(() => undefined);
  return { states, y, state, report: { maxIterations: iterations, tolerance, outcome } };
}

/** The adjoint pass at a solution: gradients of Σ y·dy w.r.t. pre [B, T, NI·d] and params [NP, d]. */
export function newtonAdjoint(
  engine: Engine,
  cell: DiagCell,
  pre: Tensor,
  params: Tensor,
  s0: Tensor,
  states: Tensor,
  dy: Tensor,
  chunk: number,
): { dpre: Tensor; dparams: Tensor } {
  const [B, T] = pre.shape;
  const d = params.shape[1];
  const NP = cell.params.length;
  const scan = new ChunkScan(engine, program(cell, 'adjoint'), { B, T, d, chunk });
  const dpre = engine.empty(pre.shape);
  const dpParts = engine.empty([B * scan.chunks, NP * d]);
  scan.summarize([pre, params, states, dy]);
  scan.carryIn();
  scan.apply([pre, params, states, dy, s0, dpre, dpParts]);
  scan.release();
  const dparams = reshape(sum(dpParts, 0), [NP, d]);
  dpParts.release();
  return { dpre, dparams };
}
