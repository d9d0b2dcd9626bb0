import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, mapCpu, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { add, mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { SCAN_CHUNK } from '../../gpu/ops/scan/chunked-scan.js';
import { complexLinearScan, linearScan } from '../../gpu/ops/scan/linear-scan.js';
import { logLinearScan } from '../../gpu/ops/scan/log-scan.js';
import {
  complexLinearScanBackwardRef,
  complexLinearScanRef,
  linearScanBackwardRef,
  linearScanRef,
  logLinearScanBackwardRef,
  logLinearScanRef,
} from '../../gpu/ops/scan/scan.ref.js';
import { complexLinearStep, linearStep, logLinearStep } from '../../gpu/ops/scan/step.js';
import type { Tensor } from '../../gpu/tensor.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { download, expectGpuClose, relativeError, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

/** Upstream gradient of every state plus one of the final state, folded the way the references expect. */
function foldLast(dh: CpuTensor, dLast: CpuTensor): CpuTensor {
  const [, T] = dh.shape;
  const inner = dh.data.length / dh.shape[0] / T;
  const out = cpuTensor(dh.shape, dh.data);
  for (let b = 0; b < dh.shape[0]; b++) {
    for (let k = 0; k < inner; k++) out.data[(b * T + T - 1) * inner + k] += dLast.data[b * inner + k];
  }
  return out;
}

/** L = Σ h·gh + Σ last·gl on the GPU, so the gradient reaches the scan through both outputs. */
function lossOf(e: { h: Tensor; last: Tensor }, gh: Tensor, gl: Tensor): Tensor {
  return add(sumAll(mul(e.h, gh)), sumAll(mul(e.last, gl)));
}

describe('float64 references equal finite differences', () => {
  it('real scan: gradients of a, b and h0', () => {
    const s = freshSeed();
    const a = uniform([2, 7, 3], s, -0.95, 0.95);
    const b = randn([2, 7, 3], s + 1);
    const h0 = randn([2, 3], s + 2);
    const g = randn([2, 7, 3], s + 3);
    const { da, db, dh0 } = linearScanBackwardRef(a, linearScanRef(a, b, h0).h, g, h0);
    checkGradients(([x, y, z]) => linearScanRef(x, y, z).h, [a, b, h0], g, [da, db, dh0]);
  });
  it('complex scan: gradients of the real and imaginary parts of a, b and h0', () => {
    const s = freshSeed();
    const a = uniform([2, 6, 3, 2], s, -0.7, 0.7);
    const b = randn([2, 6, 3, 2], s + 1);
    const h0 = randn([2, 3, 2], s + 2);
    const g = randn([2, 6, 3, 2], s + 3);
    const { da, db, dh0 } = complexLinearScanBackwardRef(a, complexLinearScanRef(a, b, h0).h, g, h0);
    checkGradients(([x, y, z]) => complexLinearScanRef(x, y, z).h, [a, b, h0], g, [da, db, dh0]);
  });
  it('log-space scan: gradients of log a, log b and log h0', () => {
    const s = freshSeed();
    const la = uniform([2, 7, 3], s, -3, 0);
    const lb = randn([2, 7, 3], s + 1);
    const l0 = randn([2, 3], s + 2);
    const g = randn([2, 7, 3], s + 3);
    const { dLogA, dLogB, dLogH0 } = logLinearScanBackwardRef(la, lb, logLinearScanRef(la, lb, l0).h, g, l0);
    checkGradients(([x, y, z]) => logLinearScanRef(x, y, z).h, [la, lb, l0], g, [dLogA, dLogB, dLogH0]);
  });
  it('log-space scan equals the log of the real scan for positive inputs', () => {
    const s = freshSeed();
    const a = uniform([1, 9, 2], s, 0.1, 0.99);
    const b = uniform([1, 9, 2], s + 1, 0.1, 2);
    const h0 = uniform([1, 2], s + 2, 0.1, 2);
    const real = linearScanRef(a, b, h0).h;
    const viaLog = logLinearScanRef(mapCpu(a, Math.log), mapCpu(b, Math.log), mapCpu(h0, Math.log)).h;
    expect(relativeError(mapCpu(viaLog, Math.exp).data, real.data)).toBeLessThan(1e-12);
  });
});

describe('GPU chunked scans equal the float64 reference, forward and backward', () => {
  // 35 channels span two channel tiles; lengths are not multiples of the chunk.
  const lengths = [SCAN_CHUNK + 5, 3 * SCAN_CHUNK - 7];
  for (const T of lengths) {
    for (const withInit of [false, true]) {
      it(`real scan (negative and positive a) at T=${T}${withInit ? ' with h0' : ''}`, async () => {
        const e = await engine();
        const s = freshSeed();
        const shape = [2, T, 35];
        const a = toFloat32(uniform(shape, s, -0.99, 0.99));
        const b = toFloat32(randn(shape, s + 1));
        const h0 = withInit ? toFloat32(randn([2, 35], s + 2)) : undefined;
        const gh = toFloat32(randn(shape, s + 3));
        const gl = toFloat32(randn([2, 35], s + 4));
        const ref = linearScanRef(a, b, h0);
        const grads = linearScanBackwardRef(a, ref.h, foldLast(gh, gl), h0);
        const [at, bt, h0t] = [upload(e, a, true), upload(e, b, true), h0 ? upload(e, h0, true) : undefined];
        const out = linearScan(at, bt, h0t);
        await expectGpuClose(out.h, ref.h, 1e-4, 'h');
        await expectGpuClose(out.last, ref.last, 1e-4, 'last');
        backward(lossOf(out, upload(e, gh), upload(e, gl)));
        await expectGpuClose(at.grad!, grads.da, 1e-4, 'da');
        await expectGpuClose(bt.grad!, grads.db, 1e-4, 'db');
        if (h0t) await expectGpuClose(h0t.grad!, grads.dh0, 1e-4, 'dh0');
      });
    }
    it(`complex scan at T=${T} with h0`, async () => {
      const e = await engine();
      const s = freshSeed();
      const shape = [2, T, 5, 2];
      // |a| < 1: a random point inside the unit disc.
      const radius = uniform([2, T, 5], s, 0, 0.99);
      const angle = uniform([2, T, 5], s + 5, -Math.PI, Math.PI);
      const a = toFloat32(
        cpuTensor(
          shape,
          Array.from(radius.data).flatMap((r, i) => [r * Math.cos(angle.data[i]), r * Math.sin(angle.data[i])]),
        ),
      );
      const b = toFloat32(randn(shape, s + 1));
      const h0 = toFloat32(randn([2, 5, 2], s + 2));
      const gh = toFloat32(randn(shape, s + 3));
      const gl = toFloat32(randn([2, 5, 2], s + 4));
      const ref = complexLinearScanRef(a, b, h0);
      const grads = complexLinearScanBackwardRef(a, ref.h, foldLast(gh, gl), h0);
      const [at, bt, h0t] = [upload(e, a, true), upload(e, b, true), upload(e, h0, true)];
      const out = complexLinearScan(at, bt, h0t);
      await expectGpuClose(out.h, ref.h, 1e-4, 'h');
      await expectGpuClose(out.last, ref.last, 1e-4, 'last');
      backward(lossOf(out, upload(e, gh), upload(e, gl)));
      await expectGpuClose(at.grad!, grads.da, 1e-4, 'da');
      await expectGpuClose(bt.grad!, grads.db, 1e-4, 'db');
      await expectGpuClose(h0t.grad!, grads.dh0, 1e-4, 'dh0');
    });
    for (const withInit of [false, true]) {
      it(`log-space scan at T=${T}${withInit ? ' with log h0' : ''}`, async () => {
        const e = await engine();
        const s = freshSeed();
        const shape = [2, T, 6];
        const la = toFloat32(uniform(shape, s, -4, 0));
        const lb = toFloat32(randn(shape, s + 1));
        const l0 = withInit ? toFloat32(randn([2, 6], s + 2)) : undefined;
        const gh = toFloat32(randn(shape, s + 3));
        const gl = toFloat32(randn([2, 6], s + 4));
        const ref = logLinearScanRef(la, lb, l0);
        const grads = logLinearScanBackwardRef(la, lb, ref.h, foldLast(gh, gl), l0);
        const [lat, lbt, l0t] = [upload(e, la, true), upload(e, lb, true), l0 ? upload(e, l0, true) : undefined];
        const out = logLinearScan(lat, lbt, l0t);
        await expectGpuClose(out.h, ref.h, 1e-4, 'log h');
        await expectGpuClose(out.last, ref.last, 1e-4, 'last');
        backward(lossOf(out, upload(e, gh), upload(e, gl)));
        await expectGpuClose(lat.grad!, grads.dLogA, 1e-4, 'd log a');
        await expectGpuClose(lbt.grad!, grads.dLogB, 1e-4, 'd log b');
        if (l0t) await expectGpuClose(l0t.grad!, grads.dLogH0, 1e-4, 'd log h0');
      });
    }
  }
});

describe('step kernels', () => {
  /** Runs the step kernel T times with carried state and stacks the states as [B, T, ...]. */
  async function stepByStep(
    step: (a: Tensor, b: Tensor, h: Tensor) => Tensor,
    a: CpuTensor,
    b: CpuTensor,
    h0: CpuTensor,
  ): Promise<CpuTensor> {
    const e = await engine();
    const [B, T] = a.shape;
    const inner = a.data.length / B / T;
    const token = (x: CpuTensor, t: number) => {
      const data: number[] = [];
      for (let n = 0; n < B; n++) data.push(...x.data.slice((n * T + t) * inner, (n * T + t + 1) * inner));
      return cpuTensor([B, ...a.shape.slice(2)], data);
    };
    const out = cpuTensor(a.shape);
    let h = upload(e, h0);
    for (let t = 0; t < T; t++) {
      h = step(upload(e, token(a, t)), upload(e, token(b, t)), h);
      const values = await download(h);
      for (let n = 0; n < B; n++) out.data.set(values.data.slice(n * inner, (n + 1) * inner), (n * T + t) * inner);
    }
    return out;
  }

  it('real: the scan equals the step kernel applied token by token at T=37', async () => {
    const e = await engine();
    const s = freshSeed();
    const a = toFloat32(uniform([2, 37, 4], s, -0.99, 0.99));
    const b = toFloat32(randn([2, 37, 4], s + 1));
    const h0 = toFloat32(randn([2, 4], s + 2));
    const steps = await stepByStep(linearStep, a, b, h0);
    const scanned = await download(linearScan(upload(e, a), upload(e, b), upload(e, h0)).h);
    expect(relativeError(scanned.data, steps.data)).toBeLessThan(1e-5);
  });
  it('complex: the scan equals the step kernel applied token by token at T=37', async () => {
    const e = await engine();
    const s = freshSeed();
    const a = toFloat32(uniform([1, 37, 3, 2], s, -0.7, 0.7));
    const b = toFloat32(randn([1, 37, 3, 2], s + 1));
    const h0 = toFloat32(randn([1, 3, 2], s + 2));
    const steps = await stepByStep(complexLinearStep, a, b, h0);
    const scanned = await download(complexLinearScan(upload(e, a), upload(e, b), upload(e, h0)).h);
    expect(relativeError(scanned.data, steps.data)).toBeLessThan(1e-5);
  });
  it('log: the scan equals the step kernel applied token by token at T=37', async () => {
    const e = await engine();
    const s = freshSeed();
    const la = toFloat32(uniform([2, 37, 4], s, -3, 0));
    const lb = toFloat32(randn([2, 37, 4], s + 1));
    const l0 = toFloat32(randn([2, 4], s + 2));
    const steps = await stepByStep(logLinearStep, la, lb, l0);
    const scanned = await download(logLinearScan(upload(e, la), upload(e, lb), upload(e, l0)).h);
    expect(relativeError(scanned.data, steps.data)).toBeLessThan(1e-5);
  });
  it('step gradients equal the reference at T=1 (real, complex, log)', async () => {
    const e = await engine();
    const s = freshSeed();
    const g = toFloat32(randn([3, 1, 4], s + 3));
    const real = [
      toFloat32(uniform([3, 1, 4], s, -1, 1)),
      toFloat32(randn([3, 1, 4], s + 1)),
      toFloat32(randn([3, 4], s + 2)),
    ];
    const token = (x: CpuTensor) => cpuTensor([x.shape[0], ...x.shape.slice(2)], x.data);
    for (const [name, step, ref, refBack] of [
      ['real', linearStep, linearScanRef, linearScanBackwardRef],
      ['log', logLinearStep, null, null],
    ] as const) {
      const [a, b, h] = real;
      const [at, bt, ht] = [upload(e, token(a), true), upload(e, token(b), true), upload(e, h, true)];
      backward(step(at, bt, ht), upload(e, token(g)));
      if (name === 'real') {
        const grads = refBack!(a, ref!(a, b, h).h, g, h);
        await expectGpuClose(at.grad!, token(grads.da), 1e-4, 'real da');
        await expectGpuClose(bt.grad!, token(grads.db), 1e-4, 'real db');
        await expectGpuClose(ht.grad!, grads.dh0, 1e-4, 'real dh');
      } else {
        const grads = logLinearScanBackwardRef(a, b, logLinearScanRef(a, b, h).h, g, h);
        await expectGpuClose(at.grad!, token(grads.dLogA), 1e-4, 'log d log a');
        await expectGpuClose(bt.grad!, token(grads.dLogB), 1e-4, 'log d log b');
        await expectGpuClose(ht.grad!, grads.dLogH0, 1e-4, 'log d log h');
      }
    }
    const a = toFloat32(uniform([3, 1, 4, 2], s, -0.7, 0.7));
    const b = toFloat32(randn([3, 1, 4, 2], s + 1));
    const h = toFloat32(randn([3, 4, 2], s + 2));
    const gc = toFloat32(randn([3, 1, 4, 2], s + 4));
    const [at, bt, ht] = [upload(e, token(a), true), upload(e, token(b), true), upload(e, h, true)];
    backward(complexLinearStep(at, bt, ht), upload(e, token(gc)));
    const grads = complexLinearScanBackwardRef(a, complexLinearScanRef(a, b, h).h, gc, h);
    await expectGpuClose(at.grad!, token(grads.da), 1e-4, 'complex da');
    await expectGpuClose(bt.grad!, token(grads.db), 1e-4, 'complex db');
    await expectGpuClose(ht.grad!, grads.dh0, 1e-4, 'complex dh');
  });
});

describe('numerics and bad input', () => {
  it('T=2048 with strong decay: real and log scans stay finite and match the reference', async () => {
    const e = await engine();
    const s = freshSeed();
    const shape = [1, 2048, 8];
    // Decays from e^-30 to 0.9999: a cumulative product over T would underflow long before the end.
    const la = toFloat32(uniform(shape, s, -30, -1e-4));
    const lb = toFloat32(uniform(shape, s + 1, -40, 5));
    const logRef = logLinearScanRef(la, lb);
    const logOut = await download(logLinearScan(upload(e, la), upload(e, lb)).h);
    expect(logOut.data.every(Number.isFinite)).toBe(true);
    expect(relativeError(logOut.data, logRef.h.data)).toBeLessThan(1e-4);
    const a = mapCpu(la, Math.exp);
    const b = toFloat32(randn(shape, s + 2));
    const realRef = linearScanRef(toFloat32(a), b);
    const realOut = await download(linearScan(upload(e, toFloat32(a)), upload(e, b)).h);
    expect(realOut.data.every(Number.isFinite)).toBe(true);
    expect(relativeError(realOut.data, realRef.h.data)).toBeLessThan(1e-4);
  });
  it('mismatched shapes and wrong initial-state shapes raise errors naming the op and the shapes', async () => {
    const e = await engine();
    const a = e.empty([2, 5, 3]);
    expect(() => linearScan(a, e.empty([2, 5, 4]))).toThrow(/linearScan: b \[2,5,4\] must match a \[2,5,3\]/);
    expect(() => linearScan(a, e.empty([2, 5, 3]), e.empty([2, 4]))).toThrow(
      /linearScan: initial state must have shape \[2,3\], got \[2,4\]/,
    );
    expect(() => complexLinearScan(a, a)).toThrow(/complexLinearScan: a must have shape \[B, T, D, 2\]/);
    expect(() => logLinearScan(e.empty([2, 0, 3]), e.empty([2, 0, 3]))).toThrow(/sequence length must be at least 1/);
    expect(() => linearStep(e.empty([2, 3]), e.empty([2, 3]), e.empty([3, 3]))).toThrow(
      /linearStep: h must have shape/,
    );
  });
});
