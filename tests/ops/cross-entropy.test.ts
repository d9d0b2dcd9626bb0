import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, rng, toFloat32 } from '../../gpu/cpu/tensor.js';
import { crossEntropy, validateTargets } from '../../gpu/ops/cross-entropy.js';
import { crossEntropyGradRef, crossEntropyRef } from '../../gpu/ops/cross-entropy.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

/** Random targets in [0, vocab), with roughly `ignoredShare` of them set to `ignoreIndex`. */
function randomTargets(rows: number, vocab: number, seed: number, ignoreIndex = -100, ignoredShare = 0.25): number[] {
  const next = rng(seed);
  return Array.from({ length: rows }, () => (next() < ignoredShare ? ignoreIndex : Math.floor(next() * vocab)));
}

describe('crossEntropy (fused log-softmax + NLL, mean over non-ignored rows)', () => {
  it('reference gradient equals finite differences, with ignored rows', () => {
    const seed = freshSeed();
    const logits = randn([6, 5], seed, 2);
    const targets = [0, 4, -100, 2, 2, -100];
    const g = randn([1], seed + 1);
    checkGradients(([a]) => crossEntropyRef(a, targets), [logits], g, [crossEntropyGradRef(logits, targets, g)]);
  });

  const cases: [number, number, number][] = [
    [7, 11, -100],
    [4, 300, -100],
    [9, 3, 1],
    [1, 64, -100],
  ];
  for (const [rows, vocab, ignoreIndex] of cases) {
    it(`[${rows},${vocab}] ignoreIndex ${ignoreIndex}: GPU loss and gradient equal the float64 reference`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const logits = toFloat32(randn([rows, vocab], seed, 3));
      const targets = randomTargets(rows, vocab, seed + 1, ignoreIndex);
      const g = toFloat32(randn([1], seed + 2));
      const lt = upload(e, logits, true);
      const loss = crossEntropy(lt, e.fromArray(targets, [rows], 'i32'), { ignoreIndex });
      await expectGpuClose(loss, crossEntropyRef(logits, targets, ignoreIndex), 1e-4, 'crossEntropy forward');
      backward(loss, upload(e, g));
      await expectGpuClose(
        lt.grad!,
        crossEntropyGradRef(logits, targets, g, ignoreIndex),
        1e-4,
        'crossEntropy backward',
      );
    });
  }

  it('a vocabulary of 65541 (strided rows) matches the reference', async () => {
    const e = await engine();
    const seed = freshSeed();
    const logits = toFloat32(randn([2, 65541], seed, 2));
    const targets = [65540, 17];
    const lt = upload(e, logits, true);
    const loss = crossEntropy(lt, e.fromArray(targets, [2], 'i32'));
    await expectGpuClose(loss, crossEntropyRef(logits, targets), 1e-4, 'wide forward');
    backward(loss);
    await expectGpuClose(lt.grad!, crossEntropyGradRef(logits, targets, cpuTensor([1], [1])), 1e-4, 'wide backward');
  });

  it('all rows ignored gives loss 0 and gradient 0', async () => {
    const e = await engine();
    const lt = upload(e, toFloat32(randn([3, 4], freshSeed())), true);
    const loss = crossEntropy(lt, e.fromArray([-100, -100, -100], [3], 'i32'));
    expect(Array.from(await loss.read())).toEqual([0]);
    backward(loss);
    expect(Array.from(await lt.grad!.read())).toEqual(new Array(12).fill(0));
  });

  it('a target outside [0,V) makes the loss NaN on the GPU (never an out-of-bounds read)', async () => {
    const e = await engine();
    const logits = upload(e, toFloat32(randn([3, 4], freshSeed())));
    for (const bad of [4, -1, 1 << 30]) {
      const loss = crossEntropy(logits, e.fromArray([1, bad, 2], [3], 'i32'));
      expect(Number.isNaN((await loss.read())[0])).toBe(true);
    }
  });

  it('validateTargets names the offending target and its position', () => {
    expect(() => validateTargets([0, 3, -100, 2], 4)).not.toThrow();
    expect(() => validateTargets([0, 3, 4], 4)).toThrow(/crossEntropy: target 4 at position 2 is outside \[0, 4\)/);
    expect(() => validateTargets(Int32Array.of(-1), 4)).toThrow(/target -1 at position 0/);
    expect(() => validateTargets([7], 4, 7)).not.toThrow();
  });
});
