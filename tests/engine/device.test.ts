import { describe, expect, it } from 'vitest';
import { acquireDevice, describeAdapter, WebGpuUnavailableError } from '../../gpu/device.js';
import { Engine } from '../../gpu/engine.js';
import { full } from '../../gpu/ops/elementwise.js';
import { useEngine } from '../helpers/gpu.js';

const engine = useEngine();

describe('WebGPU device', () => {
  it('an adapter is found (CI must fail, not skip, without one) and software adapters are reported as such', async () => {
    const e = await engine();
    expect(e.ctx.adapter.description.length + e.ctx.adapter.vendor.length).toBeGreaterThan(0);
    if (/llvmpipe|swiftshader|lavapipe/i.test(`${e.ctx.adapter.device} ${e.ctx.adapter.description}`)) {
      expect(e.ctx.adapter.isSoftware).toBe(true);
    }
    // We ask for the adapter's maxima: more than WebGPU's 16 KiB default workgroup storage where offered.
    expect(e.ctx.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
  });

  it('a missing WebGPU implementation gives a clear error', async () => {
    await expect(acquireDevice(undefined)).rejects.toThrow(WebGpuUnavailableError);
    await expect(acquireDevice(undefined)).rejects.toThrow(/WebGPU is not available.*Vulkan/);
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(acquireDevice(noAdapter)).rejects.toThrow(/returned no adapter/);
  });

  it('classifies adapters by name', () => {
    const fake = (description: string) =>
      ({
        info: { vendor: 'x', architecture: '', device: '', description },
        features: new Set(),
      }) as unknown as GPUAdapter;
    expect(describeAdapter(fake('SwiftShader Device (Subzero)')).isSoftware).toBe(true);
    expect(describeAdapter(fake('NVIDIA H100 80GB HBM3')).isSoftware).toBe(false);
  });

  it('a lost device is reported on the next dispatch and read, not a hang', async () => {
    // A separate device, so losing it does not disturb the other tests.
    const shared = await engine();
    const adapterHandle = shared.hostHandle as GPU;
    const ctx = await acquireDevice(adapterHandle);
    const lost = new Engine(ctx);
    const t = full(lost, [4], 1);
    ctx.device.destroy(); // 'destroyed' is not an error, so simulate a driver loss on top of it:
    ctx.lost = new (await import('../../gpu/device.js')).DeviceLostError('unknown', 'simulated driver reset');
    expect(() => full(lost, [4], 2)).toThrow(/GPU device was lost \(unknown\): simulated driver reset/);
    await expect(lost.read(t)).rejects.toThrow(/device was lost/);
  });

  it('writes into a buffer that an earlier command of the same frame still reads are ordered correctly', async () => {
    const e = await engine();
    const a = e.fromArray([1, 2, 3, 4], [4]);
    const copy = e.empty([4]);
    e.copy(a, copy); // recorded, not yet submitted
    e.write(a, [9, 9, 9, 9]); // must land after the copy
    expect(Array.from(await copy.read())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await a.read())).toEqual([9, 9, 9, 9]);
  });

  it('tidy releases intermediates back to the pool and keeps what it returns', async () => {
    const e = await engine();
    const before = e.pool.stats.bytesInUse;
    const kept = e.tidy(() => {
      full(e, [1000], 1);
      return full(e, [1000], 2);
    });
    expect(e.pool.stats.bytesInUse - before).toBe(4096);
    expect((await kept.read())[999]).toBe(2);
    kept.release();
    expect(e.pool.stats.bytesInUse).toBe(before);
  });

  it('an invalid kernel is reported with its name instead of computing garbage', async () => {
    const e = await engine();
    const out = e.empty([4]);
    e.dispatch(
      {
        name: 'broken_kernel',
        wgsl: '@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = undefined_symbol; }',
      },
      { bindings: [out], workgroups: [1] },
    );
    await expect(e.read(out)).rejects.toThrow(/broken_kernel/);
  });
});
