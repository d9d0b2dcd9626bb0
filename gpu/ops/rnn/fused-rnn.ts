// The fused sequential RNN op: the whole sequence in one dispatch (forward) and BPTT in one dispatch
// (backward), plus the deterministic reductions of the recurrent-weight and bias gradients. Cells are
// parameterizations of one kernel generator (fused-kernels.ts); the float64 oracle is fused-rnn.ref.ts.
//
//   gx     [B, T, NI·hidden]  input projections W x for all t (from `linear`, computed outside)
//   R      [NR, H, D, D]      block-diagonal recurrent matrix, one D×D block per (gate block, head)
//   bias   [NB, hidden]       one bias per raw gate (GRU: 4 for 3 recurrent blocks, as in FlashRNN)
//   state0 [B, S, hidden]     initial state (zero when omitted), treated as a constant
// returns y [B, T, hidden] (the h of every step) and the final state [B, S, hidden] (no gradient).

import { record } from '../../autograd.js';
import { uniformBytes, type Engine } from '../../engine.js';
import { linearGrid } from '../../grid.js';
import { formatShape, type Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { sum } from '../reduce.js';
import { reshape } from '../shape.js';
import type { FusedCell } from './cells.js';
import {
  backwardKernel,
  extraRecurrentGates,
  forwardKernel,
  sharedFloats,
  weightGradKernel,
  type FusedKernelConfig,
} from './fused-kernels.js';

export interface FusedRnnOptions {
  /** Where R lives during the time loop; 'auto' caches it in workgroup memory when it fits. */
  weights?: 'auto' | 'workgroup' | 'global';
}

export interface FusedRnnResult {
  y: Tensor;
  state: Tensor;
}

interface Dims {
  B: number;
  T: number;
  H: number;
  D: number;
  hidden: number;
}

function checkInputs(cell: FusedCell, gx: Tensor, R: Tensor, bias: Tensor, state0?: Tensor | null): Dims {
  const op = `rnn.${cell.kind}`;
  const NR = cell.recurrentGates.length;
  if (R.shape.length !== 4 || R.shape[0] !== NR || R.shape[2] !== R.shape[3]) {
    throw new RangeError(`${op}: recurrent weight must be [${NR}, heads, D, D], got ${R.describe()}`);
  }
  const [, H, D] = R.shape;
  const hidden = H * D;
  const NI = cell.inputGates.length;
  if (gx.shape.length !== 3 || gx.shape[2] !== NI * hidden) {
    throw new RangeError(`${op}: input projections must be [B, T, ${NI}·${hidden}], got ${gx.describe()}`);
  }
  const [B, T] = gx.shape;
  if (bias.shape.join() !== [cell.gates.length, hidden].join()) {
    throw new RangeError(`${op}: bias must be ${formatShape([cell.gates.length, hidden])}, got ${bias.describe()}`);
  }
  const S = cell.states.length;
  if (state0 && state0.shape.join() !== [B, S, hidden].join()) {
    throw new RangeError(`${op}: initial state must be ${formatShape([B, S, hidden])}, got ${state0.describe()}`);
  }
  for (const t of [gx, R, bias, ...(state0 ? [state0] : [])]) {
    if (t.dtype !== 'f32') throw new TypeError(`${op}: expected f32 inputs, got ${t.describe()}`);
  }
  if (T < 1) throw new RangeError(`${op}: the sequence is empty (${gx.describe()})`);
  return { B, T, H, D, hidden };
}

/** Workgroup size and weight placement for head size D on this device; throws when D cannot fit. */
export function fusedLaunch(engine: Engine, cell: FusedCell, D: number, weights: FusedRnnOptions['weights'] = 'auto') {
  const limits = engine.ctx.limits;
  const NR = cell.recurrentGates.length;
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const roundUp = (n: number) => Math.ceil(n / 32) * 32;
  const workgroupSize = Math.max(Math.min(256, roundUp(NR * D)), roundUp(D));
  if (D > maxInvocations || workgroupSize > maxInvocations) {
    throw new RangeError(
      `rnn.${cell.kind}: head size ${D} needs one invocation per unit, over this device's limit of ${maxInvocations}; use more heads`,
    );
  }
  const bytesShared = sharedFloats(cell, D) * 4;
  const bytesCached = bytesShared + NR * D * D * 4;
  const storage = limits.maxComputeWorkgroupStorageSize;
  if (bytesShared > storage) {
    throw new RangeError(
      `rnn.${cell.kind}: head size ${D} needs ${bytesShared} bytes of workgroup memory, over ${storage}`,
    );
  }
  const fits = bytesCached <= storage;
  if (weights === 'workgroup' && !fits) {
    throw new RangeError(
      `rnn.${cell.kind}: R of head size ${D} needs ${bytesCached} bytes of workgroup memory, over ${storage}`,
    );
  }
  return { workgroupSize, cacheWeights: weights === 'global' ? false : fits };
}

const sources = new Map<string, string>();
function source(kind: 'forward' | 'backward', c: FusedKernelConfig): { name: string; wgsl: string } {
  const key = `${kind}:${c.cell.kind}:${c.D}:${c.workgroupSize}:${c.cacheWeights}:${c.saveTape}`;
  let wgsl = sources.get(key);
  if (!wgsl) {
    wgsl = kind === 'forward' ? forwardKernel(c) : backwardKernel(c);
    sources.set(key, wgsl);
  }
  return { name: `rnn.${c.cell.kind}.${kind}`, wgsl };
}

export function fusedRnn(
  cell: FusedCell,
  gx: Tensor,
  R: Tensor,
  bias: Tensor,
  state0?: Tensor | null,
  options: FusedRnnOptions = {},
): FusedRnnResult {
  const { B, T, H, D, hidden } = checkInputs(cell, gx, R, bias, state0);
  const engine = gx.engine;
  const S = cell.states.length;
  const launch = fusedLaunch(engine, cell, D, options.weights);
  const needsGrad = engine.isGradEnabled && [gx, R, bias].some((t) => t.requiresGrad);
  const s0 = state0 ?? zeros(engine, [B, S, hidden]);
  const y = engine.empty([B, T, hidden]);
  const state = engine.empty([B, S, hidden]);
  const tape = needsGrad ? engine.empty([B, T, S + cell.gates.length, hidden]) : null;
  const config: FusedKernelConfig = { cell, D, ...launch, saveTape: needsGrad };
  engine.dispatch(source('forward', config), {
    bindings: [gx, R, bias, s0, y, state, ...(tape ? [tape] : [])],
    uniforms: uniformBytes({ u32: [T, H] }),
    workgroups: [H, B],
  });
  if (!tape) return { y, state };
  record(y, `rnn.${cell.kind}`, [gx, R, bias], (dy) => {
    const grads = fusedRnnBackward(cell, { ...config, saveTape: false }, { B, T, H, D, hidden }, R, s0, tape, dy);
    return [grads.dgx, grads.dR, grads.dbias];
  });
  return { y, state };
}

function fusedRnnBackward(
  cell: FusedCell,
  config: FusedKernelConfig,
  { B, T, H, D, hidden }: Dims,
  R: Tensor,
  s0: Tensor,
  tape: Tensor,
  dy: Tensor,
): { dgx: Tensor; dR: Tensor; dbias: Tensor } {
  const engine = dy.engine;
  const NI = cell.inputGates.length;
  const NB = cell.gates.length;
  const extras = extraRecurrentGates(cell);
  const dgx = engine.empty([B, T, NI * hidden]);
  const dbiasRows = engine.empty([B, NB * hidden]);
  const dextra = extras.length ? engine.empty([B, T, extras.length * hidden]) : null;
  engine.dispatch(source('backward', config), {
    bindings: [R, s0, tape, dy, dgx, dbiasRows, ...(dextra ? [dextra] : [])],
    uniforms: uniformBytes({ u32: [T, H] }),
    workgroups: [H, B],
  });
  const dbias = reshape(sum(dbiasRows, 0), [NB, hidden]);
  dbiasRows.release();
  const dR = recurrentWeightGrad(engine, cell, { B, T, H, D, hidden }, tape, s0, dgx, dextra);
  dextra?.release();
  return { dgx, dR, dbias };
}

/** dR = Σ_{b,t} d(raw)_t ⊗ h_{t−1} per (gate block, head), in two deterministic passes. */
function recurrentWeightGrad(
  engine: Engine,
  cell: FusedCell,
  { B, T, H, D }: Dims,
  tape: Tensor,
  s0: Tensor,
  dgx: Tensor,
  dextra: Tensor | null,
): Tensor {
  const NR = cell.recurrentGates.length;
  const rows = B * T;
  const perChunk = NR * H * D * D;
  // Enough chunks of rows to keep ~64k invocations busy; the partials are summed by `sum` below.
  const chunks = Math.max(1, Math.min(rows, Math.ceil(65536 / perChunk)));
  const chunk = Math.ceil(rows / chunks);
  const partial = engine.empty([chunks, perChunk]);
  const kernel = { name: `rnn.${cell.kind}.weight_grad`, wgsl: weightGradKernel(cell, D) };
  // Each recurrent block reads its gradient from dgx (input-fed gates) or dextra (recurrent-only).
  // Runs of consecutive blocks from the same source go in one dispatch.
  const sourceOf = (gr: number) => {
    const g = cell.recurrentGates[gr];
    const gi = cell.inputGates.indexOf(g);
    return gi >= 0
      ? { src: dgx, gates: cell.inputGates.length, index: gi }
      : { src: dextra!, gates: extraRecurrentGates(cell).length, index: extraRecurrentGates(cell).indexOf(g) };
  };
  let gr = 0;
  while (gr < NR) {
    const first = sourceOf(gr);
    let count = 1;
    while (gr + count < NR) {
      const next = sourceOf(gr + count);
      if (next.src !== first.src || next.index !== first.index + count) break;
      count++;
    }
    const total = chunks * count * H * D * D;
    engine.dispatch(kernel, {
      bindings: [first.src, tape, s0, partial],
      uniforms: uniformBytes({ u32: [rows, T, H, chunk, total, first.gates, first.index, gr, count] }),
      workgroups: linearGrid(total),
    });
    gr += count;
  }
  const dR = reshape(sum(partial, 0), [NR, H, D, D]);
  partial.release();
  return dR;
}

/**
 * One token with carried state: gxt [B, NI·hidden], state [B, S, hidden] → y [B, hidden] and the next
 * state. The same kernel as the sequence form run for T = 1, so step-by-step equals the sequence.
 */
export function fusedRnnStep(
  cell: FusedCell,
  gxt: Tensor,
  R: Tensor,
  bias: Tensor,
  state: Tensor,
  options: FusedRnnOptions = {},
): FusedRnnResult {
  if (gxt.shape.length !== 2)
    throw new RangeError(`rnn.${cell.kind} step: input projections must be [B, features], got ${gxt.describe()}`);
  const [B, features] = gxt.shape;
  const out = fusedRnn(cell, reshape(gxt, [B, 1, features]), R, bias, state, options);
  return { y: reshape(out.y, [B, out.y.shape[2]]), state: out.state };
}
