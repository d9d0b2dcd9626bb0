// Causal depthwise 1-D convolution over time, the short convolution of Mamba and GLA:
//   y[b,t,c] = bias[c] + Σ_j weight[c,j] · x[b, t−K+1+j, c]     (x is 0 before t = 0)
// The weight layout [C,K] is PyTorch's Conv1d(C, C, K, groups=C, padding=K−1) weight [C,1,K]
// flattened, with the output truncated to the first T steps.
//
// Every kernel is one invocation per output element. The weight and bias gradients are sums over all
// B·T rows: each invocation first sums a chunk of rows for one (c, j), then reduce.ts's deterministic
// `sum` adds the chunks, so the result never depends on scheduling.

import { record } from '../autograd.js';
import { uniformBytes } from '../engine.js';
import { linearGrid, linearMain } from '../grid.js';
import type { Tensor } from '../tensor.js';
import { checkDType, checkRank, checkSameEngine } from './checks.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';

const PARAMS = 'struct Params { n: u32, rows: u32, time: u32, channels: u32, taps: u32, rowsPerChunk: u32 }';

/** Rows of B·T summed by one invocation of the weight-gradient pass. */
const ROWS_PER_CHUNK = 64;

// For the [B,T,C] layout: the flat index of channel c at step t + shift of the same sequence as
// `row` (= b·T + t), or -1 when that step lies outside the sequence (the zero padding).
const SHIFTED_INDEX = `
fn shiftedIndex(row: u32, shift: i32, c: u32) -> i32 {
  let t = i32(row % u.time) + shift;
  if (t < 0 || t >= i32(u.time)) { return -1; }
  return (i32(row) + shift) * i32(u.channels) + i32(c);
}`;

function forwardKernel(hasBias: boolean): string {
  return `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
${hasBias ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${hasBias ? 4 : 3}) var<storage, read_write> y: array<f32>;
${SHIFTED_INDEX}
${linearMain()}
  if (i >= u.n) { return; }
  let row = i / u.channels;
  let c = i % u.channels;
  var acc = ${hasBias ? 'bias[c]' : '0.0'};
  for (var j = 0u; j < u.taps; j++) {
    let s = shiftedIndex(row, i32(j) - i32(u.taps) + 1, c);
    if (s >= 0) { acc += weight[c * u.taps + j] * x[s]; }
  }
  y[i] = acc;
}`;
}

// dx[b,s,c] = Σ_j weight[c,j] · g[b, s+K−1−j, c]   (the same taps, looking forward in time)
const GRAD_X_KERNEL = `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${SHIFTED_INDEX}
${linearMain()}
  if (i >= u.n) { return; }
  let row = i / u.channels;
  let c = i % u.channels;
  var acc = 0.0;
  for (var j = 0u; j < u.taps; j++) {
    let s = shiftedIndex(row, i32(u.taps) - 1 - i32(j), c);
    if (s >= 0) { acc += weight[c * u.taps + j] * g[s]; }
  }
  dx[i] = acc;
}`;

// Partial sums over one chunk of rows: dWeight[c,j] += g[r,c]·x[r−K+1+j, c], dBias[c] += g[r,c].
// Tap index j = K stands for the bias, so one pass fills both partial tensors.
const GRAD_PARAMS_KERNEL = `
${PARAMS}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> partialWeight: array<f32>;
@group(0) @binding(4) var<storage, read_write> partialBias: array<f32>;
${SHIFTED_INDEX}
${linearMain()}
  if (i >= u.n) { return; }
  let j = i % (u.taps + 1u);
  let c = (i / (u.taps + 1u)) % u.channels;
  let chunk = i / ((u.taps + 1u) * u.channels);
  let start = chunk * u.rowsPerChunk;
  let stop = min(start + u.rowsPerChunk, u.rows);
  var acc = 0.0;
  for (var r = start; r < stop; r++) {
    var factor = 1.0;
    if (j < u.taps) {
      let s = shiftedIndex(r, i32(j) - i32(u.taps) + 1, c);
      factor = select(0.0, x[max(s, 0)], s >= 0);
    }
    acc += g[r * u.channels + c] * factor;
  }
  if (j < u.taps) { partialWeight[(chunk * u.channels + c) * u.taps + j] = acc; }
  else { partialBias[chunk * u.channels + c] = acc; }
}`;

/**
 * Causal depthwise convolution of `x` [B,T,C] with `weight` [C,K] and optional `bias` [C] → [B,T,C].
 */
export function causalConv1d(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const op = 'causalConv1d';
  checkDType(op, 'x', x, 'f32');
  checkDType(op, 'weight', weight, 'f32');
  checkRank(op, 'x', x, 3);
  checkRank(op, 'weight', weight, 2);
  const [batch, time, channels] = x.shape;
  const taps = weight.shape[1];
  if (weight.shape[0] !== channels) {
    throw new RangeError(
      `${op}: weight ${weight.describe()} must have shape [${channels},K] to match x ${x.describe()}`,
    );
  }
  if (taps === 0) throw new RangeError(`${op}: weight ${weight.describe()} has no taps (K = 0)`);
  if (bias) {
    checkDType(op, 'bias', bias, 'f32');
    if (bias.shape.length !== 1 || bias.shape[0] !== channels) {
      throw new RangeError(`${op}: bias ${bias.describe()} must have shape [${channels}] to match x ${x.describe()}`);
    }
  }
  const engine = checkSameEngine(op, bias ? [x, weight, bias] : [x, weight]);
  const rows = batch * time;
  const params = (n: number) => uniformBytes([n, rows, time, channels, taps, ROWS_PER_CHUNK]);

  const y = engine.empty(x.shape);
  engine.dispatch(
    { name: `${op}.forward`, wgsl: forwardKernel(!!bias) },
    {
      bindings: bias ? [x, weight, bias, y] : [x, weight, y],
      uniforms: params(y.size),
      workgroups: linearGrid(y.size),
    },
  );
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, op, inputs, (g) => {
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = engine.empty(x.shape);
      engine.dispatch(
        { name: `${op}.gradX`, wgsl: GRAD_X_KERNEL },
        { bindings: [g, weight, dx], uniforms: params(dx.size), workgroups: linearGrid(dx.size) },
      );
    }
    let dWeight: Tensor | null = null;
    let dBias: Tensor | null = null;
    if (weight.requiresGrad || bias?.requiresGrad) {
      const chunks = Math.max(1, Math.ceil(rows / ROWS_PER_CHUNK));
      const partialWeight = engine.empty([chunks, channels * taps]);
      const partialBias = engine.empty([chunks, channels]);
      const n = chunks * channels * (taps + 1);
      engine.dispatch(
        { name: `${op}.gradParams`, wgsl: GRAD_PARAMS_KERNEL },
        { bindings: [g, x, partialWeight, partialBias], uniforms: params(n), workgroups: linearGrid(n) },
      );
      if (weight.requiresGrad) dWeight = reshape(sum(partialWeight, 0), [channels, taps]);
      if (bias?.requiresGrad) dBias = sum(partialBias, 0);
      partialWeight.release();
      partialBias.release();
    }
    return [dx, dWeight, dBias];
  });
}
