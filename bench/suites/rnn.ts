// The rnn suite (protocol: ../shared/handbook/benchmarks.md, grid "rnn"):
//  1. fused LSTM and GRU, forward+backward of input projection + recurrence, B=16, T=1024,
//     hidden ∈ {256, 512, 1024} — dense (heads=1, like cuDNN's nn.LSTM/nn.GRU, rows named as in
//     bench/torch/rnn.py) and FlashRNN-style multi-head with 32-unit heads (R in workgroup memory);
//  2. ParaGRU / ParaLSTM recurrences forward+backward, Newton-parallel against our own sequential
//     kernel, B=16, hidden 256, T ∈ {1024, 4096, 16384}.
// Every configuration is checked before it is timed: the fused rows against the float64 reference on
// the first steps of batch row 0 (the recurrence is causal), the Newton rows against the sequential
// kernel on the whole sequence.

import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { linear } from '../../gpu/ops/matmul.js';
import { DIAG_CELLS, type DiagCellKind } from '../../gpu/ops/newton/diag-cells.js';
import { diagRnn, type DiagRnnMode } from '../../gpu/ops/newton/diag-rnn.js';
import { FUSED_CELLS, type FusedCellKind } from '../../gpu/ops/rnn/cells.js';
import { fusedRnn, type FusedRnnOptions } from '../../gpu/ops/rnn/fused-rnn.js';
import { fusedRnnRef } from '../../gpu/ops/rnn/fused-rnn.ref.js';
import { formatTimings } from '../../gpu/profile.js';
import type { Tensor } from '../../gpu/tensor.js';
import type { BenchRow, BenchSuite } from '../suite.js';
import { timeGpu } from '../timing.js';

const CHECK_STEPS = 4;

function upload(engine: Engine, t: CpuTensor, requiresGrad = true): Tensor {
  const tensor = engine.fromArray(t.data, t.shape);
  tensor.requiresGrad = requiresGrad;
  return engine.keep(tensor);
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return Number.isFinite(diff) ? diff / Math.max(scale, 1e-30) : Infinity;
}

async function benchFused(
  engine: Engine,
  kind: FusedCellKind,
  B: number,
  T: number,
  hidden: number,
  heads: number,
  options: FusedRnnOptions = {},
): Promise<BenchRow> {
  const cell = FUSED_CELLS[kind];
  const D = hidden / heads;
  const NI = cell.inputGates.length;
  const NR = cell.recurrentGates.length;
  const x = toFloat32(randn([B, T, hidden], 1));
  const w = toFloat32(randn([NI * hidden, hidden], 2, 1 / Math.sqrt(hidden)));
  const r = toFloat32(randn([NR, heads, D, D], 3, 1 / Math.sqrt(D)));
  const bias = toFloat32(randn([cell.gates.length, hidden], 4, 0.1));
  const inputs = [upload(engine, x), upload(engine, w), upload(engine, r), upload(engine, bias)];
  const dy = upload(engine, toFloat32(randn([B, T, hidden], 5)), false);
  try {
    // Check: the first steps of batch row 0 against the float64 reference.
    const y = await engine
      .noGrad(() => fusedRnn(cell, linear(inputs[0], inputs[1]), inputs[2], inputs[3], null, options).y)
      .read();
    const x0 = cpuTensor([1, CHECK_STEPS, hidden], x.data.subarray(0, CHECK_STEPS * hidden));
    const gx0 = cpuTensor([1, CHECK_STEPS, NI * hidden]);
    for (let t = 0; t < CHECK_STEPS; t++)
      for (let o = 0; o < NI * hidden; o++) {
        let acc = 0;
        for (let i = 0; i < hidden; i++) acc += x0.data[t * hidden + i] * w.data[o * hidden + i];
        gx0.data[t * NI * hidden + o] = acc;
      }
    const ref = fusedRnnRef(cell, gx0, r, bias).y;
    const checkError = relativeError(y.subarray(0, CHECK_STEPS * hidden), ref.data);
    if (!(checkError < 1e-3))
      throw new Error(`rnn bench ${kind} hidden=${hidden} heads=${heads}: check error ${checkError}`);

    engine.pool.resetPeak();
    const t = await timeGpu(
      engine,
      () => {
        const out = fusedRnn(cell, linear(inputs[0], inputs[1]), inputs[2], inputs[3], null, options);
        backward(out.y, dy);
        for (const p of inputs) p.grad = null;
      },
      { samples: 10 },
    );
    if (process.env.STATELAB_PROFILE === '1') {
      // One forward+backward with every kernel timed on the GPU (each dispatch in its own timed pass).
      engine.startProfile();
      const out = fusedRnn(cell, linear(inputs[0], inputs[1]), inputs[2], inputs[3], null, options);
      backward(out.y, dy);
      for (const p of inputs) p.grad = null;
      console.log(`${kind} hidden=${hidden} heads=${heads}\n${formatTimings(await engine.stopProfile(), 8)}`);
    }
    // Forward + backward ≈ 3× the forward's matrix products (input projection and recurrence).
    const flops = 3 * 2 * B * T * (NI * hidden * hidden + NR * hidden * D);
    return {
      suite: 'rnn',
      name: `${kind} fwd+bwd hidden=${hidden}${heads > 1 ? ` heads=${heads}` : ''}`,
      config: { B, T, hidden, heads, D },
      ms: t.ms,
      tflops: flops / (t.ms * 1e9),
      tokensPerSec: (B * T) / (t.ms / 1000),
      peakBytes: engine.pool.stats.peakBytesInUse,
      checkError,
      clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
    };
  } finally {
    for (const tensor of [...inputs, dy]) tensor.release();
    engine.pool.trim();
  }
}

async function benchDiag(engine: Engine, kind: DiagCellKind, B: number, T: number, d: number): Promise<BenchRow[]> {
  const cell = DIAG_CELLS[kind];
  const pre = upload(engine, toFloat32(randn([B, T, cell.pre.length * d], 11)));
  // ParaRNN's small init of the diagonal weights, N(0, 2/(5d)); the inputs dominate, as in training.
  const params = upload(engine, toFloat32(randn([cell.params.length, d], 12, Math.sqrt(2 / (5 * d)))));
  const dy = upload(engine, toFloat32(randn([B, T, d], 13)), false);
  const rows: BenchRow[] = [];
  try {
    const run = (mode: DiagRnnMode) => diagRnn(cell, pre, params, null, { mode, iterations: 8, tolerance: 1e-5 });
    const seq = await engine.noGrad(() => run('sequential').y).read();
    const newton = engine.noGrad(() => run('newton'));
    const checkError = relativeError(await newton.y.read(), seq);
    const outcome = await newton.report!.outcome;
    if (!(checkError < 1e-3))
      throw new Error(`rnn bench ${kind} T=${T}: Newton differs from sequential by ${checkError}`);
    const times: Record<string, number> = {};
    for (const mode of ['sequential', 'newton'] as const) {
      engine.pool.resetPeak();
      const t = await timeGpu(
        engine,
        () => {
          backward(run(mode).y, dy);
          pre.grad = null;
          params.grad = null;
        },
        { samples: T >= 16384 ? 3 : 10 },
      );
      times[mode] = t.ms;
      rows.push({
        suite: 'rnn',
        name: `${kind} fwd+bwd T=${T} ${mode}`,
        config: { B, T, hidden: d, mode },
        ms: t.ms,
        tokensPerSec: (B * T) / (t.ms / 1000),
        peakBytes: engine.pool.stats.peakBytesInUse,
        checkError: mode === 'newton' ? checkError : 0,
        clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
        note:
          mode === 'newton'
            ? `${(times.sequential / t.ms).toFixed(2)}× vs sequential; ${outcome.message}`
            : 'one invocation per (row, unit), exact',
      });
    }
    return rows;
  } finally {
    for (const tensor of [pre, params, dy]) tensor.release();
    engine.pool.trim();
  }
}

export const rnnSuite: BenchSuite = {
  name: 'rnn',
  async run(engine, { quick }) {
    const rows: BenchRow[] = [];
    const [B, T] = quick ? [2, 16] : [16, 1024];
    // RNN_STEP_TILES=16x16x64x0,4x16x0x8 times the dense step-wise rows with each tile shape, tu×bt×kc×ks
    // (ks > 0: the split-K kernels; a missing ks is 0, the staged kernels), hidden 256 included.
    const tileSets = (process.env.RNN_STEP_TILES ?? '').split(',').filter(Boolean);
    if (tileSets.length > 0) {
      for (const spec of tileSets) {
        const [tu, bt, kc, ks = 0] = spec.split('x').map(Number);
        const options = { weights: 'stepwise', stepTiles: { tu, bt, kc, ks } } as const;
        for (const kind of ['lstm', 'gru'] as const)
          for (const hidden of quick ? [32] : [256, 512, 1024]) {
            const row = await benchFused(engine, kind, B, T, hidden, 1, options);
            rows.push({ ...row, name: `${row.name} step tiles ${spec}` });
          }
      }
      return rows;
    }
    // RNN_ONLY=fused or RNN_ONLY=newton runs one half of the suite.
    const only = process.env.RNN_ONLY;
    for (const kind of only === 'newton' ? [] : (['lstm', 'gru'] as const)) {
      for (const hidden of quick ? [32, 64] : [256, 512, 1024]) {
        for (const heads of [1, hidden / (quick ? 16 : 32)])
          rows.push(await benchFused(engine, kind, B, T, hidden, heads));
      }
    }
    for (const kind of only === 'fused' ? [] : (['paragru', 'paralstm'] as const)) {
      for (const length of quick ? [64, 256] : [1024, 4096, 16384]) {
        rows.push(...(await benchDiag(engine, kind, quick ? 2 : 16, length, quick ? 16 : 256)));
      }
    }
    return rows;
  },
};

export default rnnSuite;
