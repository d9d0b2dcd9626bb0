// Rotary position embedding: GPU = float64 reference forward and backward (both pair layouts, per-row
// position offsets up to 10⁶), the reference's backward = finite differences, scores depend only on
// relative positions, and bad input errors.

import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { rotary } from '../../gpu/ops/rotary.js';
import { rotaryRef } from '../../gpu/ops/rotary.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { download, expectGpuClose, upload, useEngine } from '../helpers/gpu.js';
import { freshSeed } from './matrix-helpers.js';

const engine = useEngine();

describe('rotary embedding', () => {
  for (const interleaved of [false, true]) {
    it(`GPU equals the float64 reference, forward and backward (${interleaved ? 'interleaved' : 'half-split'} pairs, offsets 0, 37 and 10⁶)`, async () => {
      const e = await engine();
      const s = freshSeed();
      const x = toFloat32(randn([3, 21, 2, 8], s));
      const dy = toFloat32(randn([3, 21, 2, 8], s + 1));
      const offsets = [0, 37, 1_000_000];
      const xt = upload(e, x, true);
      const y = rotary(xt, { offset: e.fromArray(offsets, [3]), interleaved });
      await expectGpuClose(y, rotaryRef(x, { offset: offsets, interleaved }), 1e-5, 'y');
      backward(sumAll(mul(y, upload(e, dy))));
      // Rotations are orthogonal: the gradient is the upstream gradient rotated backwards.
      await expectGpuClose(xt.grad!, rotaryRef(dy, { offset: offsets, interleaved, direction: -1 }), 1e-5, 'dx');
    });
  }

  it('the reference backward (rotation by −θ) equals finite differences', () => {
    const x = randn([1, 5, 1, 6], freshSeed());
    const dy = randn([1, 5, 1, 6], 3);
    const f = (inputs: CpuTensor[]) => rotaryRef(inputs[0], { offset: [11] });
    checkGradients(f, [x], dy, [rotaryRef(dy, { offset: [11], direction: -1 })]);
  });

  it('rotated scores depend only on the relative position (q at p, k at s)', async () => {
    const e = await engine();
    const q = toFloat32(randn([1, 1, 1, 16], freshSeed()));
    const score = async (p: number, s: number) => {
      const rq = await download(rotary(upload(e, q), { offset: e.fromArray([p], [1]) }));
      const rk = await download(rotary(upload(e, q), { offset: e.fromArray([s], [1]) }));
      return rq.data.reduce((acc, v, i) => acc + v * rk.data[i], 0);
    };
    const near = await score(7, 3);
    expect(Math.abs((await score(100_004, 100_000)) - near)).toBeLessThan(1e-5 * Math.abs(near) + 1e-5);
  });

  it('bad input errors name the op and the parameter', async () => {
    const e = await engine();
    expect(() => rotary(e.empty([1, 2, 3, 5]))).toThrow(/rotary: head dim D must be even, got f32\[1,2,3,5\]/);
    expect(() => rotary(e.empty([2, 3, 4]))).toThrow(/rotary: x must be f32 \[B, T, H, D\]/);
    expect(() => rotary(e.empty([2, 2, 1, 4]), { offset: e.empty([3]) })).toThrow(/rotary: offset must be f32 \[2\]/);
  });
});
