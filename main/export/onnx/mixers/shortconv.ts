// Short convolution in ONNX: the parallel form is a depthwise Conv (group = channels) over the input
// padded with K−1 zeros in front; the step form multiplies the last K inputs by the taps.

import type { OnnxGraph } from '../builder.js';
import { num, shortConvStep, type OnnxMixerFactory } from '../common.js';

export const shortconv: OnnxMixerFactory = (config, w) => {
  const d = num(config, 'd_model');
  const K = num(config, 'kernel');
  const bias = () => (config.bias ? w('conv.bias') : undefined);
  return {
    states: [{ name: 'conv', dims: [K - 1, d] }],
    parallel(g: OnnxGraph, x: string) {
      const channels = g.transpose(x, [0, 2, 1]); // [B, C, T]
      const padded = g.one('Pad', [channels, g.ints([0, 0, K - 1, 0, 0, 0])]);
      const kernel = g.reshape(w('conv.weight'), [d, 1, K]);
      const b = bias();
      const y = g.one('Conv', b ? [padded, kernel, b] : [padded, kernel], { group: d, kernel_shape: [K] });
      // The state is the last K−1 inputs (zeros in front when T < K−1).
      const last = g.slice(padded, 2, -(K - 1), 2 ** 62);
      return { y: g.transpose(y, [0, 2, 1]), state: { conv: g.transpose(last, [0, 2, 1]) } };
    },
    step(g, x, state) {
      const out = shortConvStep(g, x, state.conv, w('conv.weight'), K, bias());
      return { y: out.y, state: { conv: out.state } };
    },
  };
};
