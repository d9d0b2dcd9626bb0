// The three number systems the diagonal recurrence h_t = a_t ⊗ h_{t-1} ⊕ b_t is scanned in. The scan
// skeleton (chunked-scan.ts) is written once against `v_one/v_zero/v_mul/v_add/v_conj`; each family picks
// a system instead of getting its own kernel:
// - real:    (×, +) over f32 — HGRN, RG-LRU, S4D/Mamba after discretization, every backward pass;
// - complex: (×, +) over pairs of reals (re, im) — LRU's complex diagonal λ;
// - log:     (+, logaddexp) over log-values — minGRU/minLSTM, whose states are positive, so
//            log h_t = logaddexp(log a_t + log h_{t-1}, log b_t) (Heinsen's scan written as a semiring).

export type NumberSystemName = 'real' | 'complex' | 'log';

export interface NumberSystem {
  name: NumberSystemName;
  /** WGSL type of one element (one channel of a state). */
  type: 'f32' | 'vec2<f32>';
  /** Reals per element in storage: complex channels are stored as interleaved (re, im) pairs. */
  width: 1 | 2;
  /** WGSL helper functions defining the semiring. */
  wgsl: string;
}

/**
 * log(0) of the log system. A finite stand-in for −∞ (WGSL rejects infinite constants); sums of it with
 * any finite log-value stay below −1e29, and exp() of that is exactly 0 in f32.
 */
export const LOG_ZERO = -1e30;

export const REAL: NumberSystem = {
  name: 'real',
  type: 'f32',
  width: 1,
  wgsl: `
alias V = f32;
fn v_one() -> V { return 1.0; }
fn v_zero() -> V { return 0.0; }
fn v_mul(x: V, y: V) -> V { return x * y; }
fn v_add(x: V, y: V) -> V { return x + y; }
fn v_conj(x: V) -> V { return x; }`,
};

export const COMPLEX: NumberSystem = {
  name: 'complex',
  type: 'vec2<f32>',
  width: 2,
  wgsl: `
alias V = vec2<f32>;
fn v_one() -> V { return vec2<f32>(1.0, 0.0); }
fn v_zero() -> V { return vec2<f32>(0.0, 0.0); }
fn v_mul(x: V, y: V) -> V { return vec2<f32>(x.x * y.x - x.y * y.y, x.x * y.y + x.y * y.x); }
fn v_add(x: V, y: V) -> V { return x + y; }
fn v_conj(x: V) -> V { return vec2<f32>(x.x, -x.y); }`,
};

export const LOG: NumberSystem = {
  name: 'log',
  type: 'f32',
  width: 1,
  // logaddexp by max + log1p(exp(−|x − y|)): the exponent is never positive, so it cannot overflow.
  wgsl: `
alias V = f32;
fn v_one() -> V { return 0.0; }
fn v_zero() -> V { return ${LOG_ZERO.toExponential()}; }
fn v_mul(x: V, y: V) -> V { return x + y; }
fn v_add(x: V, y: V) -> V {
  let m = max(x, y);
  let e = exp(-abs(x - y));
  let w = 1.0 + e;
  // log1p(e) by Kahan's trick: accurate when 1 + e rounds to 1.
  var l = e;
  if (w != 1.0) { l = log(w) * e / (w - 1.0); }
  return m + l;
}
fn v_conj(x: V) -> V { return x; }`,
};
