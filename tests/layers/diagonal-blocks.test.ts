import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, toFloat32, uniform } from '../../gpu/cpu/tensor.js';
import { rmsNormGatedRef, shortConvRef, tokenShiftRef } from '../../gpu/nn/blocks/blocks.ref.js';
import { rmsNormGated } from '../../gpu/nn/blocks/gated-rms-norm.js';
import { shortConv, shortConvStep } from '../../gpu/nn/blocks/short-conv.js';
import { tokenShift } from '../../gpu/nn/blocks/token-shift.js';
import { add, mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { slice } from '../../gpu/ops/shape.js';
import { download, expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';
import { backwardWith, centralDifferences, stack, tokens } from './diagonal-helpers.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

describe('gated RMSNorm', () => {
  it('GPU forward and gradients of x, gate and weight equal the float64 reference', async () => {
    const e = await engine();
    const s = freshSeed();
    const x = toFloat32(randn([2, 5, 12], s));
    const gate = toFloat32(randn([2, 5, 12], s + 1));
    const w = toFloat32(uniform([12], s + 2, 0.5, 1.5));
    const g = toFloat32(randn([2, 5, 12], s + 3));
    const [xt, gt, wt] = [upload(e, x, true), upload(e, gate, true), upload(e, w, true)];
    const y = rmsNormGated(xt, gt, wt);
    await expectGpuClose(y, rmsNormGatedRef(x, gate, w), 1e-4, 'y');
    backwardWith(e, y, g);
    const [dx, dgate, dw] = centralDifferences(([a, b, c]) => rmsNormGatedRef(a, b, c), [x, gate, w], g);
    await expectGpuClose(xt.grad!, dx, 1e-4, 'dx');
    await expectGpuClose(gt.grad!, dgate, 1e-4, 'dgate');
    await expectGpuClose(wt.grad!, dw, 1e-4, 'dweight');
  });
  it('a gate of another shape is an error naming the op and both shapes', async () => {
    const e = await engine();
    expect(() => rmsNormGated(e.empty([2, 3]), e.empty([2, 4]), e.empty([3]))).toThrow(
      /rmsNormGated: gate \[2,4\] must match x \[2,3\]/,
    );
  });
});

describe('token shift', () => {
  it('GPU forward and gradients (x, carried state, new state) equal the float64 reference', async () => {
    const e = await engine();
    const s = freshSeed();
    const x = toFloat32(randn([2, 7, 3], s));
    const state = toFloat32(randn([2, 3], s + 1));
    const gy = toFloat32(randn([2, 7, 3], s + 2));
    const gs = toFloat32(randn([2, 3], s + 3));
    const [xt, st] = [upload(e, x, true), upload(e, state, true)];
    const out = tokenShift(xt, st);
    const ref = tokenShiftRef(x, state);
    await expectGpuClose(out.y, ref.y, 1e-6, 'y');
    await expectGpuClose(out.state, ref.state, 1e-6, 'state');
    backward(add(sumAll(mul(out.y, upload(e, gy))), sumAll(mul(out.state, upload(e, gs)))));
    const combined = (inputs: (typeof x)[]) => {
      const r = tokenShiftRef(inputs[0], inputs[1]);
      return {
        shape: [r.y.data.length + r.state.data.length],
        data: Float64Array.from([...r.y.data, ...r.state.data]),
      };
    };
    const upstream = { shape: [gy.data.length + gs.data.length], data: Float64Array.from([...gy.data, ...gs.data]) };
    const [dx, dstate] = centralDifferences(combined, [x, state], upstream);
    await expectGpuClose(xt.grad!, dx, 1e-5, 'dx');
    await expectGpuClose(st.grad!, dstate, 1e-5, 'dstate');
  });
  it('two segments with the state carried equal one pass', async () => {
    const e = await engine();
    const x = toFloat32(randn([1, 9, 4], freshSeed()));
    const whole = await download(tokenShift(upload(e, x)).y);
    const xt = upload(e, x);
    const first = tokenShift(slice(xt, 1, 0, 4));
    const second = tokenShift(slice(xt, 1, 4, 9), first.state);
    const parts = [...(await download(first.y)).data, ...(await download(second.y)).data];
    expect(relativeError(parts, whole.data)).toBe(0);
  });
});

describe('short causal convolution with carried state', () => {
  it('GPU forward and gradients (x, weight, bias, state) equal the float64 reference at T=6, K=4', async () => {
    const e = await engine();
    const s = freshSeed();
    const x = toFloat32(randn([2, 6, 5], s));
    const w = toFloat32(randn([5, 4], s + 1, 0.5));
    const bias = toFloat32(randn([5], s + 2));
    const state = toFloat32(randn([2, 3, 5], s + 3));
    const g = toFloat32(randn([2, 6, 5], s + 4));
    const ts = [x, w, bias, state].map((t) => upload(e, t, true));
    const out = shortConv(ts[0], ts[1], ts[2], ts[3]);
    const ref = shortConvRef(x, w, bias, state);
    await expectGpuClose(out.y, ref.y, 1e-5, 'y');
    await expectGpuClose(out.state, ref.state, 1e-6, 'state');
    backwardWith(e, out.y, g);
    const grads = centralDifferences(([a, b, c, d]) => shortConvRef(a, b, c, d).y, [x, w, bias, state], g);
    for (let k = 0; k < 4; k++) await expectGpuClose(ts[k].grad!, grads[k], 1e-4, ['dx', 'dw', 'dbias', 'dstate'][k]);
  });
  it('step-by-step with the carried state equals the parallel form (T=7 > K and T=2 < K−1)', async () => {
    const e = await engine();
    for (const T of [7, 2]) {
      const s = freshSeed();
      const x = toFloat32(randn([2, T, 3], s));
      const w = upload(e, toFloat32(randn([3, 4], s + 1)));
      const bias = upload(e, toFloat32(randn([3], s + 2)));
      const state0 = toFloat32(randn([2, 3, 3], s + 3));
      const parallel = shortConv(upload(e, x), w, bias, upload(e, state0));
      let state = upload(e, state0);
      const ys = [];
      for (const token of tokens(x)) {
        const out = shortConvStep(upload(e, token), w, bias, state);
        ys.push(await download(out.y));
        state = out.state;
      }
      expect(relativeError(stack(ys).data, (await download(parallel.y)).data)).toBeLessThan(1e-6);
      expect(relativeError((await download(state)).data, (await download(parallel.state)).data)).toBe(0);
    }
  });
});
