// Token shift (RWKV's time-mix input, fla's `token_shift`): y_t = x_{t-1}, with x_{-1} taken from a
// carried state (the previous segment's last token) or zero. The new state is the last token x_{T-1},
// so a sequence split into segments gives the same result as one pass.

import { record } from '../../autograd.js';
import { uniformBytes, type Engine } from '../../engine.js';
import { linearGrid, linearMain } from '../../grid.js';
import { placeLast } from '../../ops/scan/linear-scan.js';
import { formatShape, type Tensor } from '../../tensor.js';

/** out[b,t,c] = src[b, t − shift, c] inside the sequence, else fill[b,c] (or 0 without a fill). */
function shiftKernel(hasFill: boolean): string {
  return `
struct Params { n: u32, T: u32, C: u32, shift: i32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
${hasFill ? '@group(0) @binding(2) var<storage, read> fill: array<f32>;' : ''}
@group(0) @binding(${hasFill ? 3 : 2}) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  let b = i / (u.T * u.C);
  let t = i32((i / u.C) % u.T);
  let c = i % u.C;
  let s = t - u.shift;
  var value = 0.0;
  if (s >= 0 && s < i32(u.T)) { value = src[(b * u.T + u32(s)) * u.C + c]; }
  ${hasFill ? 'else { value = fill[b * u.C + c]; }' : ''}
  out[i] = value;
}`;
}

function shiftTime(engine: Engine, src: Tensor, shift: number, fill?: Tensor): Tensor {
  const [, T, C] = src.shape;
  const out = engine.empty(src.shape);
  engine.dispatch(
    { name: `token_shift:${fill ? 'fill' : 'zero'}`, wgsl: shiftKernel(!!fill) },
    {
      bindings: fill ? [src, fill, out] : [src, out],
      uniforms: uniformBytes([out.size, T, C, shift]),
      workgroups: linearGrid(out.size),
    },
  );
  return out;
}

const TAKE_STEP = `
struct Params { n: u32, T: u32, C: u32, t: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${linearMain()}
  if (i >= u.n) { return; }
  out[i] = src[((i / u.C) * u.T + u.t) * u.C + i % u.C];
}`;

/** x[:, t, :] of a [B, T, C] tensor as [B, C] (no autograd). */
function takeStep(engine: Engine, x: Tensor, t: number): Tensor {
  const [B, T, C] = x.shape;
  const out = engine.empty([B, C]);
  engine.dispatch(
    { name: 'token_shift:take', wgsl: TAKE_STEP },
    { bindings: [x, out], uniforms: uniformBytes([out.size, T, C, t]), workgroups: linearGrid(out.size) },
  );
  return out;
}

/**
 * x: [B, T, C] → y[:, t] = x[:, t − 1] (y[:, 0] = state, or 0 without one); returns the new state
 * x[:, T − 1] ([B, C]) too. Gradients flow to x and to the state.
 */
export function tokenShift(x: Tensor, state?: Tensor): { y: Tensor; state: Tensor } {
  if (x.shape.length !== 3 || x.shape[1] < 1) {
    throw new RangeError(`tokenShift: x must have shape [B, T, C] with T ≥ 1, got ${formatShape(x.shape)}`);
  }
  const [B, T, C] = x.shape;
  if (state && (state.shape.length !== 2 || state.shape[0] !== B || state.shape[1] !== C)) {
    throw new RangeError(`tokenShift: state must have shape [${B},${C}], got ${formatShape(state.shape)}`);
  }
  const engine = x.engine;
  const y = shiftTime(engine, x, 1, state);
  record(y, 'tokenShift', state ? [x, state] : [x], (g) => {
    const dx = shiftTime(engine, g, -1);
    return state ? [dx, takeStep(engine, g, 0)] : [dx];
  });
  const last = takeStep(engine, x, T - 1);
  record(last, 'tokenShift.state', [x], (g) => [placeLast(g, x.shape)]);
  return { y, state: last };
}
