// The running-max stabilizer of exponential gating (xLSTM's mLSTM; fla naive_recurrent_mlstm):
//   m_t = max(log f_t + m_{t−1}, ĩ_t),   m_{−1} = −∞ without a carried state,
// so that the stabilized forget and input gates f'_t = exp(log f_t + m_{t−1} − m_t) and
// i'_t = exp(ĩ_t − m_t) are ≤ 1: a scalar log decay ≤ 0 and a key scale ≤ 1 for the class-B kernels.
// One invocation per (batch, head) walks the tokens; −∞ is −1e30 (WGSL has no infinity literals).
// Differentiable: m_t is log f_t + m_{t−1} or ĩ_t, whichever is larger, so the adjoint walks backwards
// λ_t = ∂L/∂m_t + [branch f at t+1] λ_{t+1}, sending λ_t to log f_t (and on to m_{t−1}) or to ĩ_t.
// (fla detaches m instead; the read-out is invariant to m up to its 1e-6 epsilon, except through a
// carried state, whose memory is scaled by exp(m₀) — that gradient exists only here.)

import { record } from '../../autograd.js';
import { uniformBytes } from '../../engine.js';
import { linearGrid, linearMain } from '../../grid.js';
import { formatShape, type Tensor } from '../../tensor.js';

export const NO_HISTORY = -1e30;

const PARAMS = `
struct Params { B: u32, T: u32, H: u32, hasInitial: u32 }
@group(0) @binding(0) var<uniform> u: Params;`;

const FORWARD_KERNEL = `${PARAMS}
@group(0) @binding(1) var<storage, read> logf: array<f32>;
@group(0) @binding(2) var<storage, read> ig: array<f32>;
@group(0) @binding(3) var<storage, read> m0: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
${linearMain()}
  if (i >= u.B * u.H) { return; }
  let b = i / u.H;
  let h = i % u.H;
  var previous = ${NO_HISTORY};
  if (u.hasInitial != 0u) { previous = m0[i]; }
  for (var t = 0u; t < u.T; t++) {
    let r = (b * u.T + t) * u.H + h;
    previous = max(logf[r] + previous, ig[r]);
    m[r] = previous;
  }
}`;

// The forget branch is taken where log f_t + m_{t−1} ≥ ĩ_t; the forward's max picks the same branch.
const BACKWARD_KERNEL = `${PARAMS}
@group(0) @binding(1) var<storage, read> logf: array<f32>;
@group(0) @binding(2) var<storage, read> ig: array<f32>;
@group(0) @binding(3) var<storage, read> m0: array<f32>;
@group(0) @binding(4) var<storage, read> m: array<f32>;
@group(0) @binding(5) var<storage, read> dm: array<f32>;
@group(0) @binding(6) var<storage, read_write> dlogf: array<f32>;
@group(0) @binding(7) var<storage, read_write> dig: array<f32>;
@group(0) @binding(8) var<storage, read_write> dm0: array<f32>;
${linearMain()}
  if (i >= u.B * u.H) { return; }
  let b = i / u.H;
  let h = i % u.H;
  var carried = 0.0;
  for (var s = 0u; s < u.T; s++) {
    let t = u.T - 1u - s;
    let r = (b * u.T + t) * u.H + h;
    var previous = ${NO_HISTORY};
    if (t > 0u) { previous = m[r - u.H]; } else if (u.hasInitial != 0u) { previous = m0[i]; }
    let lambda = dm[r] + carried;
    let forget = logf[r] + previous >= ig[r];
    dlogf[r] = select(0.0, lambda, forget);
    dig[r] = select(lambda, 0.0, forget);
    carried = select(0.0, lambda, forget);
  }
  if (u.hasInitial != 0u) { dm0[i] = carried; }
}`;

/** m_t for logf, ig: [B, T, H] and a carried m0: [B, H] (absent = −∞); differentiable in all three. */
export function mlstmStabilizer(logf: Tensor, ig: Tensor, m0?: Tensor): Tensor {
  if (logf.shape.length !== 3 || ig.shape.join() !== logf.shape.join()) {
    throw new RangeError(
      `mlstmStabilizer: log f and ĩ must both be [B, T, H], got ${logf.describe()} and ${ig.describe()}`,
    );
  }
  const [B, T, H] = logf.shape;
  if (m0 && m0.shape.join() !== [B, H].join()) {
    throw new RangeError(`mlstmStabilizer: m0 must be ${formatShape([B, H])}, got ${m0.describe()}`);
  }
  const engine = logf.engine;
  const initial = m0 ?? engine.empty([1]);
  const uniforms = uniformBytes([B, T, H, m0 ? 1 : 0]);
  const m = engine.empty([B, T, H]);
  engine.dispatch(
    { name: 'mlstm:stabilizer', wgsl: FORWARD_KERNEL },
    { bindings: [logf, ig, initial, m], uniforms, workgroups: linearGrid(B * H) },
  );
  const inputs = m0 ? [logf, ig, m0] : [logf, ig];
  return record(m, 'mlstmStabilizer', inputs, (dm) => {
    const grads = [engine.empty(logf.shape), engine.empty(ig.shape), engine.empty(m0 ? [B, H] : [1])];
    engine.dispatch(
      { name: 'mlstm:stabilizer-backward', wgsl: BACKWARD_KERNEL },
      { bindings: [logf, ig, initial, m, dm, ...grads], uniforms, workgroups: linearGrid(B * H) },
    );
    if (!m0) grads[2].release();
    return m0 ? grads : grads.slice(0, 2);
  });
}
