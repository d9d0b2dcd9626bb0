import { describe, expect, it } from 'vitest';
import { backward } from '../../gpu/autograd.js';
import { cpuTensor, randn, toFloat32, uniform, type CpuTensor } from '../../gpu/cpu/tensor.js';
import { attention } from '../../gpu/ops/attention/attention.js';
import { DENSE_MAX_SCORE_BYTES, denseScoreBytes } from '../../gpu/ops/attention/dense.js';
import { attentionGradRef, attentionRef, type AttentionRefInputs } from '../../gpu/ops/attention/attention.ref.js';
import { mul } from '../../gpu/ops/elementwise.js';
import { sumAll } from '../../gpu/ops/reduce.js';
import { checkGradients } from '../helpers/finite-diff.js';
import { expectGpuClose, upload, useEngine } from '../helpers/gpu.js';
import { freshSeed } from './delta-helpers.js';

const engine = useEngine();

interface Case {
  B: number;
  Tq: number;
  Tk: number;
  H: number;
  HKV: number;
  D: number;
  window: number;
  fox: boolean;
}

/** Random inputs; the FoX bias is a cumulative sum of log-sigmoid gates (decreasing, as in FoX). */
function randomInputs(c: Case, seed: number): AttentionRefInputs {
  let cumLogForget: CpuTensor | undefined;
  if (c.fox) {
    const logF = uniform([c.B, c.Tk, c.H], seed + 3, -0.4, -0.01);
    cumLogForget = cpuTensor([c.B, c.Tk, c.H]);
    for (let b = 0; b < c.B; b++)
      for (let h = 0; h < c.H; h++) {
        let acc = 0;
        for (let t = 0; t < c.Tk; t++) {
          acc += logF.data[(b * c.Tk + t) * c.H + h];
          cumLogForget.data[(b * c.Tk + t) * c.H + h] = acc;
        }
      }
    cumLogForget = toFloat32(cumLogForget);
  }
  return {
    q: toFloat32(randn([c.B, c.Tq, c.H, c.D], seed)),
    k: toFloat32(randn([c.B, c.Tk, c.HKV, c.D], seed + 1)),
    v: toFloat32(randn([c.B, c.Tk, c.HKV, c.D], seed + 2)),
    cumLogForget,
    scale: 1 / Math.sqrt(c.D),
    window: c.window,
  };
}

async function expectMatchesReference(c: Case, label: string, implementation: 'flash' | 'dense') {
  const e = await engine();
  const x = randomInputs(c, freshSeed());
  const dO = toFloat32(randn([c.B, c.Tq, c.H, c.D], 99));
  const grads = attentionGradRef(x, dO);
  const q = upload(e, x.q, true);
  const k = upload(e, x.k, true);
  const v = upload(e, x.v, true);
  const f = x.cumLogForget ? upload(e, x.cumLogForget, true) : undefined;
  const o = attention(q, k, v, { window: c.window, cumLogForget: f, implementation });
  await expectGpuClose(o, attentionRef(x), 1e-4, `${label} o`);
  backward(sumAll(mul(o, upload(e, dO))));
  await expectGpuClose(q.grad!, grads.q, 1e-4, `${label} dq`);
  await expectGpuClose(k.grad!, grads.k, 1e-4, `${label} dk`);
  await expectGpuClose(v.grad!, grads.v, 1e-4, `${label} dv`);
  if (f) await expectGpuClose(f.grad!, grads.cumLogForget, 1e-4, `${label} dF`);
}

describe('attention float64 reference', () => {
  it('reference gradients (GQA, window, FoX bias, cached prefix) equal finite differences', () => {
    const c: Case = { B: 1, Tq: 5, Tk: 7, H: 4, HKV: 2, D: 3, window: 4, fox: true };
    const x = randomInputs(c, freshSeed());
    const dO = randn([1, 5, 4, 3], 5);
    const g = attentionGradRef(x, dO);
    const f = ([q, k, v, F]: CpuTensor[]) => attentionRef({ ...x, q, k, v, cumLogForget: F });
    checkGradients(f, [x.q, x.k, x.v, x.cumLogForget!], dO, [g.q, g.k, g.v, g.cumLogForget], { samples: 16 });
  });
});

describe.each(['flash', 'dense'] as const)(
  '%s attention (WGSL) equals naive T×T attention, forward and backward',
  (impl) => {
    it('grouped heads (4 query heads on 2 kv heads) with the FoX forget bias, T=37', async () => {
      await expectMatchesReference({ B: 2, Tq: 37, Tk: 37, H: 4, HKV: 2, D: 8, window: 0, fox: true }, 'GQA+FoX', impl);
    });
    it('multi-query sliding window 9 at T=70 (key tiles outside the window are skipped)', async () => {
      const c: Case = { B: 1, Tq: 70, Tk: 70, H: 3, HKV: 1, D: 16, window: 9, fox: false };
      await expectMatchesReference(c, 'MQA window', impl);
    });
    it('queries at the end of a longer key sequence (KV-cache prefill), head dim 12, window 20 with FoX', async () => {
      await expectMatchesReference(
        { B: 2, Tq: 11, Tk: 45, H: 2, HKV: 2, D: 12, window: 20, fox: true },
        'cached',
        impl,
      );
    });
    it('T=200 and a 70-query prefill over 200 keys: the products skip whole tiles above the causal band', async () => {
      await expectMatchesReference({ B: 1, Tq: 200, Tk: 200, H: 2, HKV: 1, D: 8, window: 0, fox: true }, 'T=200', impl);
      await expectMatchesReference({ B: 1, Tq: 70, Tk: 200, H: 2, HKV: 2, D: 8, window: 0, fox: false }, 'Tq<Tk', impl);
    });
    it('head dim 100 (flash: tiles sized for 128, each kernel picks its own tile shape to fit workgroup memory), T=40', async () => {
      await expectMatchesReference({ B: 1, Tq: 40, Tk: 40, H: 2, HKV: 1, D: 100, window: 0, fox: true }, 'D=100', impl);
    });
  },
);

describe('memory', () => {
  it('auto takes the dense path for small score matrices and the flash path past DENSE_MAX_SCORE_BYTES', () => {
    const small = { B: 1, Tq: 64, Tk: 64, H: 2, HKV: 2, D: 8 };
    expect(denseScoreBytes(small)).toBeLessThanOrEqual(DENSE_MAX_SCORE_BYTES);
    const rowsPast = Math.ceil(DENSE_MAX_SCORE_BYTES / 4 / 8192) + 1;
    expect(denseScoreBytes({ B: 1, Tq: rowsPast, Tk: 8192, H: 1, HKV: 1, D: 8 })).toBeGreaterThan(
      DENSE_MAX_SCORE_BYTES,
    );
  });
  it('flash: peak pool memory of forward+backward grows linearly in T (T=256 vs T=512, no T×T buffer)', async () => {
    const e = await engine();
    const peak = async (T: number) => {
      const c: Case = { B: 1, Tq: T, Tk: T, H: 2, HKV: 2, D: 8, window: 0, fox: true };
      const x = randomInputs(c, 7);
      await e.sync();
      e.pool.resetPeak();
      const before = e.pool.stats.bytesInUse;
      e.tidy(() => {
        const q = upload(e, x.q, true);
        const k = upload(e, x.k, true);
        const v = upload(e, x.v, true);
        const f = upload(e, x.cumLogForget!, true);
        backward(sumAll(attention(q, k, v, { cumLogForget: f, implementation: 'flash' })));
        return [];
      });
      await e.sync();
      return e.pool.stats.peakBytesInUse - before;
    };
    const small = await peak(256);
    const large = await peak(512);
    // A T×T score matrix alone would be 2·T²·4 bytes = 2 MiB at T=512, 8× the whole linear footprint.
    expect(large / small).toBeLessThan(2.3);
    expect(large).toBeLessThan(2 * 512 * 512 * 4);
  });
});

describe('bad input', () => {
  it('head counts that do not divide, negative windows and mismatched shapes raise errors naming the parameter', async () => {
    const e = await engine();
    const q = upload(e, randn([1, 4, 6, 8], 1));
    const kv4 = upload(e, randn([1, 4, 4, 8], 2));
    expect(() => attention(q, kv4, kv4, { layer: 'layers.3.mixer' })).toThrow(
      /attention "layers.3.mixer": num_heads 6 must be a multiple of num_kv_heads 4/,
    );
    const kv2 = upload(e, randn([1, 4, 2, 8], 3));
    expect(() => attention(q, kv2, kv2, { window: -1 })).toThrow(/window must be a non-negative integer \(got -1\)/);
    expect(() => attention(q, kv2, upload(e, randn([1, 4, 2, 4], 4)))).toThrow(/v must have shape \[1,4,2,8\]/);
    expect(() => attention(q, kv2, kv2, { cumLogForget: upload(e, randn([1, 4, 2], 5)) })).toThrow(
      /cumLogForget must have shape \[1,4,6\]/,
    );
  });
});
