import { describe, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { logSoftmax, softmax } from '../../gpu/ops/softmax.js';
import { logSoftmaxGradRef, logSoftmaxRef, softmaxGradRef, softmaxRef } from '../../gpu/ops/softmax.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

const VARIANTS = [
  { name: 'softmax', op: softmax, ref: softmaxRef, grad: softmaxGradRef },
  { name: 'logSoftmax', op: logSoftmax, ref: logSoftmaxRef, grad: logSoftmaxGradRef },
] as const;

describe('softmax and logSoftmax over the last axis', () => {
  for (const { name, op, ref, grad } of VARIANTS) {
    it(`${name}: reference gradient equals finite differences`, () => {
      const seed = freshSeed();
      const x = randn([3, 7], seed, 2);
      const g = randn([3, 7], seed + 1);
      checkGradients(([a]) => ref(a), [x], g, [grad(x, g)]);
    });

    for (const shape of [
      [3, 37],
      [2, 3, 300],
      [5, 1],
      [1, 64],
      [2, 65],
    ]) {
      it(`${name} [${shape}]: GPU forward and backward equal the float64 reference`, async () => {
        const e = await engine();
        const seed = freshSeed();
        const x = toFloat32(randn(shape, seed, 3));
        const g = toFloat32(randn(shape, seed + 1));
        const xt = upload(e, x, true);
        const y = op(xt);
        await expectGpuClose(y, ref(x), 1e-4, `${name} forward`);
        backward(y, upload(e, g));
        await expectGpuClose(xt.grad!, grad(x, g), 1e-4, `${name} backward`);
      });
    }
  }

  it('rows 65541 wide reduce correctly (strided loops over one workgroup)', async () => {
    const e = await engine();
    const seed = freshSeed();
    const x = toFloat32(randn([2, 65541], seed, 4));
    const g = toFloat32(randn([2, 65541], seed + 1));
    const xt = upload(e, x, true);
    const y = logSoftmax(xt);
    await expectGpuClose(y, logSoftmaxRef(x), 1e-4, 'wide logSoftmax forward');
    backward(y, upload(e, g));
    await expectGpuClose(xt.grad!, logSoftmaxGradRef(x, g), 1e-4, 'wide logSoftmax backward');
    await expectGpuClose(softmax(upload(e, x)), softmaxRef(x), 1e-4, 'wide softmax forward');
  });

  it('more than 65535 rows are all computed (2-D workgroup grid)', async () => {
    const e = await engine();
    const x = toFloat32(randn([65600, 2], freshSeed()));
    await expectGpuClose(softmax(upload(e, x)), softmaxRef(x), 1e-4, 'many-row softmax');
  });

  it('huge logits do not overflow: the row max is subtracted first', async () => {
    const e = await engine();
    const x = cpuTensor([2, 3], [1000, 999, -1000, -5000, -5001, -4999]);
    await expectGpuClose(softmax(upload(e, x)), softmaxRef(x), 1e-5, 'softmax of large logits');
    await expectGpuClose(logSoftmax(upload(e, x)), logSoftmaxRef(x), 1e-5, 'logSoftmax of large logits');
  });
});
