// One token of the diagonal recurrence, h = a ⊗ h_prev ⊕ b over [B, D] (complex: [B, D, 2]): the
// decoding/step form of every class-A mixer. The forward is one invocation per channel in the same
// number systems as the scan; the backward is the scan's adjoint at T = 1, so both forms share one
// gradient rule.

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import { linearGrid, linearMain } from '../../grid.js';
import { formatShape, type Tensor } from '../../tensor.js';
import { linearScanBackward } from './linear-scan.js';
import { logLinearScanBackward } from './log-scan.js';
import { COMPLEX, LOG, REAL, type NumberSystem } from './number-systems.js';

function stepKernel(system: NumberSystem): string {
  return `${system.wgsl}
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<V>;
@group(0) @binding(2) var<storage, read> b: array<V>;
@group(0) @binding(3) var<storage, read> h: array<V>;
@group(0) @binding(4) var<storage, read_write> out: array<V>;
${linearMain()}
  if (i >= u.n) { return; }
  out[i] = v_add(v_mul(a[i], h[i]), b[i]);
}`;
}

function checkStep(system: NumberSystem, op: string, a: Tensor, b: Tensor, h: Tensor): void {
  const rank = system.width === 2 ? 3 : 2;
  for (const [name, t] of Object.entries({ a, b, h })) {
    if (t.shape.length !== rank || (system.width === 2 && t.shape[2] !== 2) || t.shape.join() !== a.shape.join()) {
      throw new RangeError(
        `${op}: ${name} must have shape ${system.width === 2 ? '[B, D, 2]' : '[B, D]'} like a ${formatShape(a.shape)}, got ${formatShape(t.shape)}`,
      );
    }
  }
}

function runStep(system: NumberSystem, op: string, a: Tensor, b: Tensor, h: Tensor): Tensor {
  checkStep(system, op, a, b, h);
  const engine = a.engine;
  const out = engine.empty(a.shape);
  const n = a.size / system.width;
  engine.dispatch(
    { name: `scan_step:${system.name}`, wgsl: stepKernel(system) },
    { bindings: [a, b, h, out], uniforms: uniformBytes([n]), workgroups: linearGrid(n) },
  );
  return out;
}

/** Views [B, ...] as [B, 1, ...]: one time step of a scan. */
function asSequence(t: Tensor): Tensor {
  return t.engine.view(t, [t.shape[0], 1, ...t.shape.slice(1)]);
}

function asToken(t: Tensor): Tensor {
  return t.engine.view(t, [t.shape[0], ...t.shape.slice(2)]);
}

function linearStepWith(system: NumberSystem, op: string, a: Tensor, b: Tensor, h: Tensor): Tensor {
  const out = runStep(system, op, a, b, h);
  return record(out, op, [a, b, h], (g) => {
    const { da, db, dh0 } = linearScanBackward(system, asSequence(a), asSequence(out), asSequence(g), h);
    return [asToken(da), asToken(db), dh0!];
  });
}

/** h = a ⊙ h_prev + b for real [B, D] tensors. */
export function linearStep(a: Tensor, b: Tensor, hPrev: Tensor): Tensor {
  return linearStepWith(REAL, 'linearStep', a, b, hPrev);
}

/** h = a h_prev + b for complex channels as (re, im) pairs, [B, D, 2]. */
export function complexLinearStep(a: Tensor, b: Tensor, hPrev: Tensor): Tensor {
  return linearStepWith(COMPLEX, 'complexLinearStep', a, b, hPrev);
}

/** log h = logaddexp(log a + log h_prev, log b) for [B, D]. */
export function logLinearStep(logA: Tensor, logB: Tensor, logHPrev: Tensor): Tensor {
  const op = 'logLinearStep';
  const out = runStep(LOG, op, logA, logB, logHPrev);
  return record(out, op, [logA, logB, logHPrev], (g) => {
    const grads = logLinearScanBackward(asSequence(logA), asSequence(logB), asSequence(out), asSequence(g), logHPrev);
    return [asToken(grads.dLogA), asToken(grads.dLogB), grads.dLogH0!];
  });
}
