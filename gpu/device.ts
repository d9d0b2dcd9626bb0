// Device acquisition: the one place that talks to `navigator.gpu` (browser/Worker) or to a GPU object
// handed in by the host (dawn.node in the CLI and tests). Everything above this layer only sees a
// `GpuContext`.

export class WebGpuUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `WebGPU is not available: ${detail}. StateLab needs a GPU driver with Vulkan, Metal or D3D12 ` +
        `(on headless Linux, Mesa's software Vulkan driver "mesa-vulkan-drivers" works).`,
    );
    this.name = 'WebGpuUnavailableError';
  }
}

export class DeviceLostError extends Error {
  constructor(reason: string, message: string) {
    super(`The GPU device was lost (${reason}): ${message || 'no message from the driver'}`);
    this.name = 'DeviceLostError';
  }
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for SwiftShader, llvmpipe/lavapipe and other CPU implementations: fine for tests, slow. */
  isSoftware: boolean;
  features: string[];
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  limits: GPUSupportedLimits;
  hasSubgroups: boolean;
  hasTimestampQuery: boolean;
  /** Set once the device is lost; every later dispatch throws it instead of hanging. */
  lost: DeviceLostError | null;
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|warp|basic render/i;

export function describeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isSoftware: fallback || SOFTWARE_ADAPTER.test(text),
    features: [...adapter.features].sort(),
  };
}

// The limits that matter for our kernels; we ask for the adapter's maxima because the defaults
// (16 KiB workgroup storage, 256 invocations, 128 MiB bindings) are too small for tiled kernels.
const WANTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

const OPTIONAL_FEATURES: GPUFeatureName[] = ['subgroups' as GPUFeatureName, 'timestamp-query'];

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Called once if the device is lost after acquisition (driver reset, GPU removed). */
  onLost?: (error: DeviceLostError) => void;
}

export async function acquireDevice(gpu: GPU | undefined, options: AcquireOptions = {}): Promise<GpuContext> {
  if (!gpu) throw new WebGpuUnavailableError('no GPU object (navigator.gpu is undefined)');
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new WebGpuUnavailableError('requestAdapter() returned no adapter');
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const context: GpuContext = {
    device,
    adapter: describeAdapter(adapter),
    limits: device.limits,
    hasSubgroups: device.features.has('subgroups'),
    hasTimestampQuery: device.features.has('timestamp-query'),
    lost: null,
  };
  void device.lost.then((info) => {
    if (info.reason === 'destroyed') return;
    context.lost = new DeviceLostError(info.reason, info.message);
    options.onLost?.(context.lost);
  });
  return context;
}
