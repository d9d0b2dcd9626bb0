// Gate nonlinearities shared by the nonlinear-RNN kernels (fused sequential and Newton), in WGSL and
// in float64 for the references. Kept in one place so every kernel saturates the same way.

/** WGSL helpers; names end in `_` like the elementwise helpers, so they never shadow builtins. */
export const ACTIVATIONS_WGSL = `
fn sigmoid_(x: f32) -> f32 {
  // exp(-x) overflows to +inf for x < -88, and 1/(1+inf) = 0: correct, never NaN.
  return 1.0 / (1.0 + exp(-x));
}
fn tanh_(x: f32) -> f32 {
  // Some backends evaluate tanh through exp and return NaN for large |x|; tanh(15) is 1 in f32.
  return tanh(clamp(x, -15.0, 15.0));
}
fn logsigmoid_(x: f32) -> f32 {
  // log σ(x) = min(x, 0) − log(1 + exp(−|x|)), stable for both signs.
  return min(x, 0.0) - log(1.0 + exp(-abs(x)));
}
// True for finite values; by bits, because WGSL lets compilers assume NaN and inf never occur.
fn finite_(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}`;

export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
export const logSigmoid = (x: number): number => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
