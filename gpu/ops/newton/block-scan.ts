// The chunked scan of a block-diagonal linear recurrence x_t = M_t x_{t−1} + v_t (per unit, S×S blocks
// with S = 1 or 2, x_{−1} = 0), in three dispatches so that no kernel needs a grid-wide sync:
//   1. summarize — one invocation per (batch row, chunk of time, unit) composes its chunk into one
//      affine map x ↦ A x + w (A = M_last ⋯ M_first, w = the chunk's response to a zero start);
//   2. carry     — one invocation per (batch row, unit) walks the chunk maps in order and records the
//      state entering each chunk (T / chunk sequential steps);
//   3. apply     — one invocation per (batch row, chunk, unit) reruns its chunk from the entering state.
// Depth is 2·chunk + T/chunk instead of T, and every phase reads memory coalesced (units fastest).
//
// The scan is a generator: a program supplies WGSL hooks that compute M_t and v_t on the fly (Newton's
// Jacobians and residuals, the adjoint's transposed Jacobians) and consume the solution x_t (the state
// update, the parameter gradients), so nothing S×S per step is ever written to memory. `blockScan` is
// the plain program (M and v read from tensors); its oracle is block-scan.ref.ts.

import { uniformBytes, type Engine } from '../../engine.js';
import { linearGrid } from '../../grid.js';
import type { Tensor } from '../../tensor.js';

export interface ScanHooks {
  /** Storage binding declarations of this phase, from @binding(2) on. */
  bindings: string;
  /** Early return for the whole invocation (WGSL bool), e.g. "Newton has converged". */
  skip?: string;
  /** Before the time loop; in scope: b, c, unit, first, last. */
  begin?: string;
  /** Fills `M` (S·S, row-major) and `v` (S) for step t. */
  coeffs: string;
  /** After x has advanced to step t (summarize: x is the chunk's partial response; apply: the solution). */
  after?: string;
  /** After the time loop. */
  end?: string;
}

export interface ScanProgram {
  name: string;
  S: number;
  /** Walk time backwards: x_t = M_t x_{t+1} + v_t (the adjoint recurrence). */
  reverse: boolean;
  /** WGSL shared by summarize and apply (helpers, cell code). */
  common: string;
  summarize: ScanHooks;
  apply: ScanHooks;
  /** Extra bindings (from @binding(3) on) and early return of the carry phase. */
  carry?: { bindings: string; skip: string };
}

export interface ScanDims {
  B: number;
  T: number;
  d: number;
  chunk: number;
}

/** A chunk length near √T (a power of two in [8, 256]) balances the three phases' depths. */
export function defaultChunk(T: number): number {
  return Math.min(256, Math.max(8, 2 ** Math.ceil(Math.log2(Math.sqrt(T)))));
}

/** The uniform block of every Newton/scan kernel. */
export const SCAN_PARAMS_WGSL = `
struct Params { B: u32, T: u32, d: u32, chunk: u32, chunks: u32, iter: u32, tol: f32, _pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;`;

function mathWgsl(S: number): string {
  return `
const S = ${S}u;
const SS = ${S * S}u;
fn identity_() -> array<f32, SS> {
  var A: array<f32, SS>;
  for (var i = 0u; i < S; i++) { A[i * S + i] = 1.0; }
  return A;
}
fn compose_(P: array<f32, SS>, Q: array<f32, SS>) -> array<f32, SS> {
  var R: array<f32, SS>;
  for (var i = 0u; i < S; i++) { for (var k = 0u; k < S; k++) { for (var j = 0u; j < S; j++) {
    R[i * S + k] += P[i * S + j] * Q[j * S + k];
  } } }
  return R;
}
fn affine_(M: array<f32, SS>, x: array<f32, S>, v: array<f32, S>) -> array<f32, S> {
  var y = v;
  for (var i = 0u; i < S; i++) { for (var k = 0u; k < S; k++) { y[i] += M[i * S + k] * x[k]; } }
  return y;
}`;
}

const WG = 64;

function chunkKernel(p: ScanProgram, phase: 'summarize' | 'apply'): string {
  const h = p[phase];
  const summarize = phase === 'summarize';
  return `${SCAN_PARAMS_WGSL}
${mathWgsl(p.S)}
@group(0) @binding(1) var<storage, ${summarize ? 'read_write> summary' : 'read> carry'}: array<f32>;
${h.bindings}
${p.common}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= u.B * u.chunks * u.d) { return; }
  let unit = i % u.d;
  let c = (i / u.d) % u.chunks;
  let b = i / (u.d * u.chunks);
  ${h.skip ? `if (${h.skip}) { return; }` : ''}
  let first = c * u.chunk;
  let last = min(u.T, first + u.chunk);
  var x: array<f32, S>;
  ${summarize ? 'var A = identity_();' : 'for (var q = 0u; q < S; q++) { x[q] = carry[((b * u.chunks + c) * S + q) * u.d + unit]; }'}
  ${h.begin ?? ''}
  for (var n = first; n < last; n++) {
    let t = ${p.reverse ? 'u.T - 1u - n' : 'n'};
    var M: array<f32, SS>;
    var v: array<f32, S>;
    ${h.coeffs}
    ${summarize ? 'A = compose_(M, A);' : ''}
    x = affine_(M, x, v);
    ${h.after ?? ''}
  }
  ${
    summarize
      ? `let base = (b * u.chunks + c) * (SS + S);
  for (var q = 0u; q < SS; q++) { summary[(base + q) * u.d + unit] = A[q]; }
  for (var q = 0u; q < S; q++) { summary[(base + SS + q) * u.d + unit] = x[q]; }`
      : ''
  }
  ${h.end ?? ''}
}`;
}

function carryKernel(p: ScanProgram): string {
  return `${SCAN_PARAMS_WGSL}
${mathWgsl(p.S)}
@group(0) @binding(1) var<storage, read> summary: array<f32>;
@group(0) @binding(2) var<storage, read_write> carry: array<f32>;
${p.carry?.bindings ?? ''}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= u.B * u.d) { return; }
  let unit = i % u.d;
  let b = i / u.d;
  ${p.carry ? `if (${p.carry.skip}) { return; }` : ''}
  var x: array<f32, S>;
  for (var c = 0u; c < u.chunks; c++) {
    for (var q = 0u; q < S; q++) { carry[((b * u.chunks + c) * S + q) * u.d + unit] = x[q]; }
    let base = (b * u.chunks + c) * (SS + S);
    var A: array<f32, SS>;
    var w: array<f32, S>;
    for (var q = 0u; q < SS; q++) { A[q] = summary[(base + q) * u.d + unit]; }
    for (var q = 0u; q < S; q++) { w[q] = summary[(base + SS + q) * u.d + unit]; }
    x = affine_(A, x, w);
  }
}`;
}

/** The three phase kernels of a program, generated once per program name. */
export class ChunkScan {
  private readonly kernels: Record<'summarize' | 'carry' | 'apply', { name: string; wgsl: string }>;
  readonly summary: Tensor;
  readonly carry: Tensor;
  private readonly uniforms: (iter: number, tol: number) => ArrayBuffer;

  constructor(
    private readonly engine: Engine,
    readonly program: ScanProgram,
    readonly dims: ScanDims,
  ) {
    this.kernels = cachedKernels(program);
    const { B, T, d, chunk } = dims;
    const chunks = Math.ceil(T / chunk);
    const S = program.S;
    this.summary = engine.empty([B, chunks, S * S + S, d]);
    this.carry = engine.empty([B, chunks, S, d]);
    this.uniforms = (iter, tol) => uniformBytes({ u32: [B, T, d, chunk, chunks, iter], f32: [tol] });
  }

  get chunks(): number {
    return Math.ceil(this.dims.T / this.dims.chunk);
  }

  summarize(bindings: Tensor[], iter = 0, tol = 0): void {
    const { B, d } = this.dims;
    this.engine.dispatch(this.kernels.summarize, {
      bindings: [this.summary, ...bindings],
      uniforms: this.uniforms(iter, tol),
      workgroups: linearGrid(B * this.chunks * d, WG),
    });
  }

  carryIn(bindings: Tensor[] = [], iter = 0, tol = 0): void {
    const { B, d } = this.dims;
    this.engine.dispatch(this.kernels.carry, {
      bindings: [this.summary, this.carry, ...bindings],
      uniforms: this.uniforms(iter, tol),
      workgroups: linearGrid(B * d, WG),
    });
  }

  apply(bindings: Tensor[], iter = 0, tol = 0): void {
    const { B, d } = this.dims;
    this.engine.dispatch(this.kernels.apply, {
      bindings: [this.carry, ...bindings],
      uniforms: this.uniforms(iter, tol),
      workgroups: linearGrid(B * this.chunks * d, WG),
    });
  }

  release(): void {
    this.summary.release();
    this.carry.release();
  }
}

const kernelCache = new Map<string, Record<'summarize' | 'carry' | 'apply', { name: string; wgsl: string }>>();
function cachedKernels(p: ScanProgram) {
  let kernels = kernelCache.get(p.name);
  if (!kernels) {
    kernels = {
      summarize: { name: `${p.name}.summarize`, wgsl: chunkKernel(p, 'summarize') },
      carry: { name: `${p.name}.carry`, wgsl: carryKernel(p) },
      apply: { name: `${p.name}.apply`, wgsl: chunkKernel(p, 'apply') },
    };
    kernelCache.set(p.name, kernels);
  }
  return kernels;
}

function plainProgram(S: number, reverse: boolean): ScanProgram {
  const coeffs = `for (var q = 0u; q < SS; q++) { M[q] = mIn[((b * u.T + t) * SS + q) * u.d + unit]; }
    for (var q = 0u; q < S; q++) { v[q] = vIn[((b * u.T + t) * S + q) * u.d + unit]; }`;
  const inputs = `@group(0) @binding(2) var<storage, read> mIn: array<f32>;
@group(0) @binding(3) var<storage, read> vIn: array<f32>;`;
  return {
    name: `newton.block_scan.s${S}${reverse ? '.reverse' : ''}`,
    S,
    reverse,
    common: '',
    summarize: { bindings: inputs, coeffs },
    apply: {
      bindings: `${inputs}\n@group(0) @binding(4) var<storage, read_write> xOut: array<f32>;`,
      coeffs,
      after: 'for (var q = 0u; q < S; q++) { xOut[((b * u.T + t) * S + q) * u.d + unit] = x[q]; }',
    },
  };
}

/**
 * Solves x_t = M_t x_{t−1} + v_t (or x_t = M_t x_{t+1} + v_t with `reverse`) for M [B, T, S·S, d]
 * (row-major S×S blocks per unit) and v [B, T, S, d], S ∈ {1, 2}; returns x [B, T, S, d]. No autograd:
 * the Newton solver and its adjoint use the scan through their own programs.
 */
export function blockScan(M: Tensor, v: Tensor, options: { reverse?: boolean; chunk?: number } = {}): Tensor {
  if (v.shape.length !== 4) throw new RangeError(`blockScan: v must be [B, T, S, d], got ${v.describe()}`);
  const [B, T, S, d] = v.shape;
  if (S !== 1 && S !== 2) throw new RangeError(`blockScan: blocks of size ${S} are not supported (1 or 2)`);
  if (M.shape.join() !== [B, T, S * S, d].join()) {
    throw new RangeError(
      `blockScan: M must be [${B}, ${T}, ${S * S}, ${d}] for v ${v.describe()}, got ${M.describe()}`,
    );
  }
  const chunk = options.chunk ?? defaultChunk(T);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new RangeError(`blockScan: chunk must be a positive integer, got ${chunk}`);
  const engine = v.engine;
  const x = engine.empty([B, T, S, d]);
  const scan = new ChunkScan(engine, plainProgram(S, options.reverse ?? false), { B, T, d, chunk });
  scan.summarize([M, v]);
  scan.carryIn();
  scan.apply([M, v, x]);
  scan.release();
  return x;
}
