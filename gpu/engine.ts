// The dispatch layer: records kernels into one command encoder until `flush()` submits it, so a whole
// training step (forward, backward, optimizer) becomes one submit. Uniform parameters of every
// dispatch go into one arena that is uploaded with a single writeBuffer right before the submit.
// Reads are either blocking (`read`, flushes) or deferred (`readLater`, resolves after the next flush
// without forcing one), which is how metrics come back without stalling the step loop.

import type { GpuContext } from './device.js';
import { BufferPool, READBACK_USAGE, TENSOR_USAGE, type PooledBuffer } from './pool.js';
import { KernelProfiler, type KernelTiming } from './profile.js';
import { Storage, Tensor, formatShape, shapeSize, type DType } from './tensor.js';

export interface Kernel {
  /** Stable name used in errors, debug output and the pipeline cache. */
  name: string;
  /** Full WGSL source. Binding 0 is the uniform block when `uniforms` are passed; storage bindings follow. */
  wgsl: string;
}

export interface DispatchArgs {
  /** Storage buffers in binding order (1, 2, … when uniforms are present, else 0, 1, …). */
  bindings: Tensor[];
  /** Raw uniform bytes (use `uniformBytes`), or undefined when the kernel has no uniform block. */
  uniforms?: ArrayBuffer;
  workgroups: [number, number?, number?];
}

const UNIFORM_ALIGN = 256;
const UNIFORM_ARENA_BYTES = 1 << 20;

interface PendingRead {
  staging: PooledBuffer;
  bytes: number;
  dtype: DType;
  resolve: (data: Float32Array | Int32Array) => void;
  reject: (error: Error) => void;
}

export class Engine {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  /** Print each dispatched kernel (STATELAB_DEBUG=1) — like tinygrad's DEBUG. */
  debug = false;
  dispatchCount = 0;
  /** An object the host needs alive as long as the device (dawn.node's GPU instance); dropped on destroy. */
  hostHandle: unknown = null;
  /** Called once by destroy(): lets the host release what it holds for this device. */
  onDestroy: (() => void) | null = null;
  /** Called with every kernel the first time it is compiled (the host dumps WGSL with STATELAB_DUMP_WGSL). */
  onNewKernel: ((kernel: Kernel) => void) | null = null;

  private pipelines = new Map<string, GPUComputePipeline>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private frame = 0;
  private uniformBuffer: GPUBuffer;
  private uniformArena = new Uint8Array(UNIFORM_ARENA_BYTES);
  private uniformUsed = 0;
  private pendingReads: PendingRead[] = [];
  private stagingToDestroy: GPUBuffer[] = [];
  private scopes: Set<Tensor>[] = [];
  private gradEnabled = true;
  /** The first WebGPU error seen (invalid kernel, out-of-memory); reported at the next read/sync. */
  private gpuError: Error | null = null;
  /** Open while `startProfile()` … `stopProfile()` records per-kernel GPU times. */
  private profiler: KernelProfiler | null = null;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.pool = new BufferPool(ctx.device, ctx.limits.maxBufferSize);
    this.uniformBuffer = ctx.device.createBuffer({
      size: UNIFORM_ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    // Validation and out-of-memory errors mean a bug or an impossible request: never compute on.
    ctx.device.addEventListener('uncapturederror', (event) =>
      this.reportGpuError(new Error(`WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`)),
    );
  }

  // ---------------------------------------------------------------- tensors

  empty(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const bytes = Math.max(4, shapeSize(shape) * 4);
    const maxBinding = this.ctx.limits.maxStorageBufferBindingSize;
    if (bytes > maxBinding) {
      throw new RangeError(
        `tensor ${dtype}${formatShape(shape)} needs ${bytes} bytes, over this device's ` +
          `maxStorageBufferBindingSize of ${maxBinding} bytes`,
      );
    }
    const tensor = new Tensor(this, shape, dtype, new Storage(this.pool.acquire(bytes), bytes));
    this.track(tensor);
    return tensor;
  }

  fromArray(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new RangeError(`fromArray: ${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    const tensor = this.empty(shape, dtype);
    this.write(tensor, data);
    return tensor;
  }

  /** A tensor sharing `source`'s storage with another shape (no copy). */
  view(source: Tensor, shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== source.size) {
      throw new RangeError(`reshape: cannot view ${source.describe()} as ${formatShape(shape)}`);
    }
    source.storage.refs++;
    const tensor = new Tensor(this, shape, source.dtype, source.storage);
    this.track(tensor);
    return tensor;
  }

  /** Uploads values; safe even if the buffer is read by commands recorded earlier in this frame. */
  write(tensor: Tensor, data: ArrayLike<number>): void {
    if (data.length !== tensor.size) {
      throw new RangeError(`write: ${data.length} values for ${tensor.describe()}`);
    }
    const typed = tensor.dtype === 'f32' ? Float32Array.from(data) : Int32Array.from(data);
    if (typed.byteLength === 0) return;
    const pooled = tensor.storage.pooled;
    if (pooled.lastFrameUsed !== this.frame || !this.encoder) {
      this.device.queue.writeBuffer(pooled.buffer, 0, typed.buffer, typed.byteOffset, typed.byteLength);
      return;
    }
    // The buffer is bound by a command recorded in this frame: a queue write would land before that
    // command runs, so stage the data and copy it in order inside the encoder instead.
    const staging = this.device.createBuffer({
      size: Math.ceil(typed.byteLength / 4) * 4,
      usage: GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Uint8Array(staging.getMappedRange()).set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
    staging.unmap();
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(staging, 0, pooled.buffer, 0, typed.byteLength);
    this.stagingToDestroy.push(staging);
  }

  copy(source: Tensor, target: Tensor): void {
    if (source.size !== target.size) {
      throw new RangeError(`copy: ${source.describe()} into ${target.describe()}`);
    }
    if (source.size === 0) return;
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(source.buffer, 0, target.buffer, 0, source.byteLength);
    source.storage.pooled.lastFrameUsed = this.frame;
    target.storage.pooled.lastFrameUsed = this.frame;
  }

  async read(tensor: Tensor): Promise<Float32Array | Int32Array> {
    const result = this.readLater(tensor);
    this.flush();
    const data = await result;
    this.throwGpuError();
    return data;
  }

  /** Called by the device layer for errors no scope captured. */
  reportGpuError(error: Error): void {
    this.gpuError ??= error;
  }

  private throwGpuError(): void {
    if (this.gpuError) {
      const error = this.gpuError;
      this.gpuError = null;
      throw error;
    }
  }

  /** Records a copy of `tensor` for readback; the promise resolves after a later flush completes. */
  readLater(tensor: Tensor): Promise<Float32Array | Int32Array> {
    this.assertAlive();
    const bytes = tensor.byteLength;
    const staging = this.pool.acquire(Math.max(4, bytes), READBACK_USAGE);
    if (bytes > 0) {
      this.endPass();
      this.currentEncoder().copyBufferToBuffer(tensor.buffer, 0, staging.buffer, 0, bytes);
      tensor.storage.pooled.lastFrameUsed = this.frame;
    }
    return new Promise((resolve, reject) => {
      this.pendingReads.push({ staging, bytes, dtype: tensor.dtype, resolve, reject });
    });
  }

  // ---------------------------------------------------------------- dispatch

  dispatch(kernel: Kernel, args: DispatchArgs): void {
    this.assertAlive();
    const [x, y = 1, z = 1] = args.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxGroups = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxGroups || y > maxGroups || z > maxGroups) {
      throw new RangeError(`${kernel.name}: dispatch [${x},${y},${z}] exceeds ${maxGroups} workgroups per dimension`);
    }
    const pipeline = this.pipeline(kernel);
    let uniformOffset = -1;
    if (args.uniforms) {
      if (this.uniformUsed + args.uniforms.byteLength > UNIFORM_ARENA_BYTES) this.flush();
      uniformOffset = this.uniformUsed;
      this.uniformArena.set(new Uint8Array(args.uniforms), uniformOffset);
      this.uniformUsed += Math.ceil(args.uniforms.byteLength / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    }
    const bindGroup = this.bindGroup(kernel, pipeline, args, uniformOffset);
    for (const tensor of args.bindings) tensor.storage.pooled.lastFrameUsed = this.frame;
    if (this.profiler) {
      // One timed pass per dispatch.
      if (this.profiler.full) this.flush();
      this.endPass();
      this.pass = this.profiler.beginPass(this.currentEncoder(), kernel.name);
    } else if (!this.pass) this.pass = this.currentEncoder().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) this.endPass();
    this.dispatchCount++;
    if (this.debug) console.log(`[statelab] dispatch ${kernel.name} [${x},${y},${z}]`);
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    if (!this.encoder && this.pendingReads.length === 0) return;
    this.assertAlive();
    if (this.uniformUsed > 0) {
      this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformArena.buffer, 0, this.uniformUsed);
    }
    this.endPass();
    const encoder = this.currentEncoder();
    this.profiler?.resolve(encoder);
    this.device.queue.submit([encoder.finish()]);
    this.profiler?.submitted();
    this.encoder = null;
    this.uniformUsed = 0;
    this.frame++;
    for (const staging of this.stagingToDestroy) staging.destroy();
    this.stagingToDestroy = [];
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const read of reads) void this.completeRead(read);
  }

  /** Resolves when the GPU has finished everything submitted so far. */
  async sync(): Promise<void> {
    this.flush();
    await this.raceLost(this.device.queue.onSubmittedWorkDone());
    this.throwGpuError();
  }

  // ---------------------------------------------------------------- profiling

  /** Starts timing every dispatch on the GPU (needs 'timestamp-query'; throws a clear error without it). */
  startProfile(): void {
    if (this.profiler) throw new Error('a kernel profile is already open');
    this.flush();
    this.profiler = new KernelProfiler(this.device);
  }

  /** Ends the profile: per kernel name, the dispatches, total and longest GPU time, slowest first. */
  async stopProfile(): Promise<KernelTiming[]> {
    const profiler = this.profiler;
    if (!profiler) throw new Error('no kernel profile is open (call startProfile first)');
    this.flush();
    this.profiler = null;
    await this.raceLost(this.device.queue.onSubmittedWorkDone());
    const timings = await profiler.timings();
    profiler.destroy();
    return timings;
  }

  // ---------------------------------------------------------------- lifetimes and grad mode

  /**
   * Runs `fn` and releases every tensor created inside it, except those it returns (which move to
   * the enclosing scope) and those marked with `keep`.
   */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    const escaping = new Set<Tensor>();
    collectTensors(result, escaping);
    for (const tensor of scope) {
      if (escaping.has(tensor)) this.track(tensor);
      else tensor.release();
    }
    return result;
  }

  /** Removes a tensor from every scope so `tidy` will not release it (parameters, optimizer state). */
  keep<T extends Tensor>(tensor: T): T {
    for (const scope of this.scopes) scope.delete(tensor);
    return tensor;
  }

  get isGradEnabled(): boolean {
    return this.gradEnabled;
  }

  noGrad<T>(fn: () => T): T {
    const previous = this.gradEnabled;
    this.gradEnabled = false;
    try {
      return fn();
    } finally {
      this.gradEnabled = previous;
    }
  }

  destroy(): void {
    try {
      this.flush();
    } catch {
      // A lost device or a pending GPU error (reported already by whoever read): release anyway.
    }
    this.pool.trim();
    this.uniformBuffer.destroy();
    this.device.destroy();
    this.hostHandle = null;
    this.onDestroy?.();
    this.onDestroy = null;
  }

  // ---------------------------------------------------------------- internals

  private track(tensor: Tensor): void {
    this.scopes[this.scopes.length - 1]?.add(tensor);
  }

  private assertAlive(): void {
    if (this.ctx.lost) throw this.ctx.lost;
    this.throwGpuError();
  }

  private currentEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private pipeline(kernel: Kernel): GPUComputePipeline {
    const key = kernel.wgsl;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      // An invalid kernel must fail loudly: capture its error and raise it at the next read/sync.
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ label: kernel.name, code: kernel.wgsl });
      if (this.debug) void reportCompilation(kernel, module);
      pipeline = this.device.createComputePipeline({
        label: kernel.name,
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      void this.device.popErrorScope().then((error) => {
        if (error) this.reportGpuError(new Error(`kernel ${kernel.name} is invalid: ${error.message}`));
      });
      this.pipelines.set(key, pipeline);
      this.onNewKernel?.(kernel);
    }
    return pipeline;
  }

  private bindGroup(kernel: Kernel, pipeline: GPUComputePipeline, args: DispatchArgs, uniformOffset: number) {
    const ids = args.bindings.map((t) => `${t.storage.pooled.id}:${t.byteLength}`).join(',');
    const key = `${kernel.wgsl.length}:${kernel.name}|${uniformOffset}|${ids}`;
    let group = this.bindGroups.get(key);
    if (group) return group;
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    if (uniformOffset >= 0) {
      entries.push({
        binding: binding++,
        resource: { buffer: this.uniformBuffer, offset: uniformOffset, size: args.uniforms!.byteLength },
      });
    }
    for (const tensor of args.bindings) {
      entries.push({ binding: binding++, resource: { buffer: tensor.buffer, size: Math.max(4, tensor.byteLength) } });
    }
    group = this.device.createBindGroup({ label: kernel.name, layout: pipeline.getBindGroupLayout(0), entries });
    if (this.bindGroups.size > 20000) this.bindGroups.clear();
    this.bindGroups.set(key, group);
    return group;
  }

  private async completeRead(read: PendingRead): Promise<void> {
    try {
      await this.raceLost(read.staging.buffer.mapAsync(GPUMapMode.READ, 0, Math.max(4, read.bytes)));
      const bytes = read.staging.buffer.getMappedRange(0, Math.max(4, read.bytes)).slice(0, read.bytes);
      read.staging.buffer.unmap();
      this.pool.release(read.staging);
      read.resolve(read.dtype === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes));
    } catch (error) {
      read.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Waits for `promise`, but rejects as soon as the device is lost instead of hanging. */
  private async raceLost<T>(promise: Promise<T>): Promise<T> {
    const lost = this.device.lost.then((info) => {
      throw this.ctx.lost ?? new Error(`GPU device lost: ${info.message}`);
    });
    return Promise.race([promise, lost]);
  }
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const item of value) collectTensors(item, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectTensors(item, into);
  }
}

async function reportCompilation(kernel: Kernel, module: GPUShaderModule): Promise<void> {
  const info = await module.getCompilationInfo();
  for (const message of info.messages) {
    console.error(
      `[statelab] ${kernel.name} ${message.type} at ${message.lineNum}:${message.linePos}: ${message.message}`,
    );
  }
}

/** Packs uniform fields (u32/i32/f32, 4 bytes each) into a 16-byte-aligned block. */
export function uniformBytes(fields: { u32?: number[]; f32?: number[] } | number[]): ArrayBuffer {
  const values = Array.isArray(fields)
    ? fields.map((v) => ({ v, f: false }))
    : [...(fields.u32 ?? []).map((v) => ({ v, f: false })), ...(fields.f32 ?? []).map((v) => ({ v, f: true }))];
  const buffer = new ArrayBuffer(Math.max(16, Math.ceil((values.length * 4) / 16) * 16));
  const view = new DataView(buffer);
  values.forEach(({ v, f }, i) => {
    if (f) view.setFloat32(i * 4, v, true);
    else view.setUint32(i * 4, v >>> 0, true);
  });
  return buffer;
}

export { TENSOR_USAGE };
