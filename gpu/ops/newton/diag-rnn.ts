// The diagonal (ParaRNN) recurrence as an autograd op with two modes that share every parameter:
//   'sequential' — one invocation per (batch row, unit) walks the sequence (exact; depth T);
//   'newton'     — Newton iterations, each a parallel chunked scan (depth ~ iterations · 3√T).
// Backward: BPTT in sequential mode; in Newton mode the adjoint recurrence solved by the same scan.
//
//   pre    [B, T, NI·d]   input pre-activations B x + b (from `linear`, computed outside)
//   params [NP, d]        the cell's per-unit parameters (diagonal recurrent weights, peepholes)
//   s0     [B, S, d]      initial state (zero when omitted), treated as a constant
// returns y [B, T, d], the final state [B, S, d] (no gradient) and, in Newton mode, the report.

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import { linearGrid } from '../../grid.js';
import { formatShape, type Tensor } from '../../tensor.js';
import { zeros } from '../elementwise.js';
import { sum } from '../reduce.js';
import { reshape } from '../shape.js';
import { defaultChunk } from './block-scan.js';
import type { DiagCell } from './diag-cells.js';
import { sequentialBackwardKernel, sequentialForwardKernel } from './diag-kernels.js';
import { newtonAdjoint, newtonSolve, type NewtonReport } from './newton.js';

export type DiagRnnMode = 'sequential' | 'newton';

export interface DiagRnnOptions {
  mode?: DiagRnnMode;
  /** Newton: most iterations (default 8) and the residual tolerance that stops them (default 1e-5). */
  iterations?: number;
  tolerance?: number;
  /** Newton: time-chunk length of the scan (default ≈ √T). */
  chunk?: number;
}

export interface DiagRnnResult {
  y: Tensor;
  state: Tensor;
  /** Newton mode only: the residual after each iteration, available after the next flush. */
  report: NewtonReport | null;
}

export const NEWTON_DEFAULTS = { iterations: 8, tolerance: 1e-5 };

function checkInputs(cell: DiagCell, pre: Tensor, params: Tensor, s0?: Tensor | null) {
  const op = `rnn.${cell.kind}`;
  const NP = cell.params.length;
  if (params.shape.length !== 2 || params.shape[0] !== NP) {
    throw new RangeError(
      `${op}: parameters must be [${NP}, hidden] (${cell.params.join(', ')}), got ${params.describe()}`,
    );
  }
  const d = params.shape[1];
  const NI = cell.pre.length;
  if (pre.shape.length !== 3 || pre.shape[2] !== NI * d) {
    throw new RangeError(`${op}: pre-activations must be [B, T, ${NI}·${d}], got ${pre.describe()}`);
  }
  const [B, T] = pre.shape;
  if (T < 1) throw new RangeError(`${op}: the sequence is empty (${pre.describe()})`);
  const S = cell.states.length;
  if (s0 && s0.shape.join() !== [B, S, d].join()) {
    throw new RangeError(`${op}: initial state must be ${formatShape([B, S, d])}, got ${s0.describe()}`);
  }
  return { B, T, d, S, NP };
}

export function diagRnn(
  cell: DiagCell,
  pre: Tensor,
  params: Tensor,
  s0?: Tensor | null,
  options: DiagRnnOptions = {},
): DiagRnnResult {
  const { B, T, d, S, NP } = checkInputs(cell, pre, params, s0);
  const engine = pre.engine;
  const mode = options.mode ?? 'sequential';
  const iterations = options.iterations ?? NEWTON_DEFAULTS.iterations;
  const tolerance = options.tolerance ?? NEWTON_DEFAULTS.tolerance;
  const chunk = options.chunk ?? defaultChunk(T);
  if (mode !== 'sequential' && mode !== 'newton') throw new RangeError(`rnn.${cell.kind}: unknown mode "${mode}"`);
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new RangeError(`rnn.${cell.kind}: Newton iterations must be a non-negative integer, got ${iterations}`);
  if (!(tolerance >= 0)) throw new RangeError(`rnn.${cell.kind}: Newton tolerance must be ≥ 0, got ${tolerance}`);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new RangeError(`rnn.${cell.kind}: scan chunk must be a positive integer, got ${chunk}`);
  const needsGrad = engine.isGradEnabled && (pre.requiresGrad || params.requiresGrad);
  const initial = s0 ?? zeros(engine, [B, S, d]);
  const uniforms = uniformBytes({ u32: [B, T, d, chunk, Math.ceil(T / chunk), 0], f32: [tolerance] });

  let y: Tensor;
  let state: Tensor;
  let states: Tensor | null = null;
  let report: NewtonReport | null = null;
  if (mode === 'newton') {
    ({ y, state, states, report } = newtonSolve(engine, cell, pre, params, initial, { iterations, tolerance, chunk }));
  } else {
    y = engine.empty([B, T, d]);
    state = engine.empty([B, S, d]);
    states = needsGrad ? engine.empty([B, T, S, d]) : null;
    engine.dispatch(
      { name: `rnn.${cell.kind}.sequential`, wgsl: sequentialForwardKernel(cell, needsGrad) },
      {
        bindings: [pre, params, initial, y, state, ...(states ? [states] : [])],
        uniforms,
        workgroups: linearGrid(B * d, 64),
      },
    );
  }
  if (!needsGrad) {
    states?.release();
    return { y, state, report };
  }
  const saved = states!;
  record(y, `rnn.${cell.kind}.${mode}`, [pre, params], (dy) => {
    if (mode === 'newton') {
      const { dpre, dparams } = newtonAdjoint(engine, cell, pre, params, initial, saved, dy, chunk);
      return [dpre, dparams];
    }
    const dpre = engine.empty(pre.shape);
    const dpRows = engine.empty([B, NP * d]);
    engine.dispatch(
      { name: `rnn.${cell.kind}.sequential_backward`, wgsl: sequentialBackwardKernel(cell) },
      { bindings: [pre, params, initial, saved, dy, dpre, dpRows], uniforms, workgroups: linearGrid(B * d, 64) },
    );
    const dparams = reshape(sum(dpRows, 0), [NP, d]);
    dpRows.release();
    return [dpre, dparams];
  });
  return { y, state, report };
}

/** One token with carried state (sequential kernel, T = 1): prt [B, NI·d], state [B, S, d]. */
export function diagRnnStep(cell: DiagCell, prt: Tensor, params: Tensor, state: Tensor): { y: Tensor; state: Tensor } {
  if (prt.shape.length !== 2)
    throw new RangeError(`rnn.${cell.kind} step: pre-activations must be [B, features], got ${prt.describe()}`);
  const [B, features] = prt.shape;
  const out = diagRnn(cell, reshape(prt, [B, 1, features]), params, state, { mode: 'sequential' });
  return { y: reshape(out.y, [B, out.y.shape[2]]), state: out.state };
}
