import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, toFloat32, uniform } from '../../gpu/cpu/tensor.js';
import { layerNorm, rmsNorm } from '../../gpu/ops/norm.js';
import { layerNormGradRef, layerNormRef, rmsNormGradRef, rmsNormRef } from '../../gpu/ops/norm.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

describe('rmsNorm and layerNorm over the last axis', () => {
  it('rmsNorm: reference gradients (x, weight) equal finite differences', () => {
    const seed = freshSeed();
    const x = randn([3, 6], seed);
    const w = uniform([6], seed + 1, 0.5, 1.5);
    const g = randn([3, 6], seed + 2);
    checkGradients(([a, b]) => rmsNormRef(a, b, 1e-6), [x, w], g, rmsNormGradRef(x, w, g, 1e-6));
  });

  it('layerNorm: reference gradients (x, weight, bias) equal finite differences', () => {
    const seed = freshSeed();
    const x = randn([3, 6], seed);
    const w = uniform([6], seed + 1, 0.5, 1.5);
    const b = randn([6], seed + 2);
    const g = randn([3, 6], seed + 3);
    const [dx, dw, db] = layerNormGradRef(x, w, g, 1e-5);
    checkGradients(([a, p, q]) => layerNormRef(a, p, q, 1e-5), [x, w, b], g, [dx, dw, db]);
  });

  for (const shape of [
    [4, 37],
    [2, 3, 300],
    [5, 3],
    [1, 2, 64],
    [600, 8],
  ]) {
    it(`rmsNorm [${shape}]: GPU forward and gradients of x and weight equal the reference`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const width = shape[shape.length - 1];
      const x = toFloat32(randn(shape, seed, 2));
      const w = toFloat32(uniform([width], seed + 1, 0.5, 1.5));
      const g = toFloat32(randn(shape, seed + 2));
      const xt = upload(e, x, true);
      const wt = upload(e, w, true);
      const y = rmsNorm(xt, wt);
      await expectGpuClose(y, rmsNormRef(x, w), 1e-4, 'rmsNorm forward');
      backward(y, upload(e, g));
      const [dx, dw] = rmsNormGradRef(x, w, g);
      await expectGpuClose(xt.grad!, dx, 1e-4, 'rmsNorm grad x');
      await expectGpuClose(wt.grad!, dw, 1e-4, 'rmsNorm grad weight');
    });

    it(`layerNorm [${shape}]: GPU forward and gradients of x, weight and bias equal the reference`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const width = shape[shape.length - 1];
      // An offset mean checks that the variance is computed around the mean (two passes).
      const x = toFloat32({ ...randn(shape, seed, 2), data: randn(shape, seed, 2).data.map((v) => v + 30) });
      const w = toFloat32(uniform([width], seed + 1, 0.5, 1.5));
      const b = toFloat32(randn([width], seed + 2));
      const g = toFloat32(randn(shape, seed + 3));
      const xt = upload(e, x, true);
      const wt = upload(e, w, true);
      const bt = upload(e, b, true);
      const y = layerNorm(xt, wt, bt);
      await expectGpuClose(y, layerNormRef(x, w, b), 1e-4, 'layerNorm forward');
      backward(y, upload(e, g));
      const [dx, dw, db] = layerNormGradRef(x, w, g);
      await expectGpuClose(xt.grad!, dx, 1e-4, 'layerNorm grad x');
      await expectGpuClose(wt.grad!, dw, 1e-4, 'layerNorm grad weight');
      await expectGpuClose(bt.grad!, db, 1e-4, 'layerNorm grad bias');
    });
  }

  it('width-1 rows: layerNorm gives the bias and a zero x gradient; rmsNorm gives sign(x)·weight', async () => {
    const e = await engine();
    const seed = freshSeed();
    const x = toFloat32(randn([5, 1], seed, 2));
    const w = toFloat32(uniform([1], seed + 1, 0.5, 1.5));
    const b = toFloat32(randn([1], seed + 2));
    const g = toFloat32(randn([5, 1], seed + 3));
    const xt = upload(e, x, true);
    const y = layerNorm(xt, upload(e, w), upload(e, b));
    await expectGpuClose(y, layerNormRef(x, w, b), 1e-6, 'layerNorm width 1 forward');
    backward(y, upload(e, g));
    expect(Array.from(await xt.grad!.read())).toEqual([0, 0, 0, 0, 0]);
    // RMSNorm's x gradient at width 1 is rstd·g·w·(1 − x̂²) with x̂² ≈ 1: f32 cancellation leaves an
    // error of about 1e-7·rstd·|g·w| whatever the kernel, so compare on that absolute scale.
    const xr = upload(e, x, true);
    const yr = rmsNorm(xr, upload(e, w));
    await expectGpuClose(yr, rmsNormRef(x, w), 1e-5, 'rmsNorm width 1 forward');
    backward(yr, upload(e, g));
    const [dx] = rmsNormGradRef(x, w, g);
    const got = await xr.grad!.read();
    for (let i = 0; i < 5; i++) {
      const scale = Math.abs(g.data[i] * w.data[0]) / Math.abs(x.data[i]);
      expect(Math.abs(got[i] - dx.data[i])).toBeLessThanOrEqual(1e-5 * scale);
    }
  });

  it('weight gradients are bitwise identical across runs (deterministic reduction)', async () => {
    const e = await engine();
    const seed = freshSeed();
    const x = toFloat32(randn([700, 5], seed));
    const w = toFloat32(uniform([5], seed + 1, 0.5, 1.5));
    const grads: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const wt = upload(e, w, true);
      backward(rmsNorm(upload(e, x), wt), upload(e, toFloat32(randn([700, 5], seed + 2))));
      grads.push(Array.from(await wt.grad!.read()));
    }
    expect(grads[1]).toEqual(grads[0]);
  });
});
