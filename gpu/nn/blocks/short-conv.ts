// The short causal depthwise convolution of Mamba, Hawk and fla's ShortConvolution, with the carried
// state its step form needs: the K−1 inputs before the current segment ([B, K−1, C], oldest first).
// Composed from causalConv1d, concat and slice, so its gradient is theirs (no new kernel).

import { causalConv1d } from '../../ops/conv1d.js';
import { zeros } from '../../ops/elementwise.js';
import { concat, reshape, slice } from '../../ops/shape.js';
import { formatShape, type Tensor } from '../../tensor.js';

function checkState(op: string, x: Tensor, weight: Tensor, state: Tensor | undefined): void {
  const [B, , C] = x.shape;
  const K = weight.shape[1];
  if (state && state.shape.join() !== [B, K - 1, C].join()) {
    throw new RangeError(`${op}: conv state must have shape [${B},${K - 1},${C}], got ${formatShape(state.shape)}`);
  }
}

/**
 * y[b,t,c] = bias[c] + Σ_j weight[c,j] x[b, t−K+1+j, c] over x: [B, T, C], with the inputs before t = 0
 * taken from `state` (zeros without one). Returns the last K−1 inputs as the new state.
 */
export function shortConv(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  state?: Tensor,
): { y: Tensor; state: Tensor } {
  checkState('shortConv', x, weight, state);
  const [B, T, C] = x.shape;
  const K = weight.shape[1];
  const y = state
    ? slice(causalConv1d(concat([state, x], 1), weight, bias), 1, K - 1, K - 1 + T)
    : causalConv1d(x, weight, bias);
  const history = state ?? zeros(x.engine, [B, K - 1, C]);
  const next = T >= K - 1 ? slice(x, 1, T - K + 1, T) : slice(concat([history, x], 1), 1, T, T + K - 1);
  return { y, state: next };
}

/** One token x: [B, C] with the carried state [B, K−1, C] → y: [B, C] and the next state. */
export function shortConvStep(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  state: Tensor,
): { y: Tensor; state: Tensor } {
  const [B, C] = x.shape;
  const token = reshape(x, [B, 1, C]);
  const { y, state: next } = shortConv(token, weight, bias, state);
  return { y: reshape(y, [B, C]), state: next };
}
