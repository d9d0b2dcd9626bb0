// Short causal depthwise convolution as a sequence mixer (the "BaseConv"-style local mixer of H3,
// Based and Zoology's hybrids, and the token mixer of the tiny model): each channel sees its last K inputs.

import { zeros } from '../../ops/elementwise.js';
import { shortConv, shortConvStep } from '../blocks/short-conv.js';
import { registerMixer, resolveOptions, type MixerFactory } from '../mixer.js';

const factory: MixerFactory = {
  kind: 'shortconv',
  title: 'Short convolution',
  family: 'convolution',
  description: 'Causal depthwise convolution over the last K tokens (local mixing, state = K−1 tokens).',
  options: [
    { name: 'kernel', type: 'int', default: 4, min: 2, max: 64, help: 'Taps per channel (K).' },
    { name: 'bias', type: 'bool', default: false, help: 'Add a learned bias per channel.' },
  ],
  create(dModel, given) {
    const options = resolveOptions(factory, given);
    const K = options.kernel as number;
    const hasBias = options.bias as boolean;
    const bound = 1 / Math.sqrt(K); // PyTorch Conv1d's default uniform bound for fan-in K
    return {
      kind: 'shortconv',
      params: () => [
        { name: 'conv.weight', shape: [dModel, K], init: { kind: 'uniform', low: -bound, high: bound } },
        ...(hasBias
          ? [
              {
                name: 'conv.bias',
                shape: [dModel],
                init: { kind: 'uniform' as const, low: -bound, high: bound },
                noDecay: true,
              },
            ]
          : []),
      ],
      forward(p, x, opts = {}) {
        const out = shortConv(x, p.get('conv.weight'), hasBias ? p.get('conv.bias') : null, opts.initialState?.conv);
        return { y: out.y, state: opts.returnState ? { conv: out.state } : undefined };
      },
      step(p, x, state) {
        const out = shortConvStep(x, p.get('conv.weight'), hasBias ? p.get('conv.bias') : null, state.conv);
        return { y: out.y, state: { conv: out.state } };
      },
      initialState: (engine, batch) => ({ conv: zeros(engine, [batch, K - 1, dModel]) }),
      stateSize: () => dModel * (K - 1),
      flopsPerToken: () => 2 * dModel * K,
    };
  },
};

registerMixer(factory);
