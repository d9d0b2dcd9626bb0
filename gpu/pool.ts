// A size-class buffer pool. GPU memory is invisible to the JS garbage collector, so tensors hand their
// buffers back explicitly and the pool reuses them. Sizes are rounded up to one of four steps per
// power of two (x1, x1.25, x1.5, x1.75), which bounds the waste at 25% while keeping reuse high.

export const TENSOR_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */
export const READBACK_USAGE = 0x1 /* MAP_READ */ | 0x8; /* COPY_DST */

export interface PooledBuffer {
  buffer: GPUBuffer;
  /** Bytes the GPU buffer really has (the size class). */
  capacity: number;
  usage: number;
  id: number;
  /** The frame (command recording) that last bound this buffer; uploads must not race with it. */
  lastFrameUsed: number;
}

export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  for (const step of [1, 1.25, 1.5, 1.75, 2]) {
    const candidate = Math.ceil(pow * step);
    if (candidate >= bytes) return Math.ceil(candidate / 256) * 256;
  }
  return pow * 2;
}

export interface PoolStats {
  bytesInUse: number;
  peakBytesInUse: number;
  bytesAllocated: number;
  buffersAllocated: number;
}

export class BufferPool {
  private free = new Map<string, PooledBuffer[]>();
  private nextId = 1;
  readonly stats: PoolStats = { bytesInUse: 0, peakBytesInUse: 0, bytesAllocated: 0, buffersAllocated: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, usage = TENSOR_USAGE): PooledBuffer {
    if (bytes > this.maxBufferSize) {
      throw new RangeError(
        `buffer of ${bytes} bytes exceeds this device's maxBufferSize (${this.maxBufferSize} bytes)`,
      );
    }
    const capacity = Math.min(sizeClass(bytes), Math.max(256, Math.ceil(this.maxBufferSize / 4) * 4));
    const key = `${capacity}:${usage}`;
    const reused = this.free.get(key)?.pop();
    const pooled = reused ?? this.create(capacity, usage);
    if (usage === TENSOR_USAGE) {
      this.stats.bytesInUse += capacity;
      this.stats.peakBytesInUse = Math.max(this.stats.peakBytesInUse, this.stats.bytesInUse);
    }
    return pooled;
  }

  release(pooled: PooledBuffer): void {
    if (pooled.usage === TENSOR_USAGE) this.stats.bytesInUse -= pooled.capacity;
    const key = `${pooled.capacity}:${pooled.usage}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(pooled);
  }

  resetPeak(): void {
    this.stats.peakBytesInUse = this.stats.bytesInUse;
  }

  /** Destroys every idle buffer (e.g. between benchmarks); buffers still in use are untouched. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const pooled of list) {
        pooled.buffer.destroy();
        this.stats.bytesAllocated -= pooled.capacity;
        this.stats.buffersAllocated--;
      }
    }
    this.free.clear();
  }

  private create(capacity: number, usage: number): PooledBuffer {
    const buffer = this.device.createBuffer({ size: capacity, usage });
    this.stats.bytesAllocated += capacity;
    this.stats.buffersAllocated++;
    return { buffer, capacity, usage, id: this.nextId++, lastFrameUsed: -1 };
  }
}
