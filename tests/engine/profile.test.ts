import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randn } from '../../gpu/cpu/tensor.js';
import { matmul } from '../../gpu/ops/matmul.js';
import { softmax } from '../../gpu/ops/softmax.js';
import { formatTimings } from '../../gpu/profile.js';
import { wgslDumper } from '../../main/host/node-gpu.js';
import { relativeError, upload, useEngine } from '../helpers/gpu.js';
import { matmulRef } from '../../gpu/ops/matmul.ref.js';

const engine = useEngine();

describe('kernel profiling (STATELAB_PROFILE)', () => {
  it('times every dispatch by name on the GPU clock, and results are unchanged while profiling', async () => {
    const e = await engine();
    const a = randn([48, 40], 1);
    const b = randn([40, 24], 2);
    const ta = upload(e, a);
    const tb = upload(e, b);
    e.startProfile();
    const products = [0, 1, 2].map(() => matmul(ta, tb));
    const s = softmax(products[2]);
    const timings = await e.stopProfile();
    const byName = new Map(timings.map((t) => [t.name, t]));
    expect(byName.get('matmul:tiled')?.count).toBe(3);
    expect(byName.get('softmax.forward')?.count).toBe(1);
    for (const t of timings) {
      expect(t.totalMs).toBeGreaterThanOrEqual(0);
      expect(t.maxMs).toBeLessThanOrEqual(t.totalMs + 1e-9);
    }
    expect(formatTimings(timings)).toMatch(/matmul:tiled/);
    expect(relativeError(await products[0].read(), matmulRef(a, b).data)).toBeLessThan(1e-5);
    expect((await s.read()).length).toBe(48 * 24);
    await expect(e.stopProfile()).rejects.toThrow(/no kernel profile is open/);
    for (const t of [ta, tb, s, ...products]) t.release();
  });

  it('STATELAB_DUMP_WGSL writes each new kernel once, named by kernel and source hash', async () => {
    const e = await engine();
    const folder = mkdtempSync(join(tmpdir(), 'statelab-wgsl-'));
    try {
      e.onNewKernel = wgslDumper(folder);
      // A shape no other test here uses compiles fresh kernels.
      const x = upload(e, randn([3, 1000], 3));
      const y = softmax(x);
      await y.read();
      const files = readdirSync(folder);
      const file = files.find((f) => /^softmax\.forward-[0-9a-f]{10}\.wgsl$/.test(f));
      expect(file, files.join(', ')).toBeDefined();
      expect(readFileSync(join(folder, file!), 'utf8')).toMatch(/@compute/);
      x.release();
      y.release();
    } finally {
      e.onNewKernel = null;
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
