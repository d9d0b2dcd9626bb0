import { describe, expect, it } from 'vitest';
import { randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { blockScan } from '../../gpu/ops/newton/block-scan.js';
import { blockScanRef } from '../../gpu/ops/newton/block-scan.ref.js';
import { DIAG_CELLS, type DiagCellKind } from '../../gpu/ops/newton/diag-cells.js';
import { diagRnnBackwardRef, diagRnnRef } from '../../gpu/ops/newton/diag-rnn.ref.js';
import { diagRnn, diagRnnStep } from '../../gpu/ops/newton/diag-rnn.js';
import { newtonRef } from '../../gpu/ops/newton/newton.ref.js';
import { assertConverged } from '../../gpu/ops/newton/newton.js';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { download, expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();

describe('block-diagonal linear recurrence (chunked scan)', () => {
  for (const S of [1, 2]) {
    for (const reverse of [false, true]) {
      it(`S=${S}${reverse ? ' reversed' : ''}: chunked scan equals the sequential loop at T=37 with chunks of 8 (not a multiple) and of 64 (one chunk)`, async () => {
        const e = await engine();
        const seed = Math.floor(Math.random() * 1e9);
        const [B, T, d] = [2, 37, 3];
        const M = toFloat32(randn([B, T, S * S, d], seed, 0.6));
        const v = toFloat32(randn([B, T, S, d], seed + 1));
        const expected = blockScanRef(M, v, reverse);
        for (const chunk of [8, 64]) {
          await expectGpuClose(
            blockScan(upload(e, M), upload(e, v), { reverse, chunk }),
            expected,
            1e-5,
            `chunk ${chunk}`,
          );
        }
      });
    }
  }
  it('unsupported block sizes and mismatched shapes raise clear errors', async () => {
    const e = await engine();
    expect(() => blockScan(e.empty([1, 4, 9, 2]), e.empty([1, 4, 3, 2]))).toThrow(/blocks of size 3 are not supported/);
    expect(() => blockScan(e.empty([1, 4, 2, 2]), e.empty([1, 4, 2, 2]))).toThrow(/M must be \[1, 4, 4, 2\]/);
  });
});

const KINDS: DiagCellKind[] = ['paragru', 'paralstm'];

/** Fresh random inputs: pre-activations of scale xs, per-unit parameters of scale ps. */
function inputs(kind: DiagCellKind, B: number, T: number, d: number, seed: number, xs = 1, ps = 0.5) {
  const cell = DIAG_CELLS[kind];
  return {
    cell,
    x: toFloat32(randn([B, T, cell.pre.length * d], seed, xs)),
    p: toFloat32(randn([cell.params.length, d], seed + 1, ps)),
    s0: toFloat32(randn([B, cell.states.length, d], seed + 2, 0.5)),
    dy: toFloat32(randn([B, T, d], seed + 3)),
  };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('diagonal ParaRNN cells, sequential mode', () => {
  for (const kind of KINDS) {
    it(`${kind}: reference BPTT gradients equal finite differences`, () => {
      const { cell, x, p, s0, dy } = inputs(kind, 2, 6, 3, 40 + KINDS.indexOf(kind));
      const { states } = diagRnnRef(cell, x, p, s0);
      const { dx, dparams } = diagRnnBackwardRef(cell, x, p, states, dy, s0);
      checkGradients(([a, b]) => diagRnnRef(cell, a, b, s0).y, [x, p], dy, [dx, dparams], {
        samples: 30,
        tolerance: 1e-6,
      });
    });

    it(`${kind}: GPU sequential forward, final state and BPTT equal the float64 reference on fresh random inputs`, async () => {
      const e = await engine();
      const { cell, x, p, s0, dy } = inputs(kind, 2, 9, 5, Math.floor(Math.random() * 1e9));
      const ref = diagRnnRef(cell, x, p, s0);
      const grads = diagRnnBackwardRef(cell, x, p, ref.states, dy, s0);
      const [xt, pt] = [upload(e, x, true), upload(e, p, true)];
      const out = diagRnn(cell, xt, pt, upload(e, s0));
      expect(out.report).toBeNull();
      await expectGpuClose(out.y, ref.y, 1e-4, 'y');
      const [B, T, S, d] = ref.states.shape;
      const last = cpuTensor([B, S, d]);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < S * d; i++) last.data[b * S * d + i] = ref.states.data[(b * T + T - 1) * S * d + i];
      await expectGpuClose(out.state, last, 1e-4, 'final state');
      backward(out.y, upload(e, dy));
      await expectGpuClose(xt.grad!, grads.dx, 1e-4, 'dx');
      await expectGpuClose(pt.grad!, grads.dparams, 1e-4, 'dparams');
    });

    it(`${kind}: the one-token step run T=5 times equals the sequence form`, async () => {
      const e = await engine();
      const { cell, x, p, s0 } = inputs(kind, 2, 5, 3, 77);
      const [B, T, F] = x.shape;
      const ref = diagRnnRef(cell, x, p, s0);
      const pt = upload(e, p);
      let state = upload(e, s0);
      for (let t = 0; t < T; t++) {
        const xt = cpuTensor([B, F]);
        for (let b = 0; b < B; b++) for (let f = 0; f < F; f++) xt.data[b * F + f] = x.data[(b * T + t) * F + f];
        const out = diagRnnStep(cell, upload(e, xt), pt, state);
        const d = F / cell.pre.length;
        const expected = cpuTensor([B, d]);
        for (let b = 0; b < B; b++)
          for (let u = 0; u < d; u++) expected.data[b * d + u] = ref.y.data[(b * T + t) * d + u];
        await expectGpuClose(out.y, expected, 1e-5, `step ${t}`);
        state = out.state;
      }
    });
  }
});

describe('Newton-parallel mode', () => {
  for (const kind of KINDS) {
    it(`${kind}: GPU Newton iterates and residuals follow the float64 Newton reference step by step (T=37, chunk 8)`, async () => {
      const e = await engine();
      const { cell, x, p, s0 } = inputs(kind, 2, 37, 3, Math.floor(Math.random() * 1e9));
      const ref = newtonRef(cell, x, p, 3, s0);
      for (let k = 0; k <= 3; k++) {
        const out = diagRnn(cell, upload(e, x), upload(e, p), upload(e, s0), {
          mode: 'newton',
          iterations: k,
          tolerance: 0,
          chunk: 8,
        });
        await out.y.read();
        const outcome = await out.report!.outcome;
        expect(outcome.residuals).toHaveLength(k + 1);
        outcome.residuals.forEach((r, i) =>
          expect(Math.abs(r - ref.residuals[i])).toBeLessThanOrEqual(1e-5 + 1e-4 * ref.residuals[i]),
        );
        const [B, T, S, d] = ref.iterates[k].shape;
        const y = cpuTensor([B, T, d]);
        for (let r = 0; r < B * T; r++)
          for (let u = 0; u < d; u++) y.data[r * d + u] = ref.iterates[k].data[(r * S + cell.output) * d + u];
        await expectGpuClose(out.y, y, 1e-4, `iterate ${k}`);
      }
    });

    it(`${kind}: Newton converges to the sequential result at T=1024 (max abs diff ≤ 1e-4) and reports it`, async () => {
      const e = await engine();
      const { cell, x, p, s0 } = inputs(kind, 2, 1024, 4, Math.floor(Math.random() * 1e9));
      const [xt, pt, st] = [upload(e, x), upload(e, p), upload(e, s0)];
      const seq = diagRnn(cell, xt, pt, st, { mode: 'sequential' });
      const newton = diagRnn(cell, xt, pt, st, { mode: 'newton', iterations: 10, tolerance: 1e-5 });
      const [a, b] = [await seq.y.read(), await newton.y.read()];
      const outcome = await assertConverged(newton.report!);
      expect(outcome.iterations).toBeLessThanOrEqual(10);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(await seq.state.read(), await newton.state.read())).toBeLessThanOrEqual(1e-4);
      // And both agree with the float64 loop.
      expect(maxAbsDiff(b, diagRnnRef(cell, x, p, s0).y.data)).toBeLessThanOrEqual(1e-4);
    });

    it(`${kind}: Newton-mode gradients (parallel adjoint) match sequential BPTT at T=1024 and the float64 reference at T=37`, async () => {
      const e = await engine();
      for (const T of [37, 1024]) {
        const { cell, x, p, s0, dy } = inputs(kind, 2, T, 3, Math.floor(Math.random() * 1e9));
        const grads: CpuTensor[][] = [];
        for (const mode of ['sequential', 'newton'] as const) {
          const [xt, pt] = [upload(e, x, true), upload(e, p, true)];
          const out = diagRnn(cell, xt, pt, upload(e, s0), { mode, iterations: 10, chunk: T === 37 ? 8 : undefined });
          backward(out.y, upload(e, dy));
          grads.push([await download(xt.grad!), await download(pt.grad!)]);
        }
        const label = `${kind} T=${T}`;
        if (T === 37) {
          const ref = diagRnnRef(cell, x, p, s0);
          const g = diagRnnBackwardRef(cell, x, p, ref.states, dy, s0);
          await expectGpuClose(upload(e, grads[1][0]), g.dx, 1e-4, `${label} dx vs reference`);
          await expectGpuClose(upload(e, grads[1][1]), g.dparams, 1e-4, `${label} dparams vs reference`);
        }
        await expectGpuClose(upload(e, grads[1][0]), grads[0][0], 1e-4, `${label} dx newton vs sequential`);
        await expectGpuClose(upload(e, grads[1][1]), grads[0][1], 1e-4, `${label} dparams newton vs sequential`);
      }
    });
  }

  it('the residual is the maximum over every (row, chunk, unit), also when many workgroups reduce it', async () => {
    // 4 rows × 75 chunks × 40 units = 12 000 partials: six reduction workgroups fold in by atomicMax.
    const e = await engine();
    const { cell, x, p, s0 } = inputs('paralstm', 4, 300, 40, Math.floor(Math.random() * 1e9));
    const ref = newtonRef(cell, x, p, 2, s0);
    const out = diagRnn(cell, upload(e, x), upload(e, p), upload(e, s0), {
      mode: 'newton',
      iterations: 2,
      tolerance: 0,
      chunk: 4,
    });
    await out.y.read();
    const { residuals } = await out.report!.outcome;
    expect(residuals).toHaveLength(3);
    residuals.forEach((r, i) =>
      expect(Math.abs(r - ref.residuals[i])).toBeLessThanOrEqual(1e-5 + 1e-4 * ref.residuals[i]),
    );
  });

  it('too few iterations are reported as non-convergence with the residual of every iteration', async () => {
    const e = await engine();
    const { cell, x, p } = inputs('paragru', 2, 256, 4, 5, 2, 1.5);
    const out = diagRnn(cell, upload(e, x), upload(e, p), null, { mode: 'newton', iterations: 2, tolerance: 1e-6 });
    await out.y.read();
    const outcome = await out.report!.outcome;
    expect(outcome.converged).toBe(false);
    expect(outcome.residuals).toHaveLength(3);
    expect(outcome.residuals[2]).toBeGreaterThan(1e-6);
    expect(outcome.message).toMatch(/Newton did not converge: residual .* after 2 iteration\(s\)/);
    await expect(assertConverged(out.report!)).rejects.toThrow(/did not converge/);
  });

  it('a diverging configuration (large recurrent weights) and non-finite input are reported, never returned silently', async () => {
    const e = await engine();
    // Seeded so that the float64 Newton reference does not converge either (residual ~1 after 8 steps).
    const { cell, x, p } = inputs('paralstm', 2, 1024, 4, 1, 2, 1.5);
    const out = diagRnn(cell, upload(e, x), upload(e, p), null, { mode: 'newton', iterations: 6 });
    await out.y.read();
    const outcome = await out.report!.outcome;
    expect(outcome.converged).toBe(false);
    expect(outcome.residuals[6]).toBeGreaterThan(0.1);
    expect(outcome.message).toMatch(/did not converge/);
    const poisoned = cpuTensor(x.shape, x.data);
    poisoned.data[17] = NaN;
    const bad = diagRnn(cell, upload(e, poisoned), upload(e, p), null, { mode: 'newton', iterations: 2 });
    await bad.y.read();
    const o2 = await bad.report!.outcome;
    expect(o2.converged).toBe(false);
    expect(o2.message).toMatch(/non-finite \(diverged\)/);
  });

  it('the tolerance stops iterating on the GPU: later residuals repeat the converged one', async () => {
    const e = await engine();
    const { cell, x, p } = inputs('paragru', 1, 64, 4, 9, 1, 0.3);
    const out = diagRnn(cell, upload(e, x), upload(e, p), null, { mode: 'newton', iterations: 12, tolerance: 1e-4 });
    await out.y.read();
    const outcome = await out.report!.outcome;
    expect(outcome.converged).toBe(true);
    expect(outcome.iterations).toBeLessThan(12);
    const k = outcome.iterations;
    for (let i = k; i <= 12; i++) expect(outcome.residuals[i]).toBe(outcome.residuals[k]);
  });

  it('bad inputs raise errors naming the cell and the problem', async () => {
    const e = await engine();
    const cell = DIAG_CELLS.paralstm;
    expect(() => diagRnn(cell, e.empty([1, 4, 12]), e.empty([3, 4]))).toThrow(
      /rnn\.paralstm: parameters must be \[5, hidden\]/,
    );
    expect(() => diagRnn(cell, e.empty([1, 4, 10]), e.empty([5, 4]))).toThrow(/pre-activations must be \[B, T, 3·4\]/);
    expect(() => diagRnn(cell, e.empty([1, 4, 12]), e.empty([5, 4]), null, { mode: 'newton', iterations: -1 })).toThrow(
      /iterations/,
    );
  });
});
