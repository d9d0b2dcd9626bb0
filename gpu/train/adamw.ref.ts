// float64 reference of one clipped AdamW step (PyTorch's torch.optim.AdamW semantics with
// torch.nn.utils.clip_grad_norm_ applied first).

export interface AdamWRefState {
  m: Float64Array[];
  v: Float64Array[];
  step: number;
}

export function adamwStepRef(
  params: Float64Array[],
  grads: Float64Array[],
  state: AdamWRefState,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number[]; clipNorm: number },
): { norm: number } {
  let sumSquares = 0;
  for (const g of grads) for (const x of g) sumSquares += x * x;
  const norm = Math.sqrt(sumSquares);
  const factor = o.clipNorm > 0 && norm > o.clipNorm ? o.clipNorm / (norm + 1e-6) : 1;
  state.step++;
  const c1 = 1 - o.beta1 ** state.step;
  const c2 = 1 - o.beta2 ** state.step;
  params.forEach((p, k) => {
    for (let i = 0; i < p.length; i++) {
      const g = grads[k][i] * factor;
      state.m[k][i] = o.beta1 * state.m[k][i] + (1 - o.beta1) * g;
      state.v[k][i] = o.beta2 * state.v[k][i] + (1 - o.beta2) * g * g;
      const update = state.m[k][i] / c1 / (Math.sqrt(state.v[k][i] / c2) + o.eps);
      p[i] -= o.lr * (update + o.weightDecay[k] * p[i]);
    }
  });
  return { norm };
}
