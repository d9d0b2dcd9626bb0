import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, rng, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { concat, permute, reshape, slice, transpose } from '../../gpu/ops/shape.js';
import {
  concatGradRef,
  concatRef,
  permuteGradRef,
  permuteRef,
  sliceGradRef,
  sliceRef,
} from '../../gpu/ops/shape.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);
/** Random integers (including negatives) for the i32 paths, which must copy bits exactly. */
const randomInts = (count: number, seed: number) => {
  const next = rng(seed);
  return Array.from({ length: count }, () => Math.floor((next() - 0.5) * 2 ** 31));
};

describe('permute and transpose', () => {
  it('reference gradient (inverse permutation) equals finite differences', () => {
    const seed = freshSeed();
    const x = randn([2, 3, 4], seed);
    const g = randn([4, 2, 3], seed + 1);
    checkGradients(([a]) => permuteRef(a, [2, 0, 1]), [x], g, [permuteGradRef(g, [2, 0, 1])]);
  });

  const cases: [number[], number[]][] = [
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [5, 7],
      [1, 0],
    ],
    [
      [2, 1, 3, 2, 3],
      [4, 2, 0, 3, 1],
    ],
    [[6], [0]],
    // The last axis stays last and holds whole vec4s: the vec4 kernel.
    [
      [2, 3, 5, 8],
      [0, 2, 1, 3],
    ],
    [
      [3, 2, 2, 4, 12],
      [3, 1, 0, 2, 4],
    ],
    [[8], [0]],
  ];
  for (const [shape, dims] of cases) {
    it(`permute [${shape}] by [${dims}]: GPU forward and backward equal the reference`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const x = toFloat32(randn(shape, seed));
      const g = toFloat32(
        randn(
          dims.map((a) => shape[a]),
          seed + 1,
        ),
      );
      const xt = upload(e, x, true);
      const y = permute(xt, dims);
      await expectGpuClose(y, permuteRef(x, dims), 0, 'permute forward');
      backward(y, upload(e, g));
      await expectGpuClose(xt.grad!, permuteGradRef(g, dims), 0, 'permute backward');
    });
  }

  it('transpose swaps two axes, negative axes count from the end, gradients flow back', async () => {
    const e = await engine();
    const seed = freshSeed();
    const x = toFloat32(randn([2, 3, 4], seed));
    const g = toFloat32(randn([2, 4, 3], seed + 1));
    const xt = upload(e, x, true);
    const y = transpose(xt, -1, 1);
    await expectGpuClose(y, permuteRef(x, [0, 2, 1]), 0, 'transpose forward');
    backward(y, upload(e, g));
    await expectGpuClose(xt.grad!, permuteGradRef(g, [0, 2, 1]), 0, 'transpose backward');
  });

  it('i32 tensors permute bit-exactly', async () => {
    const e = await engine();
    const values = randomInts(24, freshSeed());
    const y = permute(e.fromArray(values, [2, 3, 4], 'i32'), [1, 2, 0]);
    expect(y.dtype).toBe('i32');
    const expected = permuteRef({ shape: [2, 3, 4], data: Float64Array.from(values) }, [1, 2, 0]);
    expect(Array.from(await y.read())).toEqual(Array.from(expected.data));
  });
});

describe('slice', () => {
  it('reference gradient (zero padding) equals finite differences', () => {
    const seed = freshSeed();
    const x = randn([3, 5, 2], seed);
    const g = randn([3, 2, 2], seed + 1);
    checkGradients(([a]) => sliceRef(a, 1, 1, 3), [x], g, [sliceGradRef([3, 5, 2], 1, 1, g)]);
  });

  const cases: [number[], number, number, number][] = [
    [[3, 5, 2], 1, 1, 3],
    [[7], 0, 0, 7],
    [[4, 6], -1, 2, 6],
    [[4, 6], 0, 3, 3],
    [[2, 3, 300], 2, 17, 290],
  ];
  for (const [shape, axis, start, end] of cases) {
    it(`slice [${shape}] axis ${axis} [${start},${end}): GPU forward and backward equal the reference`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const a = axis < 0 ? axis + shape.length : axis;
      const x = toFloat32(randn(shape, seed));
      const g = toFloat32(
        randn(
          shape.map((d, k) => (k === a ? end - start : d)),
          seed + 1,
        ),
      );
      const xt = upload(e, x, true);
      const y = slice(xt, axis, start, end);
      await expectGpuClose(y, sliceRef(x, a, start, end), 0, 'slice forward');
      backward(y, upload(e, g));
      await expectGpuClose(xt.grad!, sliceGradRef(shape, a, start, g), 0, 'slice backward');
    });
  }

  it('i32 tensors slice bit-exactly', async () => {
    const e = await engine();
    const values = randomInts(12, freshSeed());
    const y = slice(e.fromArray(values, [3, 4], 'i32'), 1, 1, 3);
    expect(y.dtype).toBe('i32');
    expect(Array.from(await y.read())).toEqual([values[1], values[2], values[5], values[6], values[9], values[10]]);
  });
});

describe('concat', () => {
  it('reference gradient (slices of g) equals finite differences', () => {
    const seed = freshSeed();
    const xs = [randn([2, 1, 3], seed), randn([2, 4, 3], seed + 1)];
    const g = randn([2, 5, 3], seed + 2);
    checkGradients(
      (inputs) => concatRef(inputs, 1),
      xs,
      g,
      concatGradRef(
        [
          [2, 1, 3],
          [2, 4, 3],
        ],
        1,
        g,
      ),
    );
  });

  const cases: [number[][], number][] = [
    [
      [
        [2, 1, 3],
        [2, 4, 3],
        [2, 2, 3],
      ],
      1,
    ],
    [
      [
        [3, 2],
        [1, 2],
      ],
      0,
    ],
    [
      [
        [2, 3],
        [2, 5],
      ],
      -1,
    ],
    [[[4]], 0],
    [
      [
        [2, 0, 3],
        [2, 2, 3],
      ],
      1,
    ],
  ];
  for (const [shapes, axis] of cases) {
    it(`concat ${shapes.map((s) => `[${s}]`).join('+')} on axis ${axis}: GPU forward and backward equal the reference`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const a = axis < 0 ? axis + shapes[0].length : axis;
      const xs = shapes.map((s, k) => toFloat32(randn(s, seed + k)));
      const y = concatRef(xs, a);
      const g = toFloat32(randn(y.shape, seed + 99));
      const xts = xs.map((x) => upload(e, x, true));
      const yt = concat(xts, axis);
      await expectGpuClose(yt, y, 0, 'concat forward');
      backward(yt, upload(e, g));
      const grads = concatGradRef(shapes, a, g);
      for (let k = 0; k < xts.length; k++) {
        if (xs[k].data.length === 0) continue;
        await expectGpuClose(xts[k].grad!, grads[k], 0, `concat grad ${k}`);
      }
    });
  }

  it('i32 tensors concat bit-exactly, and only inputs that require gradients get one', async () => {
    const e = await engine();
    const a = randomInts(4, freshSeed());
    const b = randomInts(2, freshSeed());
    const y = concat([e.fromArray(a, [2, 2], 'i32'), e.fromArray(b, [2, 1], 'i32')], 1);
    expect(Array.from(await y.read())).toEqual([a[0], a[1], b[0], a[2], a[3], b[1]]);
    const x0 = upload(e, toFloat32(randn([2], 1)), true);
    const x1 = upload(e, toFloat32(randn([3], 2)));
    backward(concat([x0, x1], 0), e.fromArray([1, 2, 3, 4, 5], [5]));
    expect(Array.from(await x0.grad!.read())).toEqual([1, 2]);
    expect(x1.grad).toBeNull();
  });
});

describe('shape ops compose with reshape', () => {
  it('reshape → permute → slice → concat gradients match the composed references', async () => {
    const e = await engine();
    const seed = freshSeed();
    const x = toFloat32(randn([2, 6], seed));
    const xt = upload(e, x, true);
    const p = permute(reshape(xt, [2, 3, 2]), [2, 1, 0]);
    const y = concat([slice(p, 1, 0, 1), slice(p, 1, 2, 3)], 1);
    const g = toFloat32(randn([2, 2, 2], seed + 1));
    backward(y, upload(e, g));
    const pr = permuteRef({ shape: [2, 3, 2], data: x.data }, [2, 1, 0]);
    await expectGpuClose(y, concatRef([sliceRef(pr, 1, 0, 1), sliceRef(pr, 1, 2, 3)], 1), 0, 'composed forward');
    const [g0, g1] = concatGradRef(
      [
        [2, 1, 2],
        [2, 1, 2],
      ],
      1,
      g,
    );
    const gp: CpuTensor = sliceGradRef([2, 3, 2], 1, 0, g0);
    sliceGradRef([2, 3, 2], 1, 2, g1).data.forEach((v, i) => (gp.data[i] += v));
    const gx = permuteGradRef(gp, [2, 1, 0]);
    await expectGpuClose(xt.grad!, { shape: [2, 6], data: gx.data }, 0, 'composed backward');
  });
});
