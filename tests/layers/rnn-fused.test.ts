import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32 } from '../../gpu/cpu/tensor.js';
import { FUSED_CELLS, type FusedCellKind } from '../../gpu/ops/rnn/cells.js';
import { fusedRnn, fusedRnnStep } from '../../gpu/ops/rnn/fused-rnn.js';
import { fusedRnnBackwardRef, fusedRnnRef } from '../../gpu/ops/rnn/fused-rnn.ref.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();
const KINDS: FusedCellKind[] = ['lstm', 'gru', 'elman', 'slstm'];

/** Fresh random inputs for a cell: B batch rows, T steps, H heads of size D. */
function inputs(kind: FusedCellKind, B: number, T: number, H: number, D: number, seed: number) {
  const cell = FUSED_CELLS[kind];
  const hidden = H * D;
  const S = cell.states.length;
  const gx = toFloat32(randn([B, T, cell.inputGates.length * hidden], seed));
  const R = toFloat32(randn([cell.recurrentGates.length, H, D, D], seed + 1, 0.6 / Math.sqrt(D)));
  const bias = toFloat32(randn([cell.gates.length, hidden], seed + 2, 0.5));
  const s0 = toFloat32(randn([B, S, hidden], seed + 3, 0.5));
  if (kind === 'slstm') {
    // n > 0 and a finite stabilizer are invariants of a real sLSTM state.
    for (let b = 0; b < B; b++)
      for (let u = 0; u < hidden; u++) {
        s0.data[(b * S + 2) * hidden + u] = 0.5 + Math.abs(s0.data[(b * S + 2) * hidden + u]);
      }
  }
  const dy = toFloat32(randn([B, T, hidden], seed + 4));
  return { cell, gx, R, bias, s0, dy };
}

describe('fused sequential RNN kernels', () => {
  for (const kind of KINDS) {
    it(`${kind}: reference BPTT gradients equal finite differences`, () => {
      const { cell, gx, R, bias, s0, dy } = inputs(kind, 2, 5, 2, 3, 100 + KINDS.indexOf(kind));
      const grads = fusedRnnBackwardRef(cell, gx, R, bias, dy, s0);
      checkGradients(
        ([a, r, c]) => fusedRnnRef(cell, a, r, c, s0).y,
        [gx, R, bias],
        dy,
        [grads.dgx, grads.dR, grads.dbias],
        {
          samples: 30,
          tolerance: 1e-6,
        },
      );
    });

    for (const weights of ['workgroup', 'global', 'stepwise'] as const) {
      it(`${kind} (R in ${weights} memory): GPU forward, final state and BPTT gradients equal the float64 reference on fresh random inputs`, async () => {
        const e = await engine();
        const seed = Math.floor(Math.random() * 1e9);
        const { cell, gx, R, bias, s0, dy } = inputs(kind, 2, 7, 2, 5, seed);
        const ref = fusedRnnRef(cell, gx, R, bias, s0);
        const grads = fusedRnnBackwardRef(cell, gx, R, bias, dy, s0);
        const [gxT, RT, biasT] = [upload(e, gx, true), upload(e, R, true), upload(e, bias, true)];
        const { y, state } = fusedRnn(cell, gxT, RT, biasT, upload(e, s0), { weights });
        await expectGpuClose(y, ref.y, 1e-4, `${kind} y`);
        await expectGpuClose(state, ref.state, 1e-4, `${kind} final state`);
        backward(y, upload(e, dy));
        await expectGpuClose(gxT.grad!, grads.dgx, 1e-4, `${kind} dgx`);
        await expectGpuClose(RT.grad!, grads.dR, 1e-4, `${kind} dR`);
        await expectGpuClose(biasT.grad!, grads.dbias, 1e-4, `${kind} dbias`);
      });
    }
  }

  for (const kind of KINDS) {
    it(`${kind}: the one-token step run T=6 times equals the sequence form, outputs and final state`, async () => {
      const e = await engine();
      const { cell, gx, R, bias, s0 } = inputs(kind, 3, 6, 2, 4, 500 + KINDS.indexOf(kind));
      const [B, T, F] = gx.shape;
      const [RT, biasT] = [upload(e, R), upload(e, bias)];
      const seq = fusedRnn(cell, upload(e, gx), RT, biasT, upload(e, s0));
      const seqY = await seq.y.read();
      let state = upload(e, s0);
      for (let t = 0; t < T; t++) {
        const xt = cpuTensor([B, F]);
        for (let b = 0; b < B; b++) for (let f = 0; f < F; f++) xt.data[b * F + f] = gx.data[(b * T + t) * F + f];
        const out = fusedRnnStep(cell, upload(e, xt), RT, biasT, state);
        const hidden = out.y.shape[1];
        const expected = cpuTensor([B, hidden]);
        for (let b = 0; b < B; b++)
          for (let u = 0; u < hidden; u++) expected.data[b * hidden + u] = seqY[(b * T + t) * hidden + u];
        await expectGpuClose(out.y, expected, 1e-6, `${kind} step ${t}`);
        state = out.state;
      }
      await expectGpuClose(state, cpuTensor(seq.state.shape, await seq.state.read()), 1e-6, `${kind} final state`);
    });
  }

  it('heads wider than the workgroup (lstm, D=70: 280 gate rows for 256 invocations) still equal the reference', async () => {
    const e = await engine();
    const { cell, gx, R, bias, s0, dy } = inputs('lstm', 1, 3, 1, 70, Math.floor(Math.random() * 1e9));
    const ref = fusedRnnRef(cell, gx, R, bias, s0);
    const grads = fusedRnnBackwardRef(cell, gx, R, bias, dy, s0);
    const [gxT, RT, biasT] = [upload(e, gx, true), upload(e, R, true), upload(e, bias, true)];
    const { y } = fusedRnn(cell, gxT, RT, biasT, upload(e, s0));
    await expectGpuClose(y, ref.y, 1e-4, 'y');
    backward(y, upload(e, dy));
    await expectGpuClose(gxT.grad!, grads.dgx, 1e-4, 'dgx');
    await expectGpuClose(RT.grad!, grads.dR, 1e-4, 'dR');
  });

  it('step-wise kernels over several unit tiles, chunks and batch tiles (gru and lstm, D=70, B=17) equal the reference; their one-token step equals the sequence', async () => {
    const e = await engine();
    for (const kind of ['gru', 'lstm'] as const) {
      const { cell, gx, R, bias, s0, dy } = inputs(kind, 17, 3, 1, 70, Math.floor(Math.random() * 1e9));
      const ref = fusedRnnRef(cell, gx, R, bias, s0);
      const grads = fusedRnnBackwardRef(cell, gx, R, bias, dy, s0);
      const [gxT, RT, biasT] = [upload(e, gx, true), upload(e, R, true), upload(e, bias, true)];
      const { y, state } = fusedRnn(cell, gxT, RT, biasT, upload(e, s0), { weights: 'stepwise' });
      await expectGpuClose(y, ref.y, 1e-4, `${kind} y`);
      await expectGpuClose(state, ref.state, 1e-4, `${kind} state`);
      backward(y, upload(e, dy));
      await expectGpuClose(gxT.grad!, grads.dgx, 1e-4, `${kind} dgx`);
      await expectGpuClose(RT.grad!, grads.dR, 1e-4, `${kind} dR`);
      await expectGpuClose(biasT.grad!, grads.dbias, 1e-4, `${kind} dbias`);
    }
    const { cell, gx, R, bias, s0 } = inputs('lstm', 2, 2, 1, 20, 77);
    const [RT, biasT] = [upload(e, R), upload(e, bias)];
    const seq = fusedRnn(cell, upload(e, gx), RT, biasT, upload(e, s0), { weights: 'stepwise' });
    const F = gx.shape[2];
    const x0 = cpuTensor([2, F]);
    for (let b = 0; b < 2; b++) for (let f = 0; f < F; f++) x0.data[b * F + f] = gx.data[b * 2 * F + f];
    const first = fusedRnnStep(cell, upload(e, x0), RT, biasT, upload(e, s0), { weights: 'stepwise' });
    const seqY = await seq.y.read();
    const expected = cpuTensor([2, 80 / 4]);
    for (let b = 0; b < 2; b++) for (let u = 0; u < 20; u++) expected.data[b * 20 + u] = seqY[b * 2 * 20 + u];
    await expectGpuClose(first.y, expected, 1e-6, 'stepwise one-token step');
  });

  it('split-K step kernels (D=64, 2 heads, B=17 over batch tiles of 8, D split 4 or 8 ways; every cell) equal the reference, forward and backward', async () => {
    const e = await engine();
    for (const [kind, ks] of [
      ['gru', 4],
      ['lstm', 8],
      ['elman', 8],
      ['slstm', 4],
    ] as const) {
      const { cell, gx, R, bias, s0, dy } = inputs(kind, 17, 4, 2, 64, Math.floor(Math.random() * 1e9));
      const ref = fusedRnnRef(cell, gx, R, bias, s0);
      const grads = fusedRnnBackwardRef(cell, gx, R, bias, dy, s0);
      const [gxT, RT, biasT] = [upload(e, gx, true), upload(e, R, true), upload(e, bias, true)];
      const options = { weights: 'stepwise', stepTiles: { bt: 8, ks } } as const;
      const { y, state } = fusedRnn(cell, gxT, RT, biasT, upload(e, s0), options);
      const what = `${kind} split ${ks}`;
      await expectGpuClose(y, ref.y, 1e-4, `${what} y`);
      await expectGpuClose(state, ref.state, 1e-4, `${what} state`);
      backward(y, upload(e, dy));
      await expectGpuClose(gxT.grad!, grads.dgx, 1e-4, `${what} dgx`);
      await expectGpuClose(RT.grad!, grads.dR, 1e-4, `${what} dR`);
      await expectGpuClose(biasT.grad!, grads.dbias, 1e-4, `${what} dbias`);
    }
  });

  it('bad shapes and oversized heads raise errors that name the cell and the problem', async () => {
    const e = await engine();
    const cell = FUSED_CELLS.gru;
    const gx = e.empty([2, 3, 3 * 8]);
    const bias = e.empty([4, 8]);
    expect(() => fusedRnn(cell, gx, e.empty([4, 2, 4, 4]), bias)).toThrow(
      /rnn\.gru: recurrent weight must be \[3, heads, D, D\]/,
    );
    expect(() => fusedRnn(cell, e.empty([2, 3, 20]), e.empty([3, 2, 4, 4]), bias)).toThrow(
      /rnn\.gru: input projections must be \[B, T, 3·8\]/,
    );
    expect(() => fusedRnn(cell, gx, e.empty([3, 2, 4, 4]), e.empty([3, 8]))).toThrow(/rnn\.gru: bias must be \[4,8\]/);
    const huge = e.ctx.limits.maxComputeInvocationsPerWorkgroup + 1;
    expect(() => fusedRnn(cell, e.empty([1, 1, 3 * huge]), e.empty([3, 1, huge, huge]), e.empty([4, huge]))).toThrow(
      /head size \d+/,
    );
  });
});
