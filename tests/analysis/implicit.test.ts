// Implicit attention: for every family with a linear formulation, the matrices applied to the values
// (and the layer's token-wise output path) reproduce the mixer's own GPU output on fresh random inputs
// (relative error ≤ 1e-4), the matrices are causal, and the decays are what the family's gates say.
// Nonlinear RNNs: the float64 Jacobian behind their attribution equals the GPU's backward pass.

import { describe, expect, it } from 'vitest';
import { cpuTensor, randn, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { mixerFactory, registeredMixers, type MixerOptions } from '../../gpu/nn/mixer.js';
import { createParams, paramView } from '../../gpu/nn/module.js';
import '../../gpu/nn/mixers/index.js';
import { reconstruct, summarizeLayer } from '../../gpu/analysis/implicit/core.js';
import { implicitKinds, implicitLayer } from '../../gpu/analysis/implicit/index.js';
import { paraJacobian, rnnJacobian } from '../../gpu/analysis/implicit/jacobian.js';
import { backward } from '../../gpu/autograd.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { relativeError, upload, useEngine } from '../helpers/gpu.js';

const engine = useEngine();

/** GPU output of one mixer on x [1, T, d], and its parameters read back as float64. */
async function mixerCase(kind: string, options: MixerOptions, d: number, T: number, seed: number, fillZeros = false) {
  const e = await engine();
  const mixer = mixerFactory(kind).create(d, options);
  const params = createParams(e, mixer.params(), seed);
  // Zero-initialized parameters (RWKV-7's o_proj) would make the output vanish: give them random values.
  if (fillZeros)
    for (const [name, t] of params)
      if ((await t.read()).every((v) => v === 0))
        e.write(t, Float32Array.from(randn(t.shape, seed + name.length, 0.3).data));
  const x = randn([1, T, d], seed + 100, 1);
  const y = e.tidy(() => e.noGrad(() => mixer.forward(paramView(params, ''), e.fromArray(x.data, [1, T, d])).y));
  const out = Float64Array.from(await y.read());
  y.release();
  const ref = new Map<string, CpuTensor>();
  for (const [name, t] of params) ref.set(name, cpuTensor(t.shape, await t.read()));
  for (const t of params.values()) t.release();
  return { x: x.data, y: out, params: ref };
}

const CASES: [string, MixerOptions][] = [
  ['mamba', { d_state: 4 }],
  ['mamba', { d_state: 4, negative_eigenvalues: true }],
  ['mingru', {}],
  ['minlstm', { expansion: 2 }],
  ['hgrn', {}],
  ['hawk', {}],
  ['gla', { num_heads: 2 }],
  ['gla', { num_heads: 2, use_output_gate: false }],
  ['linear_attn', { num_heads: 2, feature_map: 'elu', normalize: true }],
  ['linear_attn', { num_heads: 2, feature_map: 'relu', norm_q: true, norm_k: true, output_norm: 'identity' }],
  ['retnet', { num_heads: 2 }],
  ['mamba2', { headdim: 8, d_state: 4 }],
  ['hgrn2', { expand_ratio: 8 }],
  ['deltanet', { num_heads: 2 }],
  ['deltanet', { num_heads: 2, conv_size: 0, use_output_gate: true, negative_eigenvalues: true }],
  ['gated_deltanet', { num_heads: 2 }],
  ['deltaproduct', { num_heads: 2, num_householder: 2 }],
  ['attention', { num_heads: 4, num_kv_heads: 2 }],
  ['attention', { num_heads: 2, window: 5, forget_gate: true, rope_theta: 0 }],
  ['shortconv', { kernel: 3, bias: true }],
  ['lru', { d_state: 6 }],
  ['s4d', { d_state: 8 }],
  ['rwkv6', { num_heads: 2, proj_low_rank_dim: 4, gate_low_rank_dim: 4 }],
  ['mlstm', { num_heads: 2 }],
  ['gsa', { num_heads: 2, num_slots: 4 }],
  ['rwkv7', { head_dim: 8, decay_low_rank_dim: 4, gate_low_rank_dim: 4, a_low_rank_dim: 4 }],
];

describe("implicit attention reproduces each family's output", () => {
  it('every registered mixer family has a formulation (exact or Jacobian-based)', () => {
    const missing = registeredMixers()
      .map((f) => f.kind)
      .filter((k) => !implicitKinds().includes(k));
    expect(missing).toEqual([]);
  });

  for (const [kind, options] of CASES) {
    it(`${kind} ${JSON.stringify(options)}: post(A · v) equals the mixer's output at T = 19`, async () => {
      const [d, T] = [16, 19];
      const c = await mixerCase(kind, options, d, T, 5, true);
      const layer = implicitLayer(kind, c.params, options, d, c.x);
      expect(layer.method).toBe('exact');
      expect(Math.max(...c.y.map(Math.abs))).toBeGreaterThan(1e-4);
      expect(relativeError(reconstruct(layer), c.y)).toBeLessThan(1e-4);
      // Causal: nothing above the diagonal.
      for (let u = 0; u < Math.min(layer.count, 3); u++) {
        const A = layer.matrix(u);
        for (let t = 0; t < T; t++)
          for (let s = 0; s < layer.columns; s++)
            if (layer.columnToken(s) > t) expect(A[t * layer.columns + s]).toBe(0);
      }
    });
  }
});

describe('nonlinear RNNs: Jacobian-based attribution', () => {
  for (const kind of ['lstm', 'gru', 'elman', 'slstm', 'paragru', 'paralstm']) {
    it(`${kind}: the float64 Jacobian matches the GPU's backward pass (wᵀ J[t, ·] for two output tokens)`, async () => {
      const e = await engine();
      const [d, T] = [8, 7];
      const para = kind.startsWith('para');
      // ParaRNN: the sequential solution on the GPU, which is what the float64 Jacobian differentiates.
      const options: MixerOptions = para ? { mode: 'sequential' } : { heads: 2 };
      const c = await mixerCase(kind, options, d, T, 9);
      const J = (para ? paraJacobian : rnnJacobian)(kind, c.params, d, c.x, T);
      const mixer = mixerFactory(kind).create(d, options);
      const params = createParams(e, mixer.params(), 9); // the same seed: the same parameters as c.params
      for (const t of [T - 1, 2]) {
        const w = randn([1, T, d], 40 + t, 1);
        for (let i = 0; i < w.data.length; i++) if (Math.floor(i / d) !== t) w.data[i] = 0;
        const x = upload(e, cpuTensor([1, T, d], c.x), true);
        // No tidy here: the tape needs the forward's intermediates until backward has run.
        const loss = sumAll(mul(mixer.forward(paramView(params, ''), x).y, e.fromArray(w.data, [1, T, d])));
        backward(loss);
        const grad = await x.grad!.read();
        const expected = new Float64Array(T * d);
        for (let s = 0; s < T; s++)
          for (let j = 0; j < d; j++)
            for (let i = 0; i < d; i++) expected[s * d + j] += w.data[t * d + i] * J[((t * d + i) * T + s) * d + j];
        expect(relativeError(grad, expected)).toBeLessThan(1e-4);
        for (let s = t + 1; s < T; s++) for (let j = 0; j < d; j++) expect(expected[s * d + j]).toBe(0);
        loss.release();
        x.grad!.release();
        x.release();
      }
      const layer = implicitLayer(kind, c.params, options, d, c.x);
      expect(layer.method).toBe('jacobian');
      const A = layer.matrix(0);
      let block = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) block += J[(((T - 1) * d + i) * T + 3) * d + j] ** 2;
      expect(A[(T - 1) * T + 3]).toBeCloseTo(Math.sqrt(block), 12);
      expect(() => reconstruct(layer)).toThrow(/no reconstruction/);
      for (const p of params.values()) p.release();
    });
  }
});

describe('decays and summaries', () => {
  it('RetNet decays are its fixed γ_h; the one-pass summary keeps the asked matrices and the mean |A|', async () => {
    const [d, T] = [16, 9];
    const c = await mixerCase('retnet', { num_heads: 2 }, d, T, 3);
    const layer = implicitLayer('retnet', c.params, { num_heads: 2 }, d, c.x);
    for (let t = 0; t < T; t++)
      for (let h = 0; h < 2; h++) expect(layer.logDecay![t * 2 + h]).toBeCloseTo(Math.log(1 - 2 ** (-5 - h)), 12);
    const summary = summarizeLayer(layer, [1]);
    expect([...summary.kept.keys()]).toEqual([1]);
    expect(Array.from(summary.kept.get(1)!)).toEqual(Array.from(layer.matrix(1)));
    const A0 = layer.matrix(0);
    const A1 = layer.matrix(1);
    for (let i = 0; i < T * T; i++) expect(summary.meanAbs[i]).toBeCloseTo((Math.abs(A0[i]) + Math.abs(A1[i])) / 2, 12);
    expect(relativeError(summary.reconstruction!, c.y)).toBeLessThan(1e-4);
  });
});
