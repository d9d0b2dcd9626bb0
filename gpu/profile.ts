// Per-kernel GPU times (STATELAB_PROFILE): while a profile is open the engine runs every dispatch in a
// compute pass of its own whose beginning and end write GPU timestamps, so each kernel's time is read
// from the GPU clock, not the host's. One pass per dispatch costs a little, so profile a step, not a run.
// Needs the adapter's 'timestamp-query' feature (Dawn and Chrome expose it; WebGPU quantizes the values).

/** Timed passes one command buffer can hold (two timestamps each: WebGPU allows 4096 queries per set). */
export const PROFILE_CAPACITY = 2048;

export interface KernelTiming {
  name: string;
  /** Dispatches of this kernel in the profiled region. */
  count: number;
  totalMs: number;
  maxMs: number;
}

interface Batch {
  names: string[];
  readback: GPUBuffer;
}

export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  /** Kernel names of the passes recorded into the current command buffer, in order. */
  private names: string[] = [];
  private resolved: Batch[] = [];
  private pending: Promise<void>[] = [];
  private samples: { name: string; ms: number }[] = [];

  constructor(private readonly device: GPUDevice) {
    if (!device.features.has('timestamp-query')) {
      throw new Error("kernel profiling needs the adapter's 'timestamp-query' feature, which this GPU does not expose");
    }
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * PROFILE_CAPACITY });
    this.resolveBuffer = device.createBuffer({
      size: 16 * PROFILE_CAPACITY,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Whether the current command buffer has room for one more timed pass. */
  get full(): boolean {
    return this.names.length >= PROFILE_CAPACITY;
  }

  /** A compute pass that times itself as `name`. */
  beginPass(encoder: GPUCommandEncoder, name: string): GPUComputePassEncoder {
    const index = this.names.length;
    this.names.push(name);
    return encoder.beginComputePass({
      timestampWrites: {
        querySet: this.querySet,
        beginningOfPassWriteIndex: 2 * index,
        endOfPassWriteIndex: 2 * index + 1,
      },
    });
  }

  /** Before the command buffer is finished: copies its timestamps out for reading after the submit. */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.names.length === 0) return;
    const count = 2 * this.names.length;
    const readback = this.device.createBuffer({
      size: 8 * count,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(this.querySet, 0, count, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, readback, 0, 8 * count);
    this.resolved.push({ names: this.names, readback });
    this.names = [];
  }

  /** After the submit of the command buffer `resolve` wrote into: starts reading its timestamps. */
  submitted(): void {
    for (const batch of this.resolved) this.pending.push(this.collect(batch));
    this.resolved = [];
  }

  /** Per kernel name, after every resolved command buffer has been read back; slowest total first. */
  async timings(): Promise<KernelTiming[]> {
    await Promise.all(this.pending);
    this.pending = [];
    const byName = new Map<string, KernelTiming>();
    for (const { name, ms } of this.samples) {
      const t = byName.get(name) ?? { name, count: 0, totalMs: 0, maxMs: 0 };
      t.count++;
      t.totalMs += ms;
      t.maxMs = Math.max(t.maxMs, ms);
      byName.set(name, t);
    }
    return [...byName.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }

  private async collect(batch: Batch): Promise<void> {
    await batch.readback.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(batch.readback.getMappedRange().slice(0));
    batch.readback.unmap();
    batch.readback.destroy();
    batch.names.forEach((name, i) => {
      const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
      this.samples.push({ name, ms: Math.max(0, ns) / 1e6 });
    });
  }
}

/** A plain-text table of timings (the CLI and the bench print it). */
export function formatTimings(timings: KernelTiming[], top = 30): string {
  const total = timings.reduce((s, t) => s + t.totalMs, 0);
  const lines = [`kernel times (GPU timestamps): ${total.toFixed(3)} ms in ${timings.length} kernels`];
  lines.push('   ms total   share   count    max ms  kernel');
  for (const t of timings.slice(0, top)) {
    const share = total > 0 ? (100 * t.totalMs) / total : 0;
    lines.push(
      `${t.totalMs.toFixed(3).padStart(11)} ${share.toFixed(1).padStart(6)}% ${String(t.count).padStart(7)} ${t.maxMs
        .toFixed(3)
        .padStart(9)}  ${t.name}`,
    );
  }
  if (timings.length > top) lines.push(`   … ${timings.length - top} more`);
  return lines.join('\n');
}
