import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, rng, toFloat32 } from '../../gpu/cpu/tensor.js';
import { klDivergence, labelCrossEntropy, mse } from '../../gpu/distill/losses.js';
import { klDivergenceGradRef, klDivergenceRef, mseGradRef, mseRef } from '../../gpu/distill/losses.ref.js';
import { crossEntropyGradRef, crossEntropyRef } from '../../gpu/ops/cross-entropy.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

function randomTargets(rows: number, vocab: number, seed: number, ignoredShare = 0.3): number[] {
  const next = rng(seed);
  return Array.from({ length: rows }, () => (next() < ignoredShare ? -100 : Math.floor(next() * vocab)));
}

describe('float64 references of the distillation losses', () => {
  it('KL(teacher‖student) gradient equals finite differences (τ = 2.5, some rows not scored)', () => {
    const seed = freshSeed();
    const student = randn([5, 7], seed, 2);
    const teacher = randn([5, 7], seed + 1, 2);
    const targets = [1, -100, 3, 6, -100];
    const g = randn([1], seed + 2);
    checkGradients(([s]) => klDivergenceRef(s, teacher, 2.5, targets), [student], g, [
      klDivergenceGradRef(student, teacher, 2.5, g, targets),
    ]);
  });

  it('KL is zero for identical distributions and positive otherwise', () => {
    const z = randn([4, 9], freshSeed(), 3);
    expect(klDivergenceRef(z, z, 1).data[0]).toBeCloseTo(0, 12);
    expect(klDivergenceRef(randn([4, 9], freshSeed(), 3), z, 1).data[0]).toBeGreaterThan(0);
  });

  it('MSE gradient equals finite differences', () => {
    const seed = freshSeed();
    const a = randn([3, 4, 5], seed);
    const b = randn([3, 4, 5], seed + 1);
    const g = randn([1], seed + 2);
    checkGradients(([x]) => mseRef(x, b), [a], g, [mseGradRef(a, b, g)]);
  });
});

describe('klDivergence on the GPU equals the float64 reference', () => {
  const cases: { rows: number; vocab: number; temperature: number; masked: boolean }[] = [
    { rows: 6, vocab: 11, temperature: 1, masked: true },
    { rows: 9, vocab: 300, temperature: 2, masked: true },
    { rows: 4, vocab: 50, temperature: 0.5, masked: false },
    { rows: 3, vocab: 1031, temperature: 4, masked: true },
  ];
  for (const { rows, vocab, temperature, masked } of cases) {
    it(`[${rows},${vocab}] τ=${temperature}${masked ? ' with ignored rows' : ''}: loss and student gradient`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const student = toFloat32(randn([rows, vocab], seed, 3));
      const teacher = toFloat32(randn([rows, vocab], seed + 1, 3));
      const targets = masked ? randomTargets(rows, vocab, seed + 2) : undefined;
      const g = toFloat32(randn([1], seed + 3));
      const s = upload(e, student, true);
      const t = upload(e, teacher, true); // must receive no gradient even when it could
      const loss = klDivergence(s, t, {
        temperature,
        targets: targets ? e.fromArray(targets, [rows], 'i32') : undefined,
      });
      await expectGpuClose(loss, klDivergenceRef(student, teacher, temperature, targets), 1e-4, 'kl forward');
      backward(loss, upload(e, g));
      await expectGpuClose(
        s.grad!,
        klDivergenceGradRef(student, teacher, temperature, g, targets),
        1e-4,
        'kl backward',
      );
      expect(t.grad).toBeNull();
    });
  }

  it('every row ignored gives loss 0 and a zero gradient', async () => {
    const e = await engine();
    const s = upload(e, toFloat32(randn([3, 5], freshSeed())), true);
    const t = upload(e, toFloat32(randn([3, 5], freshSeed())));
    const loss = klDivergence(s, t, { targets: e.fromArray([-100, -100, -100], [3], 'i32') });
    expect(Array.from(await loss.read())).toEqual([0]);
    backward(loss);
    expect(Array.from(await s.grad!.read())).toEqual(new Array(15).fill(0));
  });

  it('refuses mismatched shapes and a non-positive temperature, naming them', async () => {
    const e = await engine();
    const s = e.fromArray(new Float32Array(6), [2, 3]);
    expect(() => klDivergence(s, e.fromArray(new Float32Array(8), [2, 4]))).toThrow(/teacher f32\[2,4\]/);
    expect(() => klDivergence(s, s, { temperature: 0 })).toThrow(/temperature 0/);
  });
});

describe('mse and label cross-entropy on the GPU equal the float64 reference', () => {
  it('mse forward and gradient of the student side', async () => {
    const e = await engine();
    const seed = freshSeed();
    const a = toFloat32(randn([2, 7, 12], seed));
    const b = toFloat32(randn([2, 7, 12], seed + 1));
    const g = toFloat32(randn([1], seed + 2));
    const at = upload(e, a, true);
    const loss = mse(at, upload(e, b));
    await expectGpuClose(loss, mseRef(a, b), 1e-4, 'mse forward');
    backward(loss, upload(e, g));
    await expectGpuClose(at.grad!, mseGradRef(a, b, g), 1e-4, 'mse backward');
  });

  it('label cross-entropy of [B, T, V] logits is the mean over scored tokens', async () => {
    const e = await engine();
    const seed = freshSeed();
    const logits = toFloat32(randn([2, 5, 13], seed, 2));
    const targets = randomTargets(10, 13, seed + 1);
    const lt = upload(e, logits, true);
    const loss = labelCrossEntropy(lt, e.fromArray(targets, [2, 5], 'i32'));
    const flat = cpuTensor([10, 13], logits.data);
    await expectGpuClose(loss, crossEntropyRef(flat, targets), 1e-4, 'ce forward');
    backward(loss);
    const grad = crossEntropyGradRef(flat, targets, cpuTensor([1], [1]));
    await expectGpuClose(lt.grad!, cpuTensor([2, 5, 13], grad.data), 1e-4, 'ce backward');
  });
});
