import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { randn, rng, toFloat32 } from '../../gpu/cpu/tensor.js';
import { embedding, validateIds } from '../../gpu/ops/embedding.js';
import { embeddingGradRef, embeddingRef } from '../../gpu/ops/embedding.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const freshSeed = () => Math.floor(Math.random() * 1e9);

function randomIds(count: number, vocab: number, seed: number): number[] {
  const next = rng(seed);
  return Array.from({ length: count }, () => Math.floor(next() * vocab));
}

describe('embedding', () => {
  it('reference scatter-add gradient equals finite differences (repeated ids accumulate)', () => {
    const seed = freshSeed();
    const weight = randn([5, 3], seed);
    const ids = [1, 4, 1, 0, 1, 3];
    const g = randn([2, 3, 3], seed + 1);
    checkGradients(([w]) => embeddingRef(w, ids, [2, 3]), [weight], g, [embeddingGradRef([5, 3], ids, g)]);
  });

  const cases: { vocab: number; dim: number; idsShape: number[] }[] = [
    { vocab: 7, dim: 5, idsShape: [3, 11] },
    { vocab: 3, dim: 300, idsShape: [2, 9] },
    { vocab: 50, dim: 4, idsShape: [37] },
    { vocab: 4, dim: 2, idsShape: [2, 2, 130] },
    { vocab: 9, dim: 3, idsShape: [1] },
    // Past one workgroup's block of 1024 pairs: stages across blocks run as global passes, the rest locally.
    { vocab: 40, dim: 3, idsShape: [3, 1000] },
    { vocab: 300, dim: 2, idsShape: [1500] },
  ];
  for (const { vocab, dim, idsShape } of cases) {
    it(`V=${vocab} D=${dim} ids [${idsShape}]: GPU gather and scatter-add gradient equal the reference`, async () => {
      const e = await engine();
      const seed = freshSeed();
      const count = idsShape.reduce((a, b) => a * b, 1);
      const weight = toFloat32(randn([vocab, dim], seed));
      const ids = randomIds(count, vocab, seed + 1);
      const g = toFloat32(randn([...idsShape, dim], seed + 2));
      const wt = upload(e, weight, true);
      const y = embedding(wt, e.fromArray(ids, idsShape, 'i32'));
      await expectGpuClose(y, embeddingRef(weight, ids, idsShape), 0, 'embedding forward');
      backward(y, upload(e, g));
      await expectGpuClose(wt.grad!, embeddingGradRef([vocab, dim], ids, g), 1e-5, 'embedding backward');
    });
  }

  it('the weight gradient is bitwise identical across runs (sorted, deterministic summation)', async () => {
    const e = await engine();
    const seed = freshSeed();
    const ids = randomIds(500, 3, seed);
    const g = toFloat32(randn([500, 4], seed + 1));
    const grads: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const wt = upload(e, toFloat32(randn([3, 4], seed + 2)), true);
      backward(embedding(wt, e.fromArray(ids, [500], 'i32')), upload(e, g));
      grads.push(Array.from(await wt.grad!.read()));
    }
    expect(grads[1]).toEqual(grads[0]);
  });

  it('out-of-range ids give NaN rows (never an out-of-bounds read) and no gradient', async () => {
    const e = await engine();
    const weight = toFloat32(randn([4, 2], freshSeed()));
    const ids = [1, 4, -1, 3, 2147483647, -2147483648];
    const wt = upload(e, weight, true);
    const y = embedding(wt, e.fromArray(ids, [6], 'i32'));
    const out = Array.from(await y.read());
    expect(out.slice(0, 2)).toEqual(Array.from(Float32Array.from(weight.data.slice(2, 4))));
    for (const row of [1, 2, 4, 5]) expect(out.slice(2 * row, 2 * row + 2).every(Number.isNaN)).toBe(true);
    backward(y, e.fromArray(new Array(12).fill(1), [6, 2]));
    await expectGpuClose(
      wt.grad!,
      embeddingGradRef([4, 2], ids, { shape: [6, 2], data: new Float64Array(12).fill(1) }),
      0,
      'grad',
    );
  });

  it('validateIds names the offending id and its position', () => {
    expect(() => validateIds([0, 3, 2], 4)).not.toThrow();
    expect(() => validateIds([0, 3, 4], 4)).toThrow(/embedding: id 4 at position 2 is outside \[0, 4\)/);
    expect(() => validateIds(Int32Array.of(2, -1), 4)).toThrow(/embedding: id -1 at position 1/);
  });
});
