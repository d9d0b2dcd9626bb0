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
import { formatShape, type Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { sum } from '../reduce.js';
import { matmul } from '../matmul.js';
import { concat, permute, reshape, slice } from '../shape.js';
import type { FusedCell } from './cells.js';
import { backwardKernel, forwardKernel, sharedFloats, type FusedKernelConfig } from './fused-kernels.js';
import {
  splitApplies,
  defaultStepTiles,
  stepBackwardKernel,
  stepForwardKernel,
  stepWorkgroupBytes,
  type StepKernelConfig,
  type StepTiles,
} from './step-kernels.js';

export interface FusedRnnOptions {
  /**
   * How the time loop runs: 'workgroup' — one persistent dispatch per sequence with R cached in workgroup
   * memory; 'global' — the same kernel reading R through the caches; 'stepwise' — one dispatch per step
   * spread over the GPU (step-kernels.ts). 'auto': 'workgroup' when R fits, else 'stepwise'.
   */
  weights?: 'auto' | 'workgroup' | 'global' | 'stepwise';
  /** Tiles of the step-wise kernels (default: defaultStepTiles(D); tests and the tile benchmark try others). */
  stepTiles?: Partial<StepTiles>;
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
export function fusedLaunch(
  engine: Engine,
  cell: FusedCell,
  D: number,
  weights: Exclude<FusedRnnOptions['weights'], 'stepwise'> = 'auto',
) {
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
  const tiles: StepTiles = { ...defaultStepTiles(D), ...options.stepTiles };
  if (useStepwise(engine, cell, D, options.weights ?? 'auto', tiles)) {
    return stepwiseRnn(cell, { B, T, H, D, hidden }, gx, R, bias, state0 ?? null, tiles);
  }
  const launch = fusedLaunch(engine, cell, D, options.weights as Exclude<FusedRnnOptions['weights'], 'stepwise'>);
  const needsGrad = engine.isGradEnabled && [gx, R, bias].some((t) => t.requiresGrad);
  const s0 = state0 ?? zeros(engine, [B, S, hidden]);
  const y = engine.empty([B, T, hidden]);
  const state = engine.empty([B, S, hidden]);
  const tape = needsGrad ? engine.empty([B, T, S + cell.gates.length, hidden]) : null;
  const hist = needsGrad ? engine.empty([H, B * T, D]) : null;
  const config: FusedKernelConfig = { cell, D, ...launch, saveTape: needsGrad };
  // R per head as [k][gate row]: the layout the forward's matrix-vector product reads row-parallel.
  const rt = engine.noGrad(() => permute(R, [1, 3, 0, 2]));
  engine.dispatch(source('forward', config), {
    bindings: [gx, rt, bias, s0, y, state, ...(tape && hist ? [tape, hist] : [])],
    uniforms: uniformBytes({ u32: [T, H, B] }),
    workgroups: [H, B],
  });
  rt.release();
  if (!tape || !hist) return { y, state };
  record(y, `rnn.${cell.kind}`, [gx, R, bias], (dy) => {
    const grads = fusedRnnBackward(cell, { ...config, saveTape: false }, { B, T, H, D, hidden }, R, s0, tape, hist, dy);
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
  hist: Tensor,
  dy: Tensor,
): { dgx: Tensor; dR: Tensor; dbias: Tensor } {
  const engine = dy.engine;
  const NI = cell.inputGates.length;
  const NR = cell.recurrentGates.length;
  const NB = cell.gates.length;
  const dgx = engine.empty([B, T, NI * hidden]);
  const dbiasRows = engine.empty([B, NB * hidden]);
  const drec = engine.empty([NR, H, B * T, D]);
  engine.dispatch(source('backward', config), {
    bindings: [R, s0, tape, dy, dgx, dbiasRows, drec],
    uniforms: uniformBytes({ u32: [T, H, B] }),
    workgroups: [H, B],
  });
  const dbias = reshape(sum(dbiasRows, 0), [NB, hidden]);
  dbiasRows.release();
  // dR[g, head] = Σ_{b,t} d(raw)_t ⊗ h_{t−1}: one batched product over (gate block, head), K = B·T.
  const dR = matmul(drec, hist, { transA: true });
  drec.release();
  return { dgx, dR, dbias };
}

/** 'auto' picks the step-wise kernels when R does not fit one workgroup's memory. */
/** Head size from which 'auto' runs the step-wise kernels (when R does not fit workgroup memory). */
export const STEPWISE_MIN_D = 256;

function useStepwise(
  engine: Engine,
  cell: FusedCell,
  D: number,
  weights: NonNullable<FusedRnnOptions['weights']>,
  tiles: StepTiles,
) {
  if (weights === 'stepwise') {
    const need = stepWorkgroupBytes(cell, tiles, D);
    const limit = engine.ctx.limits.maxComputeWorkgroupStorageSize;
    if (need > limit)
      throw new RangeError(`rnn.${cell.kind}: step-wise kernels need ${need} bytes of workgroup memory, over ${limit}`);
    return true;
  }
  if (weights !== 'auto') return false;
  // Measured on an H100 (bench/RESULTS.md, rnn): with the split-K step kernels, D = 256 already runs
  // faster step-wise than in the persistent kernel reading R through the caches (LSTM 50 vs 81 ms);
  // smaller heads were not measured, so they keep the persistent kernel.
  return (
    D >= STEPWISE_MIN_D &&
    !fusedLaunch(engine, cell, D, 'auto').cacheWeights &&
    stepWorkgroupBytes(cell, tiles, D) <= engine.ctx.limits.maxComputeWorkgroupStorageSize
  );
}

const stepSources = new Map<string, string>();
function stepSource(kind: 'forward' | 'backward', c: StepKernelConfig): { name: string; wgsl: string } {
  const key = `${kind}:${c.cell.kind}:${c.D}:${c.saveTape}:${c.tiles.tu}x${c.tiles.bt}x${c.tiles.kc}x${c.tiles.ks}`;
  let wgsl = stepSources.get(key);
  if (!wgsl) {
    wgsl = kind === 'forward' ? stepForwardKernel(c) : stepBackwardKernel(c);
    stepSources.set(key, wgsl);
  }
  return { name: `rnn.${c.cell.kind}.step-${kind}`, wgsl };
}

function stepGrid(d: Dims, tiles: StepTiles): [number, number] {
  const unitsPerGroup = splitApplies(d.D, tiles) ? 4 : tiles.tu;
  return [Math.ceil(d.D / unitsPerGroup) * d.H, Math.ceil(d.B / tiles.bt)];
}

/** The sequence as T dispatches of the step kernel (same outputs, tape and backward products as fusedRnn). */
function stepwiseRnn(
  cell: FusedCell,
  d: Dims,
  gx: Tensor,
  R: Tensor,
  bias: Tensor,
  state0: Tensor | null,
  tiles: StepTiles,
): FusedRnnResult {
  const engine = gx.engine;
  const { B, T, H, D, hidden } = d;
  const S = cell.states.length;
  const needsGrad = engine.isGradEnabled && [gx, R, bias].some((t) => t.requiresGrad);
  const s0 = state0 ?? zeros(engine, [B, S, hidden]);
  // Two halves: the state before the step and after it, swapping every step.
  const sbuf = engine.noGrad(() => concat([reshape(s0, [1, B, S, hidden]), zeros(engine, [1, B, S, hidden])], 0));
  const y = engine.empty([B, T, hidden]);
  const tape = needsGrad ? engine.empty([B, T, S + cell.gates.length, hidden]) : null;
  const hist = needsGrad ? engine.empty([H, B * T, D]) : null;
  const config: StepKernelConfig = { cell, D, saveTape: needsGrad, tiles };
  const rt = engine.noGrad(() => permute(R, [1, 3, 0, 2]));
  const kernel = stepSource('forward', config);
  for (let t = 0; t < T; t++) {
    engine.dispatch(kernel, {
      bindings: [gx, rt, bias, sbuf, y, ...(tape && hist ? [tape, hist] : [])],
      uniforms: uniformBytes({ u32: [T, H, B, t] }),
      workgroups: stepGrid(d, config.tiles),
    });
  }
  rt.release();
  // The last step wrote half T mod 2.
  const state = engine.noGrad(() => reshape(slice(sbuf, 0, T % 2, (T % 2) + 1), [B, S, hidden]));
  sbuf.release();
  if (!tape || !hist) {
    if (!state0) s0.release();
    return { y, state };
  }
  record(y, `rnn.${cell.kind}`, [gx, R, bias], (dy) => {
    const NI = cell.inputGates.length;
    const NR = cell.recurrentGates.length;
    const NB = cell.gates.length;
    const dgx = engine.empty([B, T, NI * hidden]);
    const dbiasRows = zeros(engine, [B, NB * hidden]);
    const drec = engine.empty([NR, H, B * T, D]);
    const dsbuf = engine.empty([B, S, hidden]);
    const back = stepSource('backward', { ...config, saveTape: false });
    for (let t = T - 1; t >= 0; t--) {
      engine.dispatch(back, {
        bindings: [R, s0, tape, dy, dgx, dbiasRows, drec, dsbuf],
        uniforms: uniformBytes({ u32: [T, H, B, t] }),
        workgroups: stepGrid(d, config.tiles),
      });
    }
    dsbuf.release();
    const dbias = reshape(sum(dbiasRows, 0), [NB, hidden]);
    dbiasRows.release();
    const dR = matmul(drec, hist, { transA: true });
    drec.release();
    return [dgx, dR, dbias];
  });
  return { y, state };
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
