// The layers suite for classes C and D (protocol: ../shared/handbook/benchmarks.md, grid "layers"):
// forward+backward of the mixer cores alone at B=8, T ∈ {1024, 2048}, d=512 as 4 heads of 128:
//  - delta rule (DeltaNet) and gated delta rule (Gated DeltaNet), chunked WY/UT kernels, against
//    PyTorch's eager fp32 naive recurrence (bench/torch/layers_delta.py, same row names);
//  - causal attention (flash kernels) against PyTorch's scaled_dot_product_attention in fp32;
//  - RWKV-7's generalized delta rule against the same eager naive recurrence in PyTorch: the fused
//    recurrent form (checkpointed backward; the row the PyTorch baseline shares) and the chunked WY-style
//    form (dplr-chunk.ts; chunk sizes from BENCH_DPLR_CHUNKS, default 32), fwd+bwd and forward alone,
//    plus the whole RWKV-7 mixer both ways at the training shape (B=64, T=256, d=256);
//    BENCH_ONLY=rwkv7 times these rows alone;
//  - forward-only rows for the fused recurrent delta rule and the sliding-window / FoX attention
//    variants (no PyTorch row: they document our own costs).
// Every configuration is checked before it is timed against the float64 reference on the first
// CHECK_T tokens of batch row 0 (both layers are causal, so a prefix is exact).

import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { attention, type AttentionOptions } from '../../gpu/ops/attention/attention.js';
import { attentionRef } from '../../gpu/ops/attention/attention.ref.js';
import { chunkDeltaRule } from '../../gpu/ops/delta/chunk.js';
import { deltaRuleRef } from '../../gpu/ops/delta/delta-rule.ref.js';
import { dplrDeltaRule, type DplrInputs } from '../../gpu/ops/delta/dplr.js';
import { dplrRef } from '../../gpu/ops/delta/dplr.ref.js';
import { chunkDplrDeltaRule } from '../../gpu/ops/delta/dplr-chunk.js';
import '../../gpu/nn/mixers/delta-rule/index.js';
import { mixerFactory, type MixerOptions } from '../../gpu/nn/mixer.js';
import { rwkv7Config } from '../../gpu/nn/mixers/delta-rule/rwkv7.js';
import { rwkv7Ref } from '../../gpu/nn/mixers/delta-rule/rwkv7.ref.js';
import { initialValues, paramView, type ParamMap } from '../../gpu/nn/module.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { fusedRecurrentDeltaRule } from '../../gpu/ops/delta/recurrent.js';
import { causalMatmul } from '../../gpu/ops/matmul.js';
import { softmax } from '../../gpu/ops/softmax.js';
import { permute, reshape } from '../../gpu/ops/shape.js';
import type { Tensor } from '../../gpu/tensor.js';
import type { BenchRow, BenchSuite } from '../suite.js';
import { timeGpu } from '../timing.js';

const CHECK_T = 48;

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

/** Rows [b = 0, t < T'] of a [B, T, ...] tensor. */
function prefix(x: CpuTensor, length: number): CpuTensor {
  const [, T, ...rest] = x.shape;
  const inner = x.data.length / (x.shape[0] * T);
  return cpuTensor([1, length, ...rest], x.data.subarray(0, length * inner));
}

function unitRows(x: CpuTensor): CpuTensor {
  const K = x.shape[x.shape.length - 1];
  const out = cpuTensor(x.shape, x.data);
  for (let r = 0; r < x.data.length / K; r++) {
    const norm = Math.hypot(...x.data.subarray(r * K, (r + 1) * K));
    for (let i = 0; i < K; i++) out.data[r * K + i] /= norm;
  }
  return out;
}

async function benchDelta(
  engine: Engine,
  B: number,
  T: number,
  H: number,
  K: number,
  gated: boolean,
): Promise<BenchRow[]> {
  const name = gated ? 'gated_delta_rule' : 'delta_rule';
  const cpu = {
    q: toFloat32(randn([B, T, H, K], 1)),
    k: toFloat32(unitRows(randn([B, T, H, K], 2))),
    v: toFloat32(randn([B, T, H, K], 3)),
    beta: toFloat32(uniform([B, T, H], 4, 0.05, 1)),
    g: toFloat32(uniform([B, T, H], 5, -0.3, -0.01)),
  };
  const q = upload(engine, cpu.q);
  const k = upload(engine, cpu.k);
  const v = upload(engine, cpu.v);
  const beta = upload(engine, cpu.beta);
  const g = gated ? upload(engine, cpu.g) : undefined;
  const dO = upload(engine, toFloat32(randn([B, T, H, K], 6)), false);
  const inputs = [q, k, v, beta, ...(g ? [g] : [])];
  const rows: BenchRow[] = [];
  try {
    const y = await engine.noGrad(() => chunkDeltaRule(q, k, v, beta, { g }).o).read();
    const ref = deltaRuleRef({
      q: prefix(cpu.q, CHECK_T),
      k: prefix(cpu.k, CHECK_T),
      v: prefix(cpu.v, CHECK_T),
      beta: prefix(cpu.beta, CHECK_T),
      g: gated ? prefix(cpu.g, CHECK_T) : undefined,
      scale: 1 / Math.sqrt(K),
    }).o;
    const checkError = relativeError(y.subarray(0, ref.data.length), ref.data);
    if (!(checkError < 1e-3)) throw new Error(`layers-delta bench ${name} T=${T}: check error ${checkError}`);
    const config = { B, T, H, K, V: K, chunk: 32 };
    engine.pool.resetPeak();
    const train = await timeGpu(engine, () => {
      backward(chunkDeltaRule(q, k, v, beta, { g }).o, dO);
      for (const t of inputs) t.grad = null;
    });
    rows.push({
      suite: 'layers-delta',
      name: `${name} fwd+bwd T=${T}`,
      config,
      ms: train.ms,
      tokensPerSec: (B * T) / (train.ms / 1000),
      peakBytes: engine.pool.stats.peakBytesInUse,
      checkError,
      clock: `${train.clock} ×${train.iters} (host ${train.hostMs.toFixed(3)} ms)`,
      note: 'chunked WY/UT (3 forward + 6 backward dispatches)',
    });
    for (const [mode, run] of [
      ['chunked', () => chunkDeltaRule(q, k, v, beta, { g })],
      ['fused recurrent', () => fusedRecurrentDeltaRule(q, k, v, beta, { g })],
    ] as const) {
      const t = await timeGpu(engine, () => void engine.noGrad(run));
      rows.push({
        suite: 'layers-delta',
        name: `${name} fwd ${mode} T=${T}`,
        config,
        ms: t.ms,
        tokensPerSec: (B * T) / (t.ms / 1000),
        clock: `${t.clock} ×${t.iters}`,
      });
    }
    return rows;
  } finally {
    for (const t of [...inputs, dO]) t.release();
    engine.pool.trim();
  }
}

/** Chunk sizes of the chunked RWKV-7 rows: BENCH_DPLR_CHUNKS=16,32,64 (default 32). */
function dplrChunks(): number[] {
  return (process.env.BENCH_DPLR_CHUNKS ?? '32').split(',').map(Number);
}

async function benchDplr(engine: Engine, B: number, T: number, H: number, K: number): Promise<BenchRow[]> {
  // RWKV-7's domain: a = −κ̂, b = κ̂ ⊙ α, log w ∈ [−0.6, 0).
  const kappa = unitRows(randn([B, T, H, K], 21));
  const alpha = uniform([B, T, H, K], 22, 0, 1);
  const cpu = {
    q: toFloat32(randn([B, T, H, K], 23)),
    k: toFloat32(randn([B, T, H, K], 24, 0.1)),
    v: toFloat32(randn([B, T, H, K], 25)),
    logw: toFloat32(uniform([B, T, H, K], 26, -0.6, -0.01)),
    a: toFloat32(
      cpuTensor(
        kappa.shape,
        kappa.data.map((x) => -x),
      ),
    ),
    b: toFloat32(
      cpuTensor(
        kappa.shape,
        kappa.data.map((x, i) => x * alpha.data[i]),
      ),
    ),
  };
  const x: DplrInputs = {
    q: upload(engine, cpu.q),
    k: upload(engine, cpu.k),
    v: upload(engine, cpu.v),
    logw: upload(engine, cpu.logw),
    a: upload(engine, cpu.a),
    b: upload(engine, cpu.b),
  };
  const dO = upload(engine, toFloat32(randn([B, T, H, K], 27)), false);
  const ref = dplrRef({
    q: prefix(cpu.q, CHECK_T),
    k: prefix(cpu.k, CHECK_T),
    v: prefix(cpu.v, CHECK_T),
    logw: prefix(cpu.logw, CHECK_T),
    a: prefix(cpu.a, CHECK_T),
    b: prefix(cpu.b, CHECK_T),
  }).o;
  const forms: [string, string, (x: DplrInputs) => Tensor][] = [
    ['', 'generalized delta rule, fused recurrent (checkpoint every 32 tokens)', (x) => dplrDeltaRule(x).o],
    ...dplrChunks().map((chunk): [string, string, (x: DplrInputs) => Tensor] => [
      `chunk=${chunk} `,
      `generalized delta rule, chunked WY-style (chunk ${chunk}: batched matmuls, f32 triangular solve, chunk-state scan)`,
      (x) => chunkDplrDeltaRule(x, { chunkSize: chunk }).o,
    ]),
  ];
  const rows: BenchRow[] = [];
  try {
    for (const [label, note, run] of forms) {
      const y = await engine.noGrad(() => run(x)).read();
      const checkError = relativeError(y.subarray(0, ref.data.length), ref.data);
      if (!(checkError < 1e-3)) throw new Error(`layers-delta bench rwkv7 ${label}T=${T}: check error ${checkError}`);
      engine.pool.resetPeak();
      const train = await timeGpu(engine, () => {
        backward(run(x), dO);
        for (const input of Object.values(x)) input.grad = null;
      });
      const config = { B, T, H, K, V: K };
      rows.push({
        suite: 'layers-delta',
        name: `rwkv7 ${label}fwd+bwd T=${T}`,
        config,
        ms: train.ms,
        tokensPerSec: (B * T) / (train.ms / 1000),
        peakBytes: engine.pool.stats.peakBytesInUse,
        checkError,
        clock: `${train.clock} ×${train.iters} (host ${train.hostMs.toFixed(3)} ms)`,
        note,
      });
      const forward = await timeGpu(engine, () => void engine.noGrad(() => run(x)));
      rows.push({
        suite: 'layers-delta',
        name: `rwkv7 ${label || 'recurrent '}fwd T=${T}`,
        config,
        ms: forward.ms,
        tokensPerSec: (B * T) / (forward.ms / 1000),
        clock: `${forward.clock} ×${forward.iters}`,
      });
    }
    return rows;
  } finally {
    for (const t of [...Object.values(x), dO]) t.release();
    engine.pool.trim();
  }
}

/**
 * The whole RWKV-7 mixer (registry defaults: heads of 64), forward+backward, with each implementation of
 * its recurrence — the shape at which issue 4 measured ~1 training step/s (B=64, T=256, d=256).
 */
async function benchRwkv7Mixer(engine: Engine, B: number, T: number, d: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const forms: [string, MixerOptions][] = [
    ['recurrent', { implementation: 'recurrent' }],
    ...dplrChunks().map((chunk): [string, MixerOptions] => [
      `chunk=${chunk}`,
      { implementation: 'chunk', chunk_size: String(chunk) },
    ]),
  ];
  const specs = mixerFactory('rwkv7').create(d, {}).params();
  const cpuParams: RefParams = new Map(specs.map((spec) => [spec.name, toFloat32(initialValues(spec, 7))]));
  // o_proj starts at zero (fla's init), which would make every upstream gradient vanish: use noise.
  cpuParams.set('o_proj.weight', toFloat32(randn([d, d], 8, 0.02)));
  const params: ParamMap = new Map([...cpuParams].map(([name, t]) => [name, upload(engine, t)]));
  const cpuX = toFloat32(randn([B, T, d], 3));
  const x = upload(engine, cpuX);
  const dy = upload(engine, toFloat32(randn([B, T, d], 4)), false);
  const p = paramView(params, '');
  try {
    const ref = rwkv7Ref(rwkv7Config(d, {}), cpuParams, prefix(cpuX, CHECK_T)).y;
    for (const [label, options] of forms) {
      const mixer = mixerFactory('rwkv7').create(d, options);
      const y = await engine.noGrad(() => mixer.forward(p, x).y).read();
      const checkError = relativeError(y.subarray(0, ref.data.length), ref.data);
      if (!(checkError < 1e-3)) throw new Error(`layers-delta bench rwkv7 mixer ${label}: check error ${checkError}`);
      engine.pool.resetPeak();
      const t = await timeGpu(engine, () => {
        backward(mixer.forward(p, x).y, dy);
        for (const tensor of [x, ...params.values()]) tensor.grad = null;
      });
      rows.push({
        suite: 'layers-delta',
        name: `rwkv7 mixer ${label} fwd+bwd B=${B} T=${T} d=${d}`,
        config: { B, T, d, ...options },
        ms: t.ms,
        tokensPerSec: (B * T) / (t.ms / 1000),
        peakBytes: engine.pool.stats.peakBytesInUse,
        checkError,
        clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
        note: 'whole mixer (token shift, LoRAs, norms), registry defaults otherwise; no PyTorch row',
      });
    }
    return rows;
  } finally {
    for (const t of [x, dy, ...params.values()]) t.release();
    engine.pool.trim();
  }
}

async function benchAttention(engine: Engine, B: number, T: number, H: number, D: number): Promise<BenchRow[]> {
  const cpu = {
    q: toFloat32(randn([B, T, H, D], 11)),
    k: toFloat32(randn([B, T, H, D], 12)),
    v: toFloat32(randn([B, T, H, D], 13)),
  };
  const q = upload(engine, cpu.q);
  const k = upload(engine, cpu.k);
  const v = upload(engine, cpu.v);
  const dO = upload(engine, toFloat32(randn([B, T, H, D], 14)), false);
  // FoX bias: a decreasing cumulative log forget gate per head.
  const steps = uniform([B, T, H], 15, -0.05, -0.001);
  const cum = cpuTensor(steps.shape);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      let acc = 0;
      for (let t = 0; t < T; t++) cum.data[(b * T + t) * H + h] = acc += steps.data[(b * T + t) * H + h];
    }
  const fox = upload(engine, toFloat32(cum));
  const rows: BenchRow[] = [];
  try {
    const y = await engine.noGrad(() => attention(q, k, v)).read();
    const ref = attentionRef({
      q: prefix(cpu.q, CHECK_T),
      k: prefix(cpu.k, CHECK_T),
      v: prefix(cpu.v, CHECK_T),
      scale: 1 / Math.sqrt(D),
      window: 0,
    });
    const checkError = relativeError(y.subarray(0, ref.data.length), ref.data);
    if (!(checkError < 1e-3)) throw new Error(`layers-delta bench attention T=${T}: check error ${checkError}`);
    const variants: [string, AttentionOptions, boolean][] = [
      ['attention fwd+bwd', {}, true],
      ['attention fwd', {}, false],
      ['attention window=256 fwd+bwd', { window: 256 }, true],
      ['attention fox fwd+bwd', { cumLogForget: fox }, true],
      ['attention flash fwd+bwd', { implementation: 'flash' }, true],
      ['attention flash fwd', { implementation: 'flash' }, false],
    ];
    for (const [label, options, train] of variants) {
      engine.pool.resetPeak();
      const t = await timeGpu(engine, () => {
        if (train) {
          backward(attention(q, k, v, options), dO);
          for (const x of [q, k, v, fox]) x.grad = null;
        } else engine.noGrad(() => attention(q, k, v, options));
      });
      // Causal: half of the T×T scores; QKᵀ and PV forward, about 2.5× that for the backward.
      const window = options.window ?? 0;
      const pairs = window > 0 ? T * Math.min(window, T) : (T * (T + 1)) / 2;
      const flops = 4 * B * H * pairs * D * (train ? 3.5 : 1);
      rows.push({
        suite: 'layers-delta',
        name: `${label} T=${T}`,
        config: { B, T, H, D, window },
        ms: t.ms,
        tflops: flops / (t.ms * 1e9),
        tokensPerSec: (B * T) / (t.ms / 1000),
        peakBytes: engine.pool.stats.peakBytesInUse,
        checkError,
        clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
      });
    }
    if (process.env.BENCH_ONLY === 'attention') rows.push(...(await denseParts(engine, q, k, v, B, T, H, D)));
    return rows;
  } finally {
    for (const t of [q, k, v, dO, fox]) t.release();
    engine.pool.trim();
  }
}

/** The dense path's forward, piece by piece (where its time goes): regrouping, the two banded products, a softmax. */
async function denseParts(engine: Engine, q: Tensor, k: Tensor, v: Tensor, B: number, T: number, H: number, D: number) {
  const rows: BenchRow[] = [];
  const part = async (name: string, flops: number, fn: () => Tensor) => {
    const t = await timeGpu(engine, () => engine.noGrad(() => fn().release()));
    rows.push({
      suite: 'layers-delta',
      name: `attention part: ${name} T=${T}`,
      config: { B, T, H, D },
      ms: t.ms,
      tflops: flops ? flops / (t.ms * 1e9) : undefined,
      clock: `${t.clock} ×${t.iters}`,
    });
  };
  const q5 = engine.noGrad(() => permute(reshape(q, [B, T, H, 1, D]), [0, 2, 3, 1, 4]));
  const k5 = engine.noGrad(() => reshape(permute(k, [0, 2, 1, 3]), [B, H, 1, T, D]));
  const v5 = engine.noGrad(() => reshape(permute(v, [0, 2, 1, 3]), [B, H, 1, T, D]));
  const s = engine.noGrad(() => causalMatmul(q5, k5, { mode: 'upper', offset: 0 }, { transB: true }));
  const half = B * H * T * T * D; // 2·(T²/2)·D per head: the causal half of one product
  await part('permute q', 0, () => permute(reshape(q, [B, T, H, 1, D]), [0, 2, 3, 1, 4]));
  await part('QK^T banded', half, () => causalMatmul(q5, k5, { mode: 'upper', offset: 0 }, { transB: true }));
  await part('QK^T full', 2 * half, () => causalMatmul(q5, k5, { mode: 'kEnd', offset: T }, { transB: true }));
  await part('softmax (plain, full rows)', 0, () => softmax(s));
  await part('PV banded', half, () => causalMatmul(s, v5, { mode: 'kEnd', offset: 0 }));
  for (const t of [q5, k5, v5, s]) t.release();
  return rows;
}

export const layersDeltaSuite: BenchSuite = {
  name: 'layers-delta',
  async run(engine, { quick }) {
    const rows: BenchRow[] = [];
    const [B, H, K] = quick ? [2, 2, 16] : [8, 4, 128];
    // BENCH_ONLY=attention (read by the PyTorch side too) times the attention rows alone; rwkv7 the RWKV-7 ones.
    const only = process.env.BENCH_ONLY;
    for (const T of quick ? [64, 100] : [1024, 2048]) {
      if (!only) {
        rows.push(...(await benchDelta(engine, B, T, H, K, false)));
        rows.push(...(await benchDelta(engine, B, T, H, K, true)));
      }
      if (!only || only === 'rwkv7') rows.push(...(await benchDplr(engine, B, T, H, K)));
      if (!only || only === 'attention') rows.push(...(await benchAttention(engine, B, T, H, K)));
    }
    if (!only || only === 'rwkv7') {
      const [mB, mT, md] = quick ? [2, 64, 32] : [64, 256, 256];
      rows.push(...(await benchRwkv7Mixer(engine, mB, mT, md)));
    }
    return rows;
  },
};

export default layersDeltaSuite;
