// State statistics and state collapse: the detector on constructed series (a state that explodes past
// T is flagged at the right position, a stable one is not, vanishing and non-finite states too), the
// per-head statistics, and the whole analysis on constructed models — linear attention (a state that
// never forgets: fed one token forever its matrix state grows without bound) is flagged, GLA (a decay
// per key channel) is not.

import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCollapse } from '../../gpu/analysis/collapse.js';
import { entryStats, headLayout, isMemoryEntry } from '../../gpu/analysis/state-stats.js';
import { runStates } from '../../main/host/analyses/states.js';
import { useEngine } from '../helpers/gpu.js';
import { makeRun, withMixer } from './helpers.js';

const engine = useEngine();
const positions = Array.from({ length: 32 }, (_, i) => 8 * (i + 1)); // samples every 8 tokens to 256

describe('collapse detector', () => {
  it('flags a state that explodes past T, with where it crossed and where it left the band', () => {
    // Flat up to 100 tokens, then growing 10 % per sample: T = 64.
    const values = positions.map((p, i) => (p <= 100 ? 1 : 1.1 ** (i - 11)));
    const f = detectCollapse(positions, values, 64);
    expect(f.status).toBe('exploding');
    const crossed = positions[values.findIndex((v, i) => positions[i] > 64 && v > f.band[1] * 4)];
    expect(f.flaggedAt).toBe(crossed);
    expect(f.onset).toBe(96); // the last sample still inside the in-distribution band
    expect(f.growth).toBeGreaterThan(4);
  });

  it('does not flag a stable state, flags a vanishing one and a non-finite one', () => {
    const stable = positions.map((_, i) => 2 + Math.cos(i)); // fluctuates inside [1, 3] forever
    expect(detectCollapse(positions, stable, 64)).toMatchObject({ status: 'stable', flaggedAt: null });
    const vanishing = positions.map((p) => (p <= 64 ? 1 : Math.exp(-(p - 64) / 20)));
    expect(detectCollapse(positions, vanishing, 64).status).toBe('vanishing');
    const broken = positions.map((p) => (p === 200 ? NaN : 1));
    expect(detectCollapse(positions, broken, 64)).toMatchObject({ status: 'exploding', flaggedAt: 200 });
    expect(() => detectCollapse([100], [1], 64)).toThrow(/no state sample/);
  });

  it('summarizes each head of an entry, grouping wide channel axes', () => {
    // [B=2, H=3, 2]: head h holds ±(h+1) in row 0 and (h+1) in row 1.
    const data = Float32Array.from([1, -1, 2, -2, 3, -3, 1, 1, 2, 2, 3, 3]);
    const stats = entryStats({ shape: [2, 3, 2], data });
    expect(stats.map((s) => s.rms)).toEqual([1, 2, 3]);
    expect(stats.map((s) => s.mean)).toEqual([0.5, 1, 1.5]);
    expect(stats[2].variance).toBeCloseTo(9 - 2.25, 12);
    expect(headLayout([1, 100, 4])).toEqual({ heads: 15, groupSize: 7 });
    expect(entryStats({ shape: [1, 100], data: new Float32Array(100).fill(1) }, 16)).toHaveLength(15);
    expect(isMemoryEntry('linear-diagonal', 'conv')).toBe(false);
    expect(isMemoryEntry('delta-rule', 'q_conv1d')).toBe(false);
    expect(isMemoryEntry('linear-matrix', 'S')).toBe(true);
  });
});

describe('state analysis of a run', () => {
  it('flags linear attention fed one token past T (a state that never forgets) and not GLA (decay)', async () => {
    const e = await engine();
    const runsDir = mkdtempSync(join(tmpdir(), 'statelab-states-'));
    const growing = await makeRun(e, runsDir, withMixer('gla', 'linear_attn', { num_heads: 2, feature_map: 'elu' }), {
      seqLen: 16,
      name: 'linear',
    });
    const decaying = await makeRun(e, runsDir, withMixer('gla', 'gla', { num_heads: 2 }), { seqLen: 16, name: 'gla' });
    const options = { runsDir, factor: 16, every: 8, batch: 1, probe: 'data-free' as const };
    const linear = await runStates(e, { ...options, run: growing.id });
    expect(linear.result.positions).toEqual(Array.from({ length: 32 }, (_, i) => 8 * (i + 1)));
    const S = linear.result.layers[0].entries.find((x) => x.entry === 'S')!;
    expect(S.heads).toBe(2);
    expect(S.shape).toEqual([2, 16, 16]);
    // Fed the same token, S grows linearly: its RMS at 256 tokens is ~16× the one at T = 16.
    const rms = S.series.rms[0];
    expect(rms[31] / rms[1]).toBeGreaterThan(10);
    const flagged = linear.result.flagged.filter((f) => f.statistic === 'rms' && f.entry === 'S');
    expect(flagged.length).toBeGreaterThan(0);
    for (const f of flagged) {
      expect(f.status).toBe('exploding');
      expect(f.flaggedAt).toBeGreaterThan(16 * 4 - 8); // 4× the in-distribution top, past T
      expect(f.flaggedAt).toBeLessThanOrEqual(16 * 6);
    }
    const gla = await runStates(e, { ...options, run: decaying.id });
    expect(gla.result.flagged).toEqual([]);
    // The decay statistics come from GLA's gates: log α = logsigmoid(·)/16 ≈ log σ(0)/16 at this init,
    // the same at every sample for a constant input; linear attention has no decay.
    const decay = gla.result.layers[0].decay!;
    expect(decay).toMatchObject({ unit: 'head', units: 2, groupSize: 1 });
    for (const series of decay.meanLogDecay)
      for (const v of series) expect(Math.abs(v - Math.log(0.5) / 16)).toBeLessThan(0.02);
    expect(Math.abs(decay.meanLogDecay[0][31] - decay.meanLogDecay[0][5])).toBeLessThan(1e-9);
    expect(linear.result.layers[0].decay).toBeNull();
    const saved = JSON.parse(readFileSync(join(decaying.dir, 'analyses', 'states.json'), 'utf8'));
    expect(saved.results.layers[1].entries[0].collapse[0]).toMatchObject({ status: 'stable' });
  });
});
