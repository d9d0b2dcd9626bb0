import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { causalConv1d } from '../../gpu/ops/conv1d.js';
import { causalConv1dGradRef, causalConv1dRef } from '../../gpu/ops/conv1d.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

describe('causalConv1d (depthwise, left zero padding)', () => {
  it('reference gradients (x, weight, bias) equal finite differences', () => {
    const seed = freshSeed();
    const x = randn([2, 5, 3], seed);
    const w = randn([3, 4], seed + 1);
    const b = randn([3], seed + 2);
    const g = randn([2, 5, 3], seed + 3);
    checkGradients(([p, q, r]) => causalConv1dRef(p, q, r), [x, w, b], g, causalConv1dGradRef(x, w, g));
  });

  it('matches PyTorch Conv1d(groups=C, padding=K−1) truncated to T on a hand-computed case', () => {
    // x[0,:,0] = 1,2,3; weight[0] = [10, 1] (K = 2): y_t = 10·x_{t−1} + x_t.
    const y = causalConv1dRef(cpuTensor([1, 3, 1], [1, 2, 3]), cpuTensor([1, 2], [10, 1]), cpuTensor([1], [0.5]));
    expect(Array.from(y.data)).toEqual([1.5, 12.5, 23.5]);
  });

  const cases: [number, number, number, number][] = [
    [2, 7, 3, 4],
    [1, 5, 2, 1],
    [3, 2, 5, 4],
    [2, 70, 3, 3],
    [1, 3, 300, 2],
  ];
  for (const [batch, time, channels, taps] of cases) {
    for (const withBias of [true, false]) {
      it(`B=${batch} T=${time} C=${channels} K=${taps} ${withBias ? 'with' : 'without'} bias: GPU forward and gradients equal the reference`, async () => {
        const e = await engine();
        const seed = freshSeed();
        const x = toFloat32(randn([batch, time, channels], seed));
        const w = toFloat32(randn([channels, taps], seed + 1));
        const b = toFloat32(randn([channels], seed + 2));
        const g = toFloat32(randn([batch, time, channels], seed + 3));
        const xt = upload(e, x, true);
        const wt = upload(e, w, true);
        const bt = withBias ? upload(e, b, true) : null;
        const y = causalConv1d(xt, wt, bt);
        await expectGpuClose(y, causalConv1dRef(x, w, withBias ? b : null), 1e-4, 'forward');
        backward(y, upload(e, g));
        const [dx, dw, db] = causalConv1dGradRef(x, w, g);
        await expectGpuClose(xt.grad!, dx, 1e-4, 'grad x');
        await expectGpuClose(wt.grad!, dw, 1e-4, 'grad weight');
        if (bt) await expectGpuClose(bt.grad!, db, 1e-4, 'grad bias');
      });
    }
  }
});
