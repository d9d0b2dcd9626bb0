// The layers suite for class B (protocol: ../shared/handbook/benchmarks.md, grid "layers"): forward +
// backward at B=8, T ∈ {1024, 2048}, 4 heads of 128 (d=512).
//  - "<family> fwd+bwd T=…": each family's recurrence core — the op its mixer calls, with the family's
//    decay — against bench/torch/layers_matrix.py's eager fp32 naive recurrence of the same core (same
//    row names). For GLA and Mamba-2, "<family> fwd+bwd vs eager chunked T=…" repeats our time
//    against PyTorch's eager chunked form. GSA runs with 16 slots (see the rows' note).
//  - "<family> mixer fwd+bwd T=…": the whole mixer as the registry builds it (projections, gates,
//    convs, norms) at d_model 512 — our own cost, no PyTorch row.
// Every core is checked before timing against a float64 loop on the first CHECK_T tokens of batch
// row 0 (everything here is causal, so the prefix is exact); every mixer against its float64 reference.

import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import type { Engine } from '../../gpu/engine.js';
import { chunkGla } from '../../gpu/ops/gla/chunk.js';
import { glaRef } from '../../gpu/ops/gla/gla.ref.js';
import '../../gpu/nn/mixers/linear-matrix/index.js';
import { mixerFactory, type MixerOptions } from '../../gpu/nn/mixer.js';
import { initialValues, paramView, type ParamMap } from '../../gpu/nn/module.js';
import type { RefParams } from '../../gpu/nn/mixers/linear-diagonal/ref-utils.js';
import { gsaCell } from '../../gpu/nn/mixers/linear-matrix/gsa.js';
import { gsaConfig } from '../../gpu/nn/mixers/linear-matrix/gsa.js';
import { gsaRef } from '../../gpu/nn/mixers/linear-matrix/gsa.ref.js';
import { glaConfig } from '../../gpu/nn/mixers/linear-matrix/gla.js';
import { glaMixerRef } from '../../gpu/nn/mixers/linear-matrix/gla.ref.js';
import { hgrn2Config } from '../../gpu/nn/mixers/linear-matrix/hgrn2.js';
import { hgrn2Ref } from '../../gpu/nn/mixers/linear-matrix/hgrn2.ref.js';
import { linearAttentionConfig } from '../../gpu/nn/mixers/linear-matrix/linear-attention.js';
import { linearAttentionRef } from '../../gpu/nn/mixers/linear-matrix/linear-attention.ref.js';
import { mamba2Config } from '../../gpu/nn/mixers/linear-matrix/mamba2.js';
import { mamba2Ref } from '../../gpu/nn/mixers/linear-matrix/mamba2.ref.js';
import { mlstmCell, mlstmConfig } from '../../gpu/nn/mixers/linear-matrix/mlstm.js';
import { mlstmRef } from '../../gpu/nn/mixers/linear-matrix/mlstm.ref.js';
import { retentionLogDecay, retnetConfig } from '../../gpu/nn/mixers/linear-matrix/retnet.js';
import { retnetRef } from '../../gpu/nn/mixers/linear-matrix/retnet.ref.js';
import { rwkv6Config, rwkv6Recurrence } from '../../gpu/nn/mixers/linear-matrix/rwkv6.js';
import { rwkv6Ref } from '../../gpu/nn/mixers/linear-matrix/rwkv6.ref.js';
import type { Tensor } from '../../gpu/tensor.js';
import type { BenchRow, BenchSuite } from '../suite.js';
import { timeGpu } from '../timing.js';

const CHECK_T = 48;
const SUITE = 'layers-matrix';
const GSA_SLOTS = 16;

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return Number.isFinite(diff) ? diff / Math.max(scale, 1e-30) : Infinity;
}

/** Rows [b = 0, t < length] of a [B, T, ...] tensor. */
function prefix(x: CpuTensor, length: number): CpuTensor {
  const [B, T, ...rest] = x.shape;
  const inner = x.data.length / (B * T);
  return cpuTensor([1, length, ...rest], x.data.subarray(0, length * inner));
}

const map = (x: CpuTensor, f: (v: number) => number) => cpuTensor(x.shape, x.data.map(f));

// ---------------------------------------------------------------- float64 loops of the cores

/** RWKV-6: o = rᵀ(S + Diag(u) k vᵀ), S ← Diag(exp logw) S + k vᵀ (scale 1), batch row 0. */
function rwkv6CoreRef(x: Record<string, CpuTensor>): CpuTensor {
  const [, T, H, K] = x.r.shape;
  const V = x.v.shape[3];
  const o = cpuTensor([1, T, H, V]);
  for (let h = 0; h < H; h++) {
    const S = new Float64Array(K * V);
    for (let t = 0; t < T; t++) {
      const row = t * H + h;
      for (let c = 0; c < V; c++) {
        let acc = 0;
        for (let d = 0; d < K; d++) {
          const kv = x.k.data[row * K + d] * x.v.data[row * V + c];
          acc += x.r.data[row * K + d] * (S[d * V + c] + x.u.data[h * K + d] * kv);
        }
        o.data[row * V + c] = acc;
      }
      for (let d = 0; d < K; d++) {
        const w = Math.exp(x.logw.data[row * K + d]);
        for (let c = 0; c < V; c++) S[d * V + c] = w * S[d * V + c] + x.k.data[row * K + d] * x.v.data[row * V + c];
      }
    }
  }
  return o;
}

/** fla's naive_recurrent_mlstm from m = −∞, batch row 0. */
function mlstmCoreRef(x: Record<string, CpuTensor>): CpuTensor {
  const [, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const h = cpuTensor([1, T, H, V]);
  for (let hd = 0; hd < H; hd++) {
    const C = new Float64Array(K * V);
    const n = new Float64Array(K);
    let m = -Infinity;
    for (let t = 0; t < T; t++) {
      const row = t * H + hd;
      const logF = m + x.logf.data[row];
      m = Math.max(logF, x.ig.data[row]);
      const [i, f] = [Math.exp(x.ig.data[row] - m), Math.exp(logF - m)];
      for (let d = 0; d < K; d++) {
        const k = x.k.data[row * K + d] / Math.sqrt(K);
        for (let c = 0; c < V; c++) C[d * V + c] = f * C[d * V + c] + i * k * x.v.data[row * V + c];
        n[d] = f * n[d] + i * k;
      }
      let z = 0;
      for (let d = 0; d < K; d++) z += n[d] * x.q.data[row * K + d];
      const denominator = Math.max(Math.abs(z), Math.exp(-m) + 1e-6);
      for (let c = 0; c < V; c++) {
        let acc = 0;
        for (let d = 0; d < K; d++) acc += C[d * V + c] * x.q.data[row * K + d];
        h.data[row * V + c] = acc / denominator;
      }
    }
  }
  return h;
}

/** fla's naive_recurrent_gsa (scale 1), batch row 0. */
function gsaCoreRef(x: Record<string, CpuTensor>): CpuTensor {
  const [, T, H, K] = x.q.shape;
  const V = x.v.shape[3];
  const M = x.f.shape[3];
  const o = cpuTensor([1, T, H, V]);
  for (let h = 0; h < H; h++) {
    const Hk = new Float64Array(K * M);
    const Hv = new Float64Array(M * V);
    for (let t = 0; t < T; t++) {
      const row = t * H + h;
      const alpha = Array.from({ length: M }, (_, m) => Math.exp(x.f.data[row * M + m]));
      const s = alpha.map((a) => 1 - a);
      for (let d = 0; d < K; d++)
        for (let m = 0; m < M; m++) Hk[d * M + m] = Hk[d * M + m] * alpha[m] + x.k.data[row * K + d] * s[m];
      const ok = Array.from({ length: M }, (_, m) => {
        let acc = 0;
        for (let d = 0; d < K; d++) acc += x.q.data[row * K + d] * Hk[d * M + m];
        return acc;
      });
      const top = Math.max(...ok);
      const e = ok.map((v) => Math.exp(v - top));
      const total = e.reduce((a, b) => a + b, 0);
      for (let m = 0; m < M; m++)
        for (let c = 0; c < V; c++) Hv[m * V + c] = alpha[m] * Hv[m * V + c] + s[m] * x.v.data[row * V + c];
      for (let c = 0; c < V; c++) {
        let acc = 0;
        for (let m = 0; m < M; m++) acc += (e[m] / total) * Hv[m * V + c];
        o.data[row * V + c] = acc;
      }
    }
  }
  return o;
}

// ---------------------------------------------------------------- cores

interface Core {
  family: string;
  note: string;
  /** float64 inputs [B, T, H, ·] in the family's domain. */
  inputs(B: number, T: number, H: number, K: number): Record<string, CpuTensor>;
  run(x: Record<string, Tensor>): Tensor;
  reference(x: Record<string, CpuTensor>): CpuTensor;
  /** Also report against PyTorch's eager chunked form. */
  chunkedBaseline?: boolean;
}

const qkv = (B: number, T: number, H: number, K: number, seed: number) => ({
  q: randn([B, T, H, K], seed),
  k: randn([B, T, H, K], seed + 1),
  v: randn([B, T, H, K], seed + 2),
});

const glaOf = (x: Record<string, CpuTensor>, scale?: number) =>
  glaRef({ q: x.q, k: x.k, v: x.v, g: x.g, scale: scale ?? 1 / Math.sqrt(x.q.shape[3]) }).o;

const CORES: Core[] = [
  {
    family: 'linear_attn',
    note: 'chunked, no decay',
    inputs: (B, T, H, K) => qkv(B, T, H, K, 1),
    run: (x) => chunkGla(x.q, x.k, x.v).o,
    reference: (x) => glaOf(x),
  },
  {
    family: 'retnet',
    note: 'chunked, fixed scalar decay 1 − 2^(−5−h)',
    inputs: (B, T, H, K) => {
      const g = cpuTensor([B, T, H]);
      const decay = retentionLogDecay(H);
      for (let i = 0; i < g.data.length; i++) g.data[i] = decay[i % H];
      return { ...qkv(B, T, H, K, 11), g };
    },
    run: (x) => chunkGla(x.q, x.k, x.v, { g: x.g }).o,
    reference: (x) => glaOf(x),
  },
  {
    family: 'gla',
    note: 'chunked, per-channel decay',
    inputs: (B, T, H, K) => ({ ...qkv(B, T, H, K, 21), g: uniform([B, T, H, K], 24, -0.3, -0.01) }),
    run: (x) => chunkGla(x.q, x.k, x.v, { g: x.g }).o,
    reference: (x) => glaOf(x),
    chunkedBaseline: true,
  },
  {
    family: 'hgrn2',
    note: 'chunked, per-channel decay λ, keys 1 − λ',
    inputs: (B, T, H, K) => {
      const g = uniform([B, T, H, K], 34, -0.3, -0.01);
      return { ...qkv(B, T, H, K, 31), k: map(g, (v) => 1 - Math.exp(v)), g };
    },
    run: (x) => chunkGla(x.q, x.k, x.v, { g: x.g }).o,
    reference: (x) => glaOf(x),
  },
  {
    family: 'mamba2',
    note: 'chunked, scalar decay dt·A per head, scale 1 (SSD)',
    inputs: (B, T, H, K) => ({ ...qkv(B, T, H, K, 41), g: uniform([B, T, H], 44, -0.3, -0.01) }),
    run: (x) => chunkGla(x.q, x.k, x.v, { g: x.g, scale: 1 }).o,
    reference: (x) => glaOf(x, 1),
    chunkedBaseline: true,
  },
  {
    family: 'rwkv6',
    note: 'chunked one position late + bonus (scale 1)',
    inputs: (B, T, H, K) => ({
      r: randn([B, T, H, K], 51),
      k: randn([B, T, H, K], 52),
      v: randn([B, T, H, K], 53),
      logw: uniform([B, T, H, K], 54, -0.6, -0.01),
      u: randn([H, K], 55, 0.5),
    }),
    run: (x) => rwkv6Recurrence({ r: x.r, k: x.k, v: x.v, logw: x.logw, u: x.u }, {}, false).o,
    reference: (x) => rwkv6CoreRef(x),
  },
  {
    family: 'mlstm',
    note: 'stabilizer scan + chunked scalar decay with the normalizer as a value column',
    inputs: (B, T, H, K) => ({
      ...qkv(B, T, H, K, 61),
      ig: randn([B, T, H], 64),
      logf: map(uniform([B, T, H], 65, 1, 6), (f) => -Math.log1p(Math.exp(-f))),
    }),
    run: (x) => mlstmCell({ q: x.q, k: x.k, v: x.v, ig: x.ig, logf: x.logf }, undefined, { recurrent: false }).h,
    reference: (x) => mlstmCoreRef(x),
  },
  {
    family: 'gsa',
    note: `two passes, ${GSA_SLOTS} slots (pass 1 as one scalar-decay head per slot)`,
    inputs: (B, T, H, K) => ({
      q: randn([B, T, H, K], 71, 0.3),
      k: randn([B, T, H, K], 72, 0.3),
      v: randn([B, T, H, K], 73),
      f: uniform([B, T, H, GSA_SLOTS], 74, -0.3, -0.01),
    }),
    run: (x) => gsaCell({ q: x.q, k: x.k, v: x.v, f: x.f }, undefined, { recurrent: false }).o,
    reference: (x) => gsaCoreRef(x),
  },
];

function keepUpload(engine: Engine, t: CpuTensor, requiresGrad: boolean): Tensor {
  const tensor = engine.fromArray(t.data, t.shape);
  tensor.requiresGrad = requiresGrad;
  return engine.keep(tensor);
}

async function benchCore(engine: Engine, core: Core, B: number, T: number, H: number, K: number): Promise<BenchRow[]> {
  const cpu = Object.fromEntries(Object.entries(core.inputs(B, T, H, K)).map(([n, t]) => [n, toFloat32(t)]));
  const x = Object.fromEntries(Object.entries(cpu).map(([n, t]) => [n, keepUpload(engine, t, true)]));
  const dO = keepUpload(engine, toFloat32(randn([B, T, H, K], 99)), false);
  try {
    const y = await engine.noGrad(() => core.run(x)).read();
    const rowZero = Object.fromEntries(
      Object.entries(cpu).map(([n, t]) => [n, t.shape.length === 2 ? t : prefix(t, CHECK_T)]),
    );
    const ref = core.reference(rowZero);
    const checkError = relativeError(y.subarray(0, ref.data.length), ref.data);
    if (!(checkError < 1e-3)) throw new Error(`${SUITE} ${core.family} T=${T}: check error ${checkError}`);
    engine.pool.resetPeak();
    const t = await timeGpu(engine, () => {
      backward(core.run(x), dO);
      for (const input of Object.values(x)) input.grad = null;
    });
    const row: BenchRow = {
      suite: SUITE,
      name: `${core.family} fwd+bwd T=${T}`,
      config: { B, T, H, K, V: K, chunk: 32 },
      ms: t.ms,
      tokensPerSec: (B * T) / (t.ms / 1000),
      peakBytes: engine.pool.stats.peakBytesInUse,
      checkError,
      clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
      note: core.note,
    };
    const rows = [row];
    if (core.chunkedBaseline) rows.push({ ...row, name: `${core.family} fwd+bwd vs eager chunked T=${T}` });
    return rows;
  } finally {
    for (const t of [...Object.values(x), dO]) t.release();
    engine.pool.trim();
  }
}

// ---------------------------------------------------------------- whole mixers

interface MixerCase {
  kind: string;
  options: MixerOptions;
  reference(params: RefParams, x: CpuTensor): CpuTensor;
}

/** d_model 512 as 4 heads of 128 where the family has heads of its own choosing. */
function mixerCases(d: number, heads: number): MixerCase[] {
  const head = d / heads;
  const la = { num_heads: heads };
  const ret = { num_heads: heads, expand_v: 1 };
  const gla = { num_heads: heads, expand_k: 1 };
  const m2 = { d_state: head, headdim: head, expand: 1 };
  const h2 = { expand_ratio: head };
  const ml = { num_heads: heads, proj_factor: 1, round_proj_up_to_multiple_of: heads };
  const rw = { num_heads: heads, expand_k: 1 };
  const gs = { num_heads: heads, num_slots: GSA_SLOTS };
  return [
    { kind: 'linear_attn', options: la, reference: (p, x) => linearAttentionRef(linearAttentionConfig(d, la), p, x).y },
    { kind: 'retnet', options: ret, reference: (p, x) => retnetRef(retnetConfig(d, ret), p, x).y },
    { kind: 'gla', options: gla, reference: (p, x) => glaMixerRef(glaConfig(d, gla), p, x).y },
    { kind: 'hgrn2', options: h2, reference: (p, x) => hgrn2Ref(hgrn2Config(d, h2), p, x).y },
    { kind: 'mamba2', options: m2, reference: (p, x) => mamba2Ref(mamba2Config(d, m2), p, x).y },
    { kind: 'mlstm', options: ml, reference: (p, x) => mlstmRef(mlstmConfig(d, ml), p, x).y },
    { kind: 'rwkv6', options: rw, reference: (p, x) => rwkv6Ref(rwkv6Config(d, rw), p, x).y },
    { kind: 'gsa', options: gs, reference: (p, x) => gsaRef(gsaConfig(d, gs), p, x).y },
  ];
}

async function benchMixer(engine: Engine, c: MixerCase, B: number, T: number, d: number): Promise<BenchRow> {
  const mixer = mixerFactory(c.kind).create(d, c.options);
  const cpuParams: RefParams = new Map();
  const params: ParamMap = new Map();
  for (const spec of mixer.params()) {
    const values = toFloat32(initialValues(spec, 7));
    cpuParams.set(spec.name, values);
    params.set(spec.name, keepUpload(engine, values, true));
  }
  const cpuX = toFloat32(randn([B, T, d], 3));
  const x = keepUpload(engine, cpuX, true);
  const dy = keepUpload(engine, toFloat32(randn([B, T, d], 4)), false);
  const p = paramView(params, '');
  try {
    const y = await engine.noGrad(() => mixer.forward(p, x).y).read();
    const ref = c.reference(cpuParams, prefix(cpuX, CHECK_T));
    const checkError = relativeError(y.subarray(0, ref.data.length), ref.data);
    if (!(checkError < 1e-3)) throw new Error(`${SUITE} ${c.kind} mixer T=${T}: check error ${checkError}`);
    engine.pool.resetPeak();
    const t = await timeGpu(engine, () => {
      backward(mixer.forward(p, x).y, dy);
      for (const tensor of [x, ...params.values()]) tensor.grad = null;
    });
    return {
      suite: SUITE,
      name: `${c.kind} mixer fwd+bwd T=${T}`,
      config: { B, T, d, ...c.options },
      ms: t.ms,
      tokensPerSec: (B * T) / (t.ms / 1000),
      peakBytes: engine.pool.stats.peakBytesInUse,
      checkError,
      clock: `${t.clock} ×${t.iters} (host ${t.hostMs.toFixed(3)} ms)`,
      note: 'whole mixer (projections, gates, norms), registry defaults otherwise; no PyTorch row',
    };
  } finally {
    for (const t of [x, dy, ...params.values()]) t.release();
    engine.pool.trim();
  }
}

export const layersMatrixSuite: BenchSuite = {
  name: SUITE,
  async run(engine, { quick }) {
    const rows: BenchRow[] = [];
    const [B, H, K] = quick ? [2, 2, 16] : [8, 4, 128];
    for (const T of quick ? [64, 100] : [1024, 2048]) {
      // BENCH_FAMILIES=mamba2,retnet (read by the PyTorch side too) times those families' rows alone.
      const only = process.env.BENCH_FAMILIES?.split(',');
      const wanted = (family: string) => !only || only.includes(family);
      for (const core of CORES.filter((c) => wanted(c.family)))
        rows.push(...(await benchCore(engine, core, B, T, H, K)));
      for (const c of mixerCases(H * K, H).filter((c) => wanted(c.kind)))
        rows.push(await benchMixer(engine, c, B, T, H * K));
    }
    return rows;
  },
};

export default layersMatrixSuite;
