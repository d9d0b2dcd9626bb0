// Implicit attention of a run: the layers' matrices, built from the inputs the checkpoint actually
// produced, reproduce each layer's GPU output (the reconstruction error the analysis reports), the
// rollout composes them (rows sum to 1, causal), nonlinear RNNs get the Jacobian-based attribution, a
// family without a formulation is named as such, and too long a sequence is refused with its cost. RWKV-7's
// value residual crosses layers: every later layer is reconstructed with the first layer's v from the same
// forward, also when only a later layer is asked for.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reconstruct } from '../../gpu/analysis/implicit/core.js';
import { rollout, rowNormalize } from '../../gpu/analysis/implicit/rollout.js';
import { rwkv7Implicit } from '../../gpu/analysis/implicit/rwkv7.js';
import { rng } from '../../gpu/cpu/tensor.js';
import { mixerNode, mixerParams, runImplicitAttention } from '../../main/host/analyses/implicit-attention.js';
import { loadRun } from '../../main/host/analyses/run-model.js';
import type { Tensor } from '../../gpu/tensor.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { makeRun, template } from './helpers.js';

const engine = useEngine();

describe('rollout', () => {
  it('mixes each layer with the identity and composes them (hand-computed 2 × 2)', () => {
    const M1 = Float64Array.of(1, 0, 1, 1); // token 1 attends to both equally
    const M2 = Float64Array.of(1, 0, 0, 1); // identity
    expect(Array.from(rowNormalize(M1, 2))).toEqual([1, 0, 0.5, 0.5]);
    // Â1 = 0.5·[[1,0],[.5,.5]] + 0.5·I = [[1,0],[.25,.75]];  Â2 = I;  R = Â2·Â1.
    expect(Array.from(rollout([M1, M2], 2))).toEqual([1, 0, 0.25, 0.75]);
    // Zero rows (nothing mixed) fall back to the token itself.
    expect(Array.from(rowNormalize(new Float64Array(4), 2))).toEqual([1, 0, 0, 1]);
  });
});

describe('implicit attention of a run', () => {
  it('hybrid (Gated DeltaNet + attention): every layer reproduces its GPU output; rollout rows sum to 1', async () => {
    const e = await engine();
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-implicit-'));
    const run = await makeRun(e, runsDir, template('hybrid-50'), { seqLen: 16 });
    const { path, result } = await runImplicitAttention(e, { runsDir, run: run.id, length: 12, heads: [0, 1] });
    expect(path).toBe(join(run.dir, 'analyses', 'implicit-attention.json'));
    expect(result.tokens).toHaveLength(12);
    expect(result.labels).toHaveLength(12);
    expect(result.layers.map((l) => l.kind)).toEqual(['gated_deltanet', 'attention']);
    for (const layer of result.layers) {
      expect(layer.supported).toBe(true);
      expect(layer.method).toBe('exact');
      expect(layer.reconstructionError).toBeLessThan(1e-4);
      expect(Object.keys(layer.matrices!)).toEqual(['0', '1']);
      const A = layer.matrices!['0'];
      for (let t = 0; t < 12; t++) for (let s = t + 1; s < 12; s++) expect(A[t][s]).toBe(0);
    }
    // Softmax attention rows are probabilities.
    for (const row of result.layers[1].matrices!['0']) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    for (const row of result.rollout!) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(result.rollout![0].slice(1).every((v) => v === 0)).toBe(true);
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    expect(saved.results.layers[0].meanAbs).toHaveLength(12);
  });

  it('LSTM layers get the Jacobian attribution (no reconstruction); RWKV-7 gets its exact matrices', async () => {
    const e = await engine();
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-implicit-'));
    const lstm = await makeRun(e, runsDir, template('lstm', 16), { seqLen: 8, name: 'lstm' });
    const r = await runImplicitAttention(e, { runsDir, run: lstm.id, length: 6 });
    expect(r.result.layers[0]).toMatchObject({ method: 'jacobian', reconstructionError: null });
    expect(r.result.layers[0].matrices!['0'][5][2]).toBeGreaterThan(0);
    const rwkv = await makeRun(e, runsDir, template('rwkv7'), { seqLen: 8, name: 'rwkv' });
    const w = await runImplicitAttention(e, { runsDir, run: rwkv.id, length: 6 });
    expect(w.result.layers[0]).toMatchObject({ kind: 'rwkv7', supported: true, method: 'exact' });
    for (const layer of w.result.layers) expect(layer.reconstructionError).toBeLessThan(1e-4);
    expect(w.result.rollout).not.toBeNull();
  });

  it("RWKV-7 with the value residual (3 layers): every layer is reconstructed with the first layer's v; so is a later layer asked for alone", async () => {
    const e = await engine();
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-implicit-'));
    const doc = template('rwkv7');
    const attn = doc.blocks!.block.nodes.find((n) => n.kind === 'mixer.rwkv7')!;
    attn.params = { ...attn.params, value_residual: 'on', head_dim: 16, v_low_rank_dim: 8 };
    doc.nodes.find((n) => n.kind === 'repeat')!.params!.count = 3;
    // Output projections start at zero (every layer's output would be 0 and trivially reconstructed), and
    // the value-residual LoRA near zero: give both values so that every layer's output carries the mix.
    const noise = rng(11);
    const run = await makeRun(e, runsDir, doc, {
      seqLen: 16,
      name: 'rwkv7-vr',
      adjust: (name, values) => {
        if (name.endsWith('o_proj.weight') || name.includes('v_lora.lora'))
          for (let i = 0; i < values.length; i++) values[i] = noise() - 0.5;
      },
    });
    const T = 12;
    const { result } = await runImplicitAttention(e, { runsDir, run: run.id, length: T, heads: [0, 1] });
    expect(result.layers.map((l) => l.name)).toEqual(['layers.0.attn', 'layers.1.attn', 'layers.2.attn']);
    for (const layer of result.layers) {
      expect(layer).toMatchObject({ kind: 'rwkv7', supported: true, method: 'exact', units: 2 });
      expect(layer.reconstructionError, layer.name).toBeLessThan(1e-4);
    }
    expect(result.layers[0].description).toMatch(/value residual: the first value-residual layer/);
    for (const layer of result.layers.slice(1))
      expect(layer.description).toMatch(/value residual: v_s mixes in the first RWKV-7 layer's v at the same token$/);
    for (const row of result.rollout!) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(result.rollout![0].slice(1).every((v) => v === 0)).toBe(true);

    // Only the last layer: the first one is still built (unreported) to publish its v.
    const alone = await runImplicitAttention(e, { runsDir, run: run.id, length: T, layers: ['layers.2.attn'] });
    expect(alone.result.layers.map((l) => l.name)).toEqual(['layers.2.attn']);
    expect(alone.result.layers[0].reconstructionError).toBeLessThan(1e-4);
    expect(alone.result.layers[0].meanAbs).toEqual(result.layers[2].meanAbs);

    // The residual matters here: the last layer's own values (as if the option were off) miss its output.
    const loaded = loadRun(e, run);
    try {
      const io = new Map<string, { x: Promise<Float32Array | Int32Array>; y: Promise<Float32Array | Int32Array> }>();
      e.tidy(() =>
        e.noGrad(() => {
          loaded.probe.logits(loaded.params, e.fromArray(result.tokens, [1, T], 'i32'), {
            onMixer: (name: string, x: Tensor, y: Tensor) => io.set(name, { x: e.readLater(x), y: e.readLater(y) }),
          });
        }),
      );
      e.flush();
      const last = io.get('layers.2.attn')!;
      const own = rwkv7Implicit(
        await mixerParams(loaded.params, 'layers.2.attn'),
        { ...mixerNode(loaded.model, 'layers.2.attn'), value_residual: 'off' },
        32,
        Float64Array.from(await last.x),
        T,
      );
      expect(relativeError(reconstruct(own), await last.y)).toBeGreaterThan(1e-3);
    } finally {
      loaded.release();
    }
  });

  it('refuses lengths over the limit with the size of the matrices', async () => {
    const e = await engine();
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-implicit-'));
    const run = await makeRun(e, runsDir, template('gla'), { seqLen: 16 });
    await expect(runImplicitAttention(e, { runsDir, run: run.id, length: 5000 })).rejects.toThrow(
      /length 5000 is over the limit of 1024 tokens: each layer holds 572\.2 MiB/,
    );
    await expect(runImplicitAttention(e, { runsDir, run: run.id, length: 4, layers: ['nope'] })).rejects.toThrow(
      /no mixer layer "nope"/,
    );
  });
});
