// The elementwise diagonal linear recurrence h_t = a_t ⊙ h_{t-1} + b_t over [B, T, D] (real) or
// [B, T, D, 2] (complex channels as (re, im) pairs), with an optional initial state h0 and the final
// state. Forward and backward are two programs of the chunked scan kernel.
//
// Backward (the adjoint recurrence, run in reverse time by the same kernel): with G_t = dL/dh_t in total,
//   G_t = dh_t + conj(a_{t+1}) G_{t+1},   da_t = G_t conj(h_{t-1}),   db_t = G_t,   dh0 = conj(a_0) G_0.
// For real channels conj is the identity; for complex ones it is the adjoint of multiplying by a, seen as
// the 2×2 real matrix [[re, −im], [im, re]].

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import { linearGrid, linearMain } from '../../grid.js';
import { formatShape, type Tensor } from '../../tensor.js';
import { dispatchScan, type ScanProgram } from './chunked-scan.js';
import { COMPLEX, REAL, type NumberSystem } from './number-systems.js';

export interface ScanResult {
  /** Every state, [B, T, D] (complex: [B, T, D, 2]). */
  h: Tensor;
  /** The state after the last step, [B, D] (complex: [B, D, 2]); equals h[:, T−1]. */
  last: Tensor;
}

/** h_t = a_t h_{t-1} + b_t for real a, b: [B, T, D]; h0: [B, D] (zero when omitted). */
export function linearScan(a: Tensor, b: Tensor, h0?: Tensor): ScanResult {
  return diagonalScan(REAL, 'linearScan', a, b, h0);
}

/** The complex recurrence on (re, im) pairs: a, b: [B, T, D, 2]; h0: [B, D, 2]. */
export function complexLinearScan(a: Tensor, b: Tensor, h0?: Tensor): ScanResult {
  return diagonalScan(COMPLEX, 'complexLinearScan', a, b, h0);
}

/** Batch, time and channel counts of a [B, T, D] (or [B, T, D, 2]) scan input; throws naming the op. */
export function scanDims(
  system: NumberSystem,
  op: string,
  inputs: Record<string, Tensor>,
  h0?: Tensor,
): { batch: number; T: number; D: number } {
  const [first, ...rest] = Object.entries(inputs);
  const shape = first[1].shape;
  const rank = system.width === 2 ? 4 : 3;
  if (shape.length !== rank || (system.width === 2 && shape[3] !== 2)) {
    const expected = system.width === 2 ? '[B, T, D, 2]' : '[B, T, D]';
    throw new RangeError(`${op}: ${first[0]} must have shape ${expected}, got ${formatShape(shape)}`);
  }
  for (const [name, t] of rest) {
    if (t.shape.join() !== shape.join()) {
      throw new RangeError(`${op}: ${name} ${formatShape(t.shape)} must match ${first[0]} ${formatShape(shape)}`);
    }
  }
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== 'f32') throw new TypeError(`${op}: ${name} must be f32, got ${t.describe()}`);
  }
  const [batch, T, D] = shape;
  if (T < 1) throw new RangeError(`${op}: sequence length must be at least 1, got ${formatShape(shape)}`);
  if (h0) {
    const expected = system.width === 2 ? [batch, D, 2] : [batch, D];
    if (h0.shape.join() !== expected.join()) {
      throw new RangeError(
        `${op}: initial state must have shape ${formatShape(expected)}, got ${formatShape(h0.shape)}`,
      );
    }
  }
  return { batch, T, D };
}

function diagonalScan(system: NumberSystem, op: string, a: Tensor, b: Tensor, h0?: Tensor): ScanResult {
  const dims = scanDims(system, op, { a, b }, h0);
  const engine = a.engine;
  const h = engine.empty(a.shape);
  const last = engine.empty(h0?.shape ?? lastShape(a.shape));
  dispatchScan(engine, forwardProgram(system, !!h0), dims, [a, b, ...(h0 ? [h0] : []), h, last]);
  record(h, op, h0 ? [a, b, h0] : [a, b], (g) => {
    const grads = linearScanBackward(system, a, h, g, h0);
    return h0 ? [grads.da, grads.db, grads.dh0!] : [grads.da, grads.db];
  });
  recordLast(last, h, op);
  return { h, last };
}

/** Drops the time axis: [B, T, ...] → [B, ...]. */
export function lastShape(shape: readonly number[]): number[] {
  return [shape[0], ...shape.slice(2)];
}

function forwardProgram(system: NumberSystem, hasInit: boolean): ScanProgram {
  return {
    name: `scan:${system.name}`,
    system,
    buffers: [
      { name: 'a', access: 'read', elem: 'V' },
      { name: 'b', access: 'read', elem: 'V' },
      ...(hasInit ? [{ name: 'h0', access: 'read' as const, elem: 'V' as const }] : []),
      { name: 'h', access: 'read_write', elem: 'V' },
      { name: 'last', access: 'read_write', elem: 'V' },
    ],
    reverse: false,
    init: hasInit ? 'h0[bi * u.D + c]' : 'v_zero()',
    load: 'coef = a[at(bi, t, c)]; inp = b[at(bi, t, c)];',
    store: 'h[at(bi, t, c)] = state;',
    final: 'last[bi * u.D + c] = state;',
  };
}

function backwardProgram(system: NumberSystem, hasInit: boolean): ScanProgram {
  return {
    name: `scan:${system.name}.backward`,
    system,
    buffers: [
      { name: 'a', access: 'read', elem: 'V' },
      { name: 'h', access: 'read', elem: 'V' },
      ...(hasInit ? [{ name: 'h0', access: 'read' as const, elem: 'V' as const }] : []),
      { name: 'dh', access: 'read', elem: 'V' },
      { name: 'da', access: 'read_write', elem: 'V' },
      { name: 'db', access: 'read_write', elem: 'V' },
      ...(hasInit ? [{ name: 'dh0', access: 'read_write' as const, elem: 'V' as const }] : []),
    ],
    reverse: true,
    init: 'v_zero()',
    // Step t of the adjoint carries G_{t+1} through conj(a_{t+1}); the last step has no successor.
    load: `inp = dh[at(bi, t, c)];
        if (t + 1u < u.T) { coef = v_conj(a[at(bi, t + 1u, c)]); }`,
    store: `db[at(bi, t, c)] = state;
        var previous = ${hasInit ? 'h0[bi * u.D + c]' : 'v_zero()'};
        if (t > 0u) { previous = h[at(bi, t - 1u, c)]; }
        da[at(bi, t, c)] = v_mul(state, v_conj(previous));`,
    final: hasInit ? 'dh0[bi * u.D + c] = v_mul(v_conj(a[at(bi, 0u, c)]), state);' : '',
  };
}

/** Gradients of the scan given dL/dh for every state (no autograd recording). */
export function linearScanBackward(
  system: NumberSystem,
  a: Tensor,
  h: Tensor,
  dh: Tensor,
  h0?: Tensor,
): { da: Tensor; db: Tensor; dh0?: Tensor } {
  const engine = a.engine;
  const dims = scanDims(system, `scan:${system.name}.backward`, { a, h, dh }, h0);
  const da = engine.empty(a.shape);
  const db = engine.empty(a.shape);
  const dh0 = h0 ? engine.empty(h0.shape) : undefined;
  dispatchScan(engine, backwardProgram(system, !!h0), dims, [
    a,
    h,
    ...(h0 ? [h0] : []),
    dh,
    da,
    db,
    ...(dh0 ? [dh0] : []),
  ]);
  return { da, db, dh0 };
}

const PLACE_LAST = `
struct Params { n: u32, T: u32, inner: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let bi = i / (u.T * u.inner);
  let t = (i / u.inner) % u.T;
  out[i] = select(0.0, g[bi * u.inner + i % u.inner], t == u.T - 1u);
}`;

/** The adjoint of taking h[:, T−1]: g placed at the last time step of a zero [B, T, ...] tensor. */
export function placeLast(g: Tensor, shape: readonly number[]): Tensor {
  const out = g.engine.empty(shape);
  const inner = shape.slice(2).reduce((p, d) => p * d, 1);
  g.engine.dispatch(
    { name: 'scan:place_last', wgsl: PLACE_LAST },
    { bindings: [g, out], uniforms: uniformBytes([out.size, shape[1], inner]), workgroups: linearGrid(out.size) },
  );
  return out;
}

/** `last` is h[:, T−1], so its gradient flows into h (and from there through the one adjoint scan). */
export function recordLast(last: Tensor, h: Tensor, op: string): void {
  record(last, `${op}.last`, [h], (g) => [placeLast(g, h.shape)]);
}
