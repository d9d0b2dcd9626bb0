// The layers suite for class A (protocol: ../shared/handbook/benchmarks.md, grid "layers"): forward +
// backward of each diagonal-recurrence mixer alone (projections, gates, norms included, as the registry
// builds it) at B=8, T ∈ {1024, 2048}, d=512; Hawk with 4 heads of 128. The PyTorch side is
// bench/torch/layers_diagonal.py with the same row names. Before timing, each configuration's output
// is checked against the float64 reference on the first CHECK_T tokens of batch row 0 (every mixer is
// causal, so the prefix is exact), with the mixer's own initialization as parameters.
//
// Sizes: S4D runs with d_state 16 (8 complex modes per channel) rather than the reference's 64 — the
// recurrent view materializes [B, T, H·N/2, 2] states, 2.1 GB per tensor at N = 64, T = 2048.

import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import '../../gpu/nn/mixers/linear-diagonal/index.js';
import { mixerFactory, type MixerOptions } from '../../gpu/nn/mixer.js';
import { initialValues, paramView, type ParamMap } from '../../gpu/nn/module.js';
import { hawkRef } from '../../gpu/nn/mixers/linear-diagonal/hawk.ref.js';
import { hgrnRef } from '../../gpu/nn/mixers/linear-diagonal/hgrn.ref.js';
import { lruRef } from '../../gpu/nn/mixers/linear-diagonal/lru.ref.js';
import { mambaRef } from '../../gpu/nn/mixers/linear-diagonal/mamba.ref.js';
import { minRnnRef } from '../../gpu/nn/mixers/linear-diagonal/min-rnn.ref.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { s4dRef } from '../../gpu/nn/mixers/linear-diagonal/s4d.ref.js';
import type { BenchRow, BenchSuite } from '../suite.js';
import { timeGpu } from '../timing.js';

const CHECK_T = 48;

interface Family {
  kind: string;
  options: MixerOptions;
  reference(params: RefParams, x: CpuTensor): CpuTensor;
}

const FAMILIES: Family[] = [
  { kind: 'mingru', options: {}, reference: (p, x) => minRnnRef(p, { kind: 'mingru', expansion: 1 }, x).y },
  { kind: 'minlstm', options: {}, reference: (p, x) => minRnnRef(p, { kind: 'minlstm', expansion: 1 }, x).y },
  { kind: 'hgrn', options: {}, reference: (p, x) => hgrnRef(p, { expandRatio: 1, lowerBound: 0, eps: 1e-5 }, x).y },
  { kind: 'hawk', options: { num_heads: 4 }, reference: (p, x) => hawkRef(p, x).y },
  { kind: 'lru', options: { d_state: 64 }, reference: (p, x) => lruRef(p, x).y },
  { kind: 's4d', options: { d_state: 16 }, reference: (p, x) => s4dRef(p, x).y },
  {
    kind: 'mamba',
    options: { d_state: 16, expand: 2 },
    reference: (p, x) => mambaRef(p, { negativeEigenvalues: false }, x).y,
  },
];

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return Number.isFinite(diff) ? diff / Math.max(scale, 1e-30) : Infinity;
}

async function benchFamily(engine: Engine, f: Family, B: number, T: number, d: number): Promise<BenchRow> {
  const mixer = mixerFactory(f.kind).create(d, f.options);
  const cpuParams: RefParams = new Map();
  const params: ParamMap = new Map();
  for (const spec of mixer.params()) {
    const values = toFloat32(initialValues(spec, 5));
    cpuParams.set(spec.name, values);
    const t = engine.keep(engine.fromArray(values.data, spec.shape));
    t.requiresGrad = true;
    params.set(spec.name, t);
  }
  const xCpu = toFloat32(randn([B, T, d], 1));
  const x = engine.keep(engine.fromArray(xCpu.data, xCpu.shape));
  x.requiresGrad = true;
  const dy = engine.keep(engine.fromArray(toFloat32(randn([B, T, d], 2)).data, [B, T, d]));
  const p = paramView(params, '');
  try {
    const y = await engine.noGrad(() => engine.tidy(() => mixer.forward(p, x).y)).read();
    const prefix = cpuTensor([1, CHECK_T, d], xCpu.data.subarray(0, CHECK_T * d));
    const expected = f.reference(cpuParams, prefix);
    const checkError = relativeError(y.subarray(0, CHECK_T * d), expected.data);
    if (!(checkError < 1e-3)) throw new Error(`layers-diagonal bench ${f.kind} T=${T}: check error ${checkError}`);
    engine.pool.resetPeak();
    const t = await timeGpu(engine, () => {
      backward(mixer.forward(p, x).y, dy);
      for (const param of params.values()) param.grad = null;
      x.grad = null;
    });
    return {
      suite: 'layers-diagonal',
      name: `${f.kind} fwd+bwd T=${T}`,
      config: { B, T, d, ...f.options, stateFloats: mixer.stateSize() } as Record<string, number | string>,
      ms: t.ms,
      tflops: (3 * mixer.flopsPerToken() * B * T) / (t.ms * 1e9),
      tokensPerSec: (B * T) / (t.ms / 1000),
      peakBytes: engine.pool.stats.peakBytesInUse,
      checkError,
      clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
      note: 'mixer as registered (projections, gates, norms); chunked scan, fp32',
    };
  } finally {
    for (const t of [...params.values(), x, dy]) t.release();
    engine.pool.trim();
  }
}

export const layersDiagonalSuite: BenchSuite = {
  name: 'layers-diagonal',
  async run(engine, { quick }) {
    const rows: BenchRow[] = [];
    const [B, d] = quick ? [2, 32] : [8, 512];
    for (const T of quick ? [64, 100] : [1024, 2048]) {
      for (const family of FAMILIES) rows.push(await benchFamily(engine, family, B, T, d));
    }
    return rows;
  },
};

export default layersDiagonalSuite;
