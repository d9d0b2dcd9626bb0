// The elementwise op table: each op's WGSL forward, its derivative, and the float64 CPU reference of
// both. WGSL expressions name the input x, the output y, the upstream gradient g and the scalar
// parameters p0, p1; helper functions ending in `_` are defined in elementwise.ts.

export interface UnaryDef {
  forward: string;
  backward: string;
  cpu: (x: number, p0: number, p1: number) => number;
  /** d y / d x, times nothing: the CPU reference of the derivative. */
  cpuGrad: (x: number, p0: number, p1: number) => number;
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** erf to ~1e-15: Taylor series near zero, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …)))) evaluated bottom-up.
  let fraction = a;
  for (let k = 60; k >= 1; k--) fraction = a + k / 2 / fraction;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / fraction;
  return Math.sign(x) * (1 - erfc);
}

const normalPdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
const normalCdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));

function powSigned(x: number, p: number): number {
  return Math.pow(x, p); // JS follows the same rules we emulate in WGSL (NaN for x<0, fractional p)
}

export const UNARY = {
  exp: { forward: 'exp(x)', backward: 'g * y', cpu: Math.exp, cpuGrad: Math.exp },
  log: { forward: 'log(x)', backward: 'g / x', cpu: Math.log, cpuGrad: (x) => 1 / x },
  sigmoid: {
    forward: 'sigmoid_(x)',
    backward: 'g * y * (1.0 - y)',
    cpu: sigmoid,
    cpuGrad: (x) => sigmoid(x) * (1 - sigmoid(x)),
  },
  tanh: { forward: 'tanh_(x)', backward: 'g * (1.0 - y * y)', cpu: Math.tanh, cpuGrad: (x) => 1 - Math.tanh(x) ** 2 },
  silu: {
    forward: 'x * sigmoid_(x)',
    backward: 'g * (sigmoid_(x) * (1.0 + x * (1.0 - sigmoid_(x))))',
    cpu: (x) => x * sigmoid(x),
    cpuGrad: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))),
  },
  // Exact (erf) GELU, as torch.nn.GELU() by default.
  gelu: {
    forward: '0.5 * x * (1.0 + erf_(x * 0.70710678118654752))',
    backward: 'g * (0.5 * (1.0 + erf_(x * 0.70710678118654752)) + x * 0.39894228040143268 * exp(-0.5 * x * x))',
    cpu: (x) => x * normalCdf(x),
    cpuGrad: (x) => normalCdf(x) + x * normalPdf(x),
  },
  // GELU's tanh approximation (GPT-2's gelu_new, torch's gelu(approximate='tanh')):
  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  gelu_tanh: {
    forward: '0.5 * x * (1.0 + tanh_(0.79788456080286536 * (x + 0.044715 * x * x * x)))',
    backward:
      'g * (0.5 * (1.0 + tanh_(0.79788456080286536 * (x + 0.044715 * x * x * x))) + 0.5 * x * (1.0 - tanh_(0.79788456080286536 * (x + 0.044715 * x * x * x)) * tanh_(0.79788456080286536 * (x + 0.044715 * x * x * x))) * 0.79788456080286536 * (1.0 + 0.134145 * x * x))',
    cpu: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    cpuGrad: (x) => {
      const t = Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * x * x);
    },
  },
  softplus: { forward: 'softplus_(x)', backward: 'g * sigmoid_(x)', cpu: softplus, cpuGrad: sigmoid },
  logsigmoid: {
    forward: '-softplus_(-x)',
    backward: 'g * sigmoid_(-x)',
    cpu: (x) => -softplus(-x),
    cpuGrad: (x) => sigmoid(-x),
  },
  relu: {
    forward: 'max(x, 0.0)',
    backward: 'select(0.0, g, x > 0.0)',
    cpu: (x) => Math.max(x, 0),
    cpuGrad: (x) => (x > 0 ? 1 : 0),
  },
  sqrt: { forward: 'sqrt(x)', backward: 'g * 0.5 / y', cpu: Math.sqrt, cpuGrad: (x) => 0.5 / Math.sqrt(x) },
  neg: { forward: '-x', backward: '-g', cpu: (x) => -x, cpuGrad: () => -1 },
  pow_scalar: {
    forward: 'powi_(x, p0)',
    backward: 'g * p0 * powi_(x, p0 - 1.0)',
    cpu: (x, p) => powSigned(x, p),
    cpuGrad: (x, p) => p * powSigned(x, p - 1),
  },
  scale: { forward: 'x * p0', backward: 'g * p0', cpu: (x, p) => x * p, cpuGrad: (_x, p) => p },
  add_scalar: { forward: 'x + p0', backward: 'g', cpu: (x, p) => x + p, cpuGrad: () => 1 },
  // Like torch.clamp: the gradient passes where min <= x <= max.
  clamp: {
    forward: 'clamp(x, p0, p1)',
    backward: 'select(0.0, g, x >= p0 && x <= p1)',
    cpu: (x, lo, hi) => Math.min(Math.max(x, lo), hi),
    cpuGrad: (x, lo, hi) => (x >= lo && x <= hi ? 1 : 0),
  },
} satisfies Record<string, UnaryDef>;

export type UnaryName = keyof typeof UNARY;

export interface BinaryDef {
  forward: string;
  gradA: string;
  gradB: string;
  cpu: (a: number, b: number) => number;
  cpuGradA: (a: number, b: number) => number;
  cpuGradB: (a: number, b: number) => number;
}

export const BINARY = {
  add: { forward: 'a + b', gradA: 'g', gradB: 'g', cpu: (a, b) => a + b, cpuGradA: () => 1, cpuGradB: () => 1 },
  sub: { forward: 'a - b', gradA: 'g', gradB: '-g', cpu: (a, b) => a - b, cpuGradA: () => 1, cpuGradB: () => -1 },
  mul: {
    forward: 'a * b',
    gradA: 'g * b',
    gradB: 'g * a',
    cpu: (a, b) => a * b,
    cpuGradA: (_a, b) => b,
    cpuGradB: (a) => a,
  },
  div: {
    forward: 'a / b',
    gradA: 'g / b',
    gradB: '-g * a / (b * b)',
    cpu: (a, b) => a / b,
    cpuGradA: (_a, b) => 1 / b,
    cpuGradB: (a, b) => -a / (b * b),
  },
  // Real-valued power; the gradient with respect to the exponent needs a > 0 (as in PyTorch).
  pow: {
    forward: 'powi_(a, b)',
    gradA: 'g * b * powi_(a, b - 1.0)',
    gradB: 'g * powi_(a, b) * log(a)',
    cpu: (a, b) => Math.pow(a, b),
    cpuGradA: (a, b) => b * Math.pow(a, b - 1),
    cpuGradB: (a, b) => Math.pow(a, b) * Math.log(a),
  },
} satisfies Record<string, BinaryDef>;

export type BinaryName = keyof typeof BINARY;
