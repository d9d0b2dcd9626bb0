// Implicit attention of a run: the layers' matrices, built from the inputs the checkpoint actually
// produced, reproduce each layer's GPU output (the reconstruction error the analysis reports), the
// rollout composes them (rows sum to 1, causal), nonlinear RNNs get the Jacobian-based attribution, a
// family without a formulation is named as such, and too long a sequence is refused with its cost.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rollout, rowNormalize } from '../../gpu/analysis/implicit/rollout.js';
import { runImplicitAttention } from '../../main/host/analyses/implicit-attention.js';
import { useEngine } from '../helpers/gpu.js';
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
