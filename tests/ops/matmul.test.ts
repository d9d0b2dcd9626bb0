import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import {
  linear,
  matmul,
  LARGE_TILE,
  SMALL_TILE,
  splitKFactor,
  UNSAFE_FAST_TILE,
  type MatmulOptions,
  type TileConfig,
} from '../../gpu/ops/matmul.js';
import { linearGradRef, linearRef, matmulGradRef, matmulRef } from '../../gpu/ops/matmul.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();

const freshSeed = () => Math.floor(Math.random() * 1e9);
const stored = (rows: number, cols: number, trans: boolean) => (trans ? [cols, rows] : [rows, cols]);

/** A tile small enough that tiny shapes span several tiles and K slices, edges included. */
const MINI_TILE: TileConfig = { bm: 16, bn: 16, bk: 4, tm: 4, tn: 4 };

/**
 * Compares forward and both gradients with the float64 reference on fresh inputs, after checking
 * the reference's gradients by finite differences.
 */
async function checkMatmul(aShape: number[], bShape: number[], options: MatmulOptions, label: string) {
  const e = await engine();
  const seed = freshSeed();
  const a = toFloat32(randn(aShape, seed));
  const b = toFloat32(randn(bShape, seed + 1));
  const flags = { transA: options.transA, transB: options.transB };
  const y = matmulRef(a, b, flags);
  const g = toFloat32(randn(y.shape, seed + 2));
  const [ga, gb] = matmulGradRef(a, b, g, flags);
  checkGradients(([p, q]) => matmulRef(p, q, flags), [a, b], g, [ga, gb]);
  const at = upload(e, a, true);
  const bt = upload(e, b, true);
  const yt = matmul(at, bt, options);
  await expectGpuClose(yt, y, 1e-4, `${label} forward`);
  backward(yt, upload(e, g));
  await expectGpuClose(at.grad!, ga, 1e-4, `${label} grad a`);
  await expectGpuClose(bt.grad!, gb, 1e-4, `${label} grad b`);
}

describe('matmul: 2-D products of any shape, all four transpose combinations', () => {
  // [M, K, N]: not multiples of any tile; odd K (scalar loads), multiples of 4 (vec4 loads), mixed.
  const shapes: [number, number, number][] = [
    [1, 7, 3],
    [37, 65, 129],
    [20, 12, 8],
    [33, 64, 36],
  ];
  const kernels: [string, MatmulOptions][] = [
    ['tiled 16×16 tile', { kernel: 'tiled', tile: MINI_TILE }],
    ['tiled, heuristic tile', { kernel: 'tiled' }],
    ['skinny', { kernel: 'skinny' }],
  ];
  for (const [m, k, n] of shapes) {
    for (const [kernelName, kernelOptions] of kernels) {
      it(`${m}×${k}·${k}×${n}, ${kernelName}: forward and gradients equal the float64 reference for every transpose pair`, async () => {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            await checkMatmul(
              stored(m, k, transA),
              stored(k, n, transB),
              { ...kernelOptions, transA, transB },
              `transA=${transA} transB=${transB}`,
            );
          }
        }
      });
    }
  }
  const tileCases: [string, TileConfig][] = [
    ['LARGE_TILE', LARGE_TILE],
    ['SMALL_TILE', SMALL_TILE],
    ['UNSAFE_FAST_TILE (guards, lanes)', UNSAFE_FAST_TILE],
    ['grouped order', { ...MINI_TILE, group: 3 }],
    ['pingpong, lanes, rowFast', { ...MINI_TILE, pingpong: true, lanes: 2, rowFast: true }],
    ['pingpong, one lane', { ...MINI_TILE, bk: 8, pingpong: true, lanes: 1 }],
    ['staged', { ...MINI_TILE, bk: 8, staged: true }],
  ];
  for (const [name, tile] of tileCases) {
    it(`tile ${name}: ragged 130×67·67×133 and tile-multiple shapes (the unguarded path) equal the reference`, async () => {
      await checkMatmul([130, 67], [67, 133], { kernel: 'tiled', tile }, 'ragged');
      await checkMatmul([128, 32], [32, 128], { kernel: 'tiled', tile }, 'aligned');
      await checkMatmul(
        [32, 128],
        [128, 32],
        { kernel: 'tiled', tile, transA: true, transB: true },
        'aligned, transposed',
      );
    });
  }
  it('the skinny kernel is correct with the wide side on M (tall × tiny) and with K = 0', async () => {
    await checkMatmul([70, 33], [33, 5], { kernel: 'skinny' }, 'tall, tiny N');
    await checkMatmul([70, 33], [5, 33], { kernel: 'skinny', transB: true }, 'tall, tiny N, transB');
    const e = await engine();
    const y = matmul(e.fromArray([], [3, 0]), e.fromArray([], [0, 2]));
    await expectGpuClose(y, { shape: [3, 2], data: new Float64Array(6) }, 0, 'K = 0 gives zeros');
  });
});

describe('matmul: split-K for the weight-gradient form aᵀ·b', () => {
  it('splits only aᵀ·b with few output tiles and a long K, into slices of ≥ 256 that divide K', () => {
    expect(splitKFactor({ M: 256, N: 256, K: 8192, batch: 1 }, true, false)).toBe(16);
    expect(splitKFactor({ M: 256, N: 704, K: 8192, batch: 1 }, true, false)).toBe(4);
    expect(splitKFactor({ M: 24, N: 20, K: 1000, batch: 1 }, true, false)).toBe(1); // 1000 = 8 · 125: no slice of 16s
    expect(splitKFactor({ M: 4096, N: 4096, K: 8192, batch: 1 }, true, false)).toBe(1); // enough tiles already
    expect(splitKFactor({ M: 256, N: 256, K: 8192, batch: 2 }, true, false)).toBe(1);
    expect(splitKFactor({ M: 256, N: 256, K: 8192, batch: 1 }, false, false)).toBe(1);
    expect(splitKFactor({ M: 256, N: 256, K: 8192, batch: 1 }, true, true)).toBe(1);
  });

  it('aᵀ·b with K = 4096 in 16 slices: forward and gradients equal the float64 reference', async () => {
    expect(splitKFactor({ M: 24, N: 20, K: 4096, batch: 1 }, true, false)).toBe(16);
    await checkMatmul([4096, 24], [4096, 20], { transA: true }, 'split-K 4096');
  });

  it("a linear layer's weight gradient over 2048 rows (split-K in the backward) equals the reference", async () => {
    const e = await engine();
    const seed = freshSeed();
    const x = toFloat32(randn([2048, 12], seed));
    const w = toFloat32(randn([16, 12], seed + 1));
    const g = toFloat32(randn([2048, 16], seed + 2));
    const [, gw] = linearGradRef(x, w, g);
    const wt = upload(e, w, true);
    backward(linear(upload(e, x), wt), upload(e, g));
    await expectGpuClose(wt.grad!, gw, 1e-4, 'weight gradient');
  });
});

describe('matmul: broadcast batch dims', () => {
  const cases: [number[], number[], MatmulOptions][] = [
    [[2, 3, 5, 6], [6, 7], {}], // a weight against a batched input (folded into one 2-D product)
    [[2, 3, 6, 5], [6, 7], { transA: true }],
    [[2, 1, 5, 6], [3, 7, 6], { transB: true }], // both operands broadcast
    [[5, 6], [4, 6, 7], {}], // a 2-D left operand against a batch
    [[4, 5, 6], [4, 6, 7], { kernel: 'skinny' }],
    [[3, 2, 8], [5, 8], { kernel: 'skinny', transB: true }], // K-contiguous vec4 skinny path, batched
    [[2, 3, 4, 2, 5, 6], [3, 1, 2, 6, 7], { tile: MINI_TILE, kernel: 'tiled' }],
  ];
  for (const [aShape, bShape, options] of cases) {
    it(`[${aShape}]·[${bShape}] ${JSON.stringify(options)}: forward and gradients (summed over broadcast dims) equal the reference`, async () => {
      await checkMatmul(aShape, bShape, options, `[${aShape}]·[${bShape}]`);
    });
  }
});

describe('linear', () => {
  async function checkLinear(xShape: number[], outF: number, withBias: boolean) {
    const e = await engine();
    const seed = freshSeed();
    const inF = xShape[xShape.length - 1];
    const x = toFloat32(randn(xShape, seed));
    const w = toFloat32(randn([outF, inF], seed + 1));
    const bias = withBias ? toFloat32(randn([outF], seed + 2)) : undefined;
    const y = linearRef(x, w, bias);
    const g = toFloat32(randn(y.shape, seed + 3));
    const [gx, gw, gbias] = linearGradRef(x, w, g);
    const f = ([p, q, r]: CpuTensor[]) => linearRef(p, q, r);
    checkGradients(f, bias ? [x, w, bias] : [x, w], g, bias ? [gx, gw, gbias] : [gx, gw]);
    const xt = upload(e, x, true);
    const wt = upload(e, w, true);
    const bt = bias ? upload(e, bias, true) : undefined;
    const yt = linear(xt, wt, bt);
    await expectGpuClose(yt, y, 1e-4, 'linear forward');
    backward(yt, upload(e, g));
    await expectGpuClose(xt.grad!, gx, 1e-4, 'linear grad x');
    await expectGpuClose(wt.grad!, gw, 1e-4, 'linear grad weight');
    if (bt) await expectGpuClose(bt.grad!, gbias, 1e-4, 'linear grad bias');
  }
  it('x [2,3,13] · W[9,13]ᵀ + b: forward and gradients of x, weight and bias equal the reference', async () => {
    await checkLinear([2, 3, 13], 9, true);
  });
  it('without bias, x [5,8] · W[12,8]ᵀ (vec4 layouts): forward and gradients equal the reference', async () => {
    await checkLinear([5, 8], 12, false);
  });
  it('step mode x [1,24] → 40 (skinny kernel) and a 1-D input: forward and gradients equal the reference', async () => {
    await checkLinear([1, 24], 40, true);
    await checkLinear([24], 3, true);
  });
});

describe('errors name the op and the shapes', () => {
  it('mismatched inner dims, non-broadcasting batches, rank < 2, bad linear shapes, integer inputs', async () => {
    const e = await engine();
    const t = (shape: number[]) => upload(e, randn(shape, 1));
    expect(() => matmul(t([2, 3]), t([4, 5]))).toThrow(
      /matmul: inner dimensions differ \(3 vs 4\) for a f32\[2,3\] and b f32\[4,5\]/,
    );
    expect(() => matmul(t([2, 3]), t([2, 5]), { transA: true, transB: true })).toThrow(
      /matmul: inner dimensions differ \(2 vs 5\)/,
    );
    expect(() => matmul(t([2, 4, 3]), t([3, 3, 5]))).toThrow(
      /matmul: batch dims do not broadcast for a f32\[2,4,3\] and b f32\[3,3,5\]/,
    );
    expect(() => matmul(t([3]), t([3, 5]))).toThrow(/matmul: both operands need ≥ 2 dims/);
    expect(() => linear(t([2, 3]), t([4, 5]))).toThrow(
      /linear: expected x \[..., in\] and weight \[out, in\], got x f32\[2,3\], weight f32\[4,5\]/,
    );
    expect(() => linear(t([2, 3]), t([4, 3]), t([5]))).toThrow(/linear: bias must be \[4\]/);
    expect(() => matmul(e.fromArray([1, 2], [1, 2], 'i32'), t([2, 2]))).toThrow(
      /matmul: expected f32 input, got i32\[1,2\]/,
    );
    expect(() =>
      matmul(t([2, 2]), t([2, 2]), { kernel: 'tiled', tile: { bm: 64, bn: 64, bk: 6, tm: 4, tn: 4 } }),
    ).toThrow(/invalid tile config/);
  });
});
