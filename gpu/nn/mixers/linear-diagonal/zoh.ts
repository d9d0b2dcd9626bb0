// The zero-order-hold factor of diagonal SSMs, φ(z) = (e^z − 1)/z for complex z = dt·A, so that the
// discretized input matrix is dt·φ(dt·A)·B (S4D: C′ = C (e^{dtA} − 1)/A = C·dt·φ(dt·A)).
// Written as φ rather than (e^z − 1)/A because both φ and φ′ cancel catastrophically in f32 for small
// |z| (dt = 0.001 gives |z| ~ 1e-3: e^z − 1 loses three digits and φ′ = (e^z (z − 1) + 1)/z² six);
// below |z| = 0.2 both come from their Taylor series (truncation error < 1e-9), above from the formulas.

import { record } from '../../../autograd.js';
import { uniformBytes } from '../../../engine.js';
import { linearGrid, linearMain } from '../../../grid.js';
import { formatShape, type Tensor } from '../../../tensor.js';

const COMPLEX_ZOH = `
fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> { return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
fn cdiv(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> { return cmul(a, vec2<f32>(b.x, -b.y)) / dot(b, b); }
fn cexp(z: vec2<f32>) -> vec2<f32> { return exp(z.x) * vec2<f32>(cos(z.y), sin(z.y)); }
const ONE = vec2<f32>(1.0, 0.0);
/** Horner evaluation of Σ_k c_k z^k. */
fn poly(z: vec2<f32>, c: array<f32, 7>) -> vec2<f32> {
  var acc = vec2<f32>(c[6], 0.0);
  for (var k = 5; k >= 0; k--) { acc = cmul(acc, z) + vec2<f32>(c[k], 0.0); }
  return acc;
}
fn phi(z: vec2<f32>) -> vec2<f32> {
  if (length(z) < 0.2) { return poly(z, array<f32, 7>(1.0, 1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0)); }
  return cdiv(cexp(z) - ONE, z);
}
fn dphi(z: vec2<f32>) -> vec2<f32> {
  if (length(z) < 0.2) { return poly(z, array<f32, 7>(1.0 / 2.0, 1.0 / 3.0, 1.0 / 8.0, 1.0 / 30.0, 1.0 / 144.0, 1.0 / 840.0, 1.0 / 5760.0)); }
  return cdiv(cmul(cexp(z), z - ONE) + ONE, cmul(z, z));
}`;

const FORWARD = `${COMPLEX_ZOH}
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> zr: array<f32>;
@group(0) @binding(2) var<storage, read> zi: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec2<f32>>;
${linearMain()}
  if (i >= u.n) { return; }
  out[i] = phi(vec2<f32>(zr[i], zi[i]));
}`;

// φ is holomorphic, so with φ′ = p + iq: ∂Re φ/∂x = p, ∂Re φ/∂y = −q, ∂Im φ/∂x = q, ∂Im φ/∂y = p.
const BACKWARD = `${COMPLEX_ZOH}
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> zr: array<f32>;
@group(0) @binding(2) var<storage, read> zi: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> gr: array<f32>;
@group(0) @binding(5) var<storage, read_write> gi: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let d = dphi(vec2<f32>(zr[i], zi[i]));
  gr[i] = g[i].x * d.x + g[i].y * d.y;
  gi[i] = -g[i].x * d.y + g[i].y * d.x;
}`;

/** φ(zr + i·zi) = (e^z − 1)/z elementwise, as (re, im) pairs: [..., 2]. */
export function zohFactor(zr: Tensor, zi: Tensor): Tensor {
  if (zr.shape.join() !== zi.shape.join()) {
    throw new RangeError(`zohFactor: zr ${formatShape(zr.shape)} and zi ${formatShape(zi.shape)} must have one shape`);
  }
  const engine = zr.engine;
  const out = engine.empty([...zr.shape, 2]);
  const n = zr.size;
  engine.dispatch(
    { name: 'zoh_factor', wgsl: FORWARD },
    { bindings: [zr, zi, out], uniforms: uniformBytes([n]), workgroups: linearGrid(n) },
  );
  return record(out, 'zohFactor', [zr, zi], (g) => {
    const [gr, gi] = [engine.empty(zr.shape), engine.empty(zi.shape)];
    engine.dispatch(
      { name: 'zoh_factor.backward', wgsl: BACKWARD },
      { bindings: [zr, zi, g, gr, gi], uniforms: uniformBytes([n]), workgroups: linearGrid(n) },
    );
    return [gr, gi];
  });
}
