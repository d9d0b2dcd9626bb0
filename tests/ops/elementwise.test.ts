import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, uniform, toFloat32, cpuTensor } from '../../gpu/cpu/tensor.js';
import { UNARY, BINARY, type UnaryName, type BinaryName } from '../../gpu/ops/elementwise.defs.js';
import { unary, binary, where } from '../../gpu/ops/elementwise.js';
import { unaryRef, unaryGradRef, binaryRef, binaryGradRef, whereRef } from '../../gpu/ops/elementwise.ref.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();

// Inputs kept inside each op's domain (log/sqrt need x > 0; pow's exponent gradient needs a > 0).
const DOMAIN: Partial<Record<UnaryName | BinaryName, [number, number]>> = {
  log: [0.2, 3],
  sqrt: [0.2, 3],
  pow: [0.3, 2],
  div: [0.5, 2],
};
const PARAMS: Partial<Record<UnaryName, [number, number]>> = {
  pow_scalar: [3, 0],
  scale: [-1.7, 0],
  add_scalar: [0.3, 0],
  clamp: [-0.5, 0.7],
};

describe('unary ops', () => {
  for (const op of Object.keys(UNARY) as UnaryName[]) {
    it(`${op}: GPU forward and backward equal the float64 reference; reference gradient equals finite differences`, async () => {
      const e = await engine();
      const [lo, hi] = DOMAIN[op] ?? [-4, 4];
      const [p0, p1] = PARAMS[op] ?? [0, 0];
      const seed = Math.floor(Math.random() * 1e9);
      const x = toFloat32(uniform([3, 37], seed, lo, hi));
      const g = toFloat32(randn([3, 37], seed + 1));
      checkGradients(([a]) => unaryRef(op, a, p0, p1), [x], g, [unaryGradRef(op, x, g, p0, p1)], { tolerance: 1e-5 });
      const xt = upload(e, x, true);
      const y = unary(op, xt, p0, p1);
      await expectGpuClose(y, unaryRef(op, x, p0, p1), 1e-4, `${op} forward`);
      backward(y, upload(e, g));
      await expectGpuClose(xt.grad!, unaryGradRef(op, x, g, p0, p1), 1e-4, `${op} backward`);
    });
  }
  it('extreme inputs stay finite where the function is (tanh, sigmoid, softplus, logsigmoid at ±80)', async () => {
    const e = await engine();
    const x = cpuTensor([4], [-80, -30, 30, 80]);
    for (const op of ['tanh', 'sigmoid', 'softplus', 'logsigmoid', 'silu', 'gelu'] as UnaryName[]) {
      await expectGpuClose(unary(op, upload(e, x)), unaryRef(op, x), 1e-4, op);
    }
  });
});

describe('binary ops with broadcasting', () => {
  const shapes: [number[], number[]][] = [
    [
      [2, 3, 5],
      [2, 3, 5],
    ],
    [[2, 3, 5], [5]],
    [
      [4, 1, 3],
      [1, 6, 1],
    ],
    [[7], [1]],
  ];
  for (const op of Object.keys(BINARY) as BinaryName[]) {
    for (const [sa, sb] of shapes) {
      it(`${op} [${sa}]∘[${sb}]: GPU = reference, forward and both gradients`, async () => {
        const e = await engine();
        const [lo, hi] = DOMAIN[op] ?? [-2, 2];
        const seed = Math.floor(Math.random() * 1e9);
        const a = toFloat32(uniform(sa, seed, lo, hi));
        const b = toFloat32(uniform(sb, seed + 1, op === 'pow' ? -1.5 : lo, hi));
        const y = binaryRef(op, a, b);
        const g = toFloat32(randn(y.shape, seed + 2));
        const [ga, gb] = binaryGradRef(op, a, b, g);
        checkGradients(([p, q]) => binaryRef(op, p, q), [a, b], g, [ga, gb]);
        const at = upload(e, a, true);
        const bt = upload(e, b, true);
        const yt = binary(op, at, bt);
        await expectGpuClose(yt, y, 1e-4, `${op} forward`);
        backward(yt, upload(e, g));
        await expectGpuClose(at.grad!, ga, 1e-4, `${op} grad a`);
        await expectGpuClose(bt.grad!, gb, 1e-4, `${op} grad b`);
      });
    }
  }
  it('where selects by mask and routes gradients to the chosen branch', async () => {
    const e = await engine();
    const cond = cpuTensor([2, 3], [1, 0, 1, 0, 0, 1]);
    const a = toFloat32(randn([2, 3], 11));
    const b = toFloat32(randn([3], 12));
    const at = upload(e, a, true);
    const bt = upload(e, b, true);
    const y = where(upload(e, cond), at, bt);
    await expectGpuClose(y, whereRef(cond, a, b), 1e-6, 'where');
    backward(sumAll(mul(y, y)));
    const ya = whereRef(cond, a, b);
    await expectGpuClose(
      at.grad!,
      cpuTensor(
        [2, 3],
        a.data.map((v, i) => (cond.data[i] ? 2 * v : 0)),
      ),
      1e-5,
      'where grad a',
    );
    const gb = [0, 0, 0];
    for (let i = 0; i < 6; i++) if (!cond.data[i]) gb[i % 3] += 2 * ya.data[i];
    await expectGpuClose(bt.grad!, cpuTensor([3], gb), 1e-5, 'where grad b');
  });
  it('incompatible shapes raise an error naming the op and both shapes', async () => {
    const e = await engine();
    expect(() => binary('add', upload(e, randn([2, 3], 1)), upload(e, randn([4], 2)))).toThrow(
      /add: shapes \[2,3\] and \[4\] do not broadcast/,
    );
    const ids = e.fromArray([1, 2], [2], 'i32');
    expect(() => unary('exp', ids)).toThrow(/exp: expected f32 input, got i32\[2\]/);
  });
});
