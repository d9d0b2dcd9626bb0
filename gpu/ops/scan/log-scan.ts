// The log-space scan of minGRU/minLSTM ("Were RNNs All We Needed?", appendix B): for positive states,
//   log h_t = logaddexp(log a_t + log h_{t-1}, log b_t).
// The reference (Heinsen) evaluates it as a* + logcumsumexp(log b − a*) with a* = cumsum(log a); that
// is the same associative scan, but −a* grows without bound over long sequences and costs precision in
// f32. Scanning the (+, logaddexp) semiring chunk by chunk never forms a cumulative sum over T.
//
// Backward: with L_t = log h_t and w_t = ∂L_t/∂L_{t-1} = exp(log a_t + L_{t-1} − L_t) ∈ (0, 1],
//   G_t = dL_t + w_{t+1} G_{t+1},  d(log a_t) = G_t w_t,  d(log b_t) = G_t exp(log b_t − L_t),  dL0 = G_0 w_0,
// a real linear scan in reverse time whose coefficients are never exponentials of positive numbers.

import { record } from '../../autograd.js';
import type { Tensor } from '../../tensor.js';
import { dispatchScan, type ScanProgram } from './chunked-scan.js';
import { lastShape, recordLast, scanDims, type ScanResult } from './linear-scan.js';
import { LOG, LOG_ZERO, REAL } from './number-systems.js';

/**
 * log h_t = logaddexp(logA_t + log h_{t-1}, logB_t) over [B, T, D]; logH0: [B, D] (h0 = 0 when omitted).
 * Returns log-states (`h` holds log h_t, `last` log h_T).
 */
export function logLinearScan(logA: Tensor, logB: Tensor, logH0?: Tensor): ScanResult {
  const op = 'logLinearScan';
  const dims = scanDims(LOG, op, { logA, logB }, logH0);
  const engine = logA.engine;
  const logH = engine.empty(logA.shape);
  const last = engine.empty(logH0?.shape ?? lastShape(logA.shape));
  const hasInit = !!logH0;
  const forward: ScanProgram = {
    name: 'scan:log',
    system: LOG,
    buffers: [
      { name: 'la', access: 'read', elem: 'V' },
      { name: 'lb', access: 'read', elem: 'V' },
      ...(hasInit ? [{ name: 'l0', access: 'read' as const, elem: 'V' as const }] : []),
      { name: 'L', access: 'read_write', elem: 'V' },
      { name: 'last', access: 'read_write', elem: 'V' },
    ],
    reverse: false,
    init: hasInit ? 'l0[bi * u.D + c]' : 'v_zero()',
    load: 'coef = la[at(bi, t, c)]; inp = lb[at(bi, t, c)];',
    store: 'L[at(bi, t, c)] = state;',
    final: 'last[bi * u.D + c] = state;',
  };
  dispatchScan(engine, forward, dims, [logA, logB, ...(logH0 ? [logH0] : []), logH, last]);
  record(logH, op, logH0 ? [logA, logB, logH0] : [logA, logB], (g) => {
    const grads = logLinearScanBackward(logA, logB, logH, g, logH0);
    return logH0 ? [grads.dLogA, grads.dLogB, grads.dLogH0!] : [grads.dLogA, grads.dLogB];
  });
  recordLast(last, logH, op);
  return { h: logH, last };
}

/** Gradients of the log-space scan given dL/d(log h_t) for every t (no autograd recording). */
export function logLinearScanBackward(
  logA: Tensor,
  logB: Tensor,
  logH: Tensor,
  dLogH: Tensor,
  logH0?: Tensor,
): { dLogA: Tensor; dLogB: Tensor; dLogH0?: Tensor } {
  const engine = logA.engine;
  const dims = scanDims(LOG, 'scan:log.backward', { logA, logB, logH, dLogH }, logH0);
  const hasInit = !!logH0;
  // Without h0, log h0 = −∞ and w_0 = 0.
  const previous = hasInit ? 'l0[bi * u.D + c]' : LOG_ZERO.toExponential();
  const backward: ScanProgram = {
    name: 'scan:log.backward',
    system: REAL,
    buffers: [
      { name: 'la', access: 'read', elem: 'f32' },
      { name: 'lb', access: 'read', elem: 'f32' },
      { name: 'L', access: 'read', elem: 'f32' },
      ...(hasInit ? [{ name: 'l0', access: 'read' as const, elem: 'f32' as const }] : []),
      { name: 'dL', access: 'read', elem: 'f32' },
      { name: 'dla', access: 'read_write', elem: 'f32' },
      { name: 'dlb', access: 'read_write', elem: 'f32' },
      ...(hasInit ? [{ name: 'dl0', access: 'read_write' as const, elem: 'f32' as const }] : []),
    ],
    reverse: true,
    init: 'v_zero()',
    load: `inp = dL[at(bi, t, c)];
        if (t + 1u < u.T) { coef = exp(la[at(bi, t + 1u, c)] + L[at(bi, t, c)] - L[at(bi, t + 1u, c)]); }`,
    store: `var previous = ${previous};
        if (t > 0u) { previous = L[at(bi, t - 1u, c)]; }
        let here = L[at(bi, t, c)];
        dla[at(bi, t, c)] = state * exp(la[at(bi, t, c)] + previous - here);
        dlb[at(bi, t, c)] = state * exp(lb[at(bi, t, c)] - here);`,
    final: hasInit ? 'dl0[bi * u.D + c] = state * exp(la[at(bi, 0u, c)] + l0[bi * u.D + c] - L[at(bi, 0u, c)]);' : '',
  };
  const dLogA = engine.empty(logA.shape);
  const dLogB = engine.empty(logA.shape);
  const dLogH0 = logH0 ? engine.empty(logH0.shape) : undefined;
  dispatchScan(engine, backward, dims, [
    logA,
    logB,
    logH,
    ...(logH0 ? [logH0] : []),
    dLogH,
    dLogA,
    dLogB,
    ...(dLogH0 ? [dLogH0] : []),
  ]);
  return { dLogA, dLogB, dLogH0 };
}
