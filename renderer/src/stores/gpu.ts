// What the GPU diagnostics panel shows: the WebGPU adapter this page gets (the training Worker asks
// for the same one), its key limits and features, and whether it is a software implementation.

import { defineStore } from 'pinia';
import { ref } from 'vue';
import { describeAdapter, type AdapterSummary } from '../../../gpu/device';

/** The limits our kernels depend on, in display order. */
export const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export type KeyLimit = (typeof KEY_LIMITS)[number];

export const useGpuStore = defineStore('gpu', () => {
  const state = ref<'unknown' | 'probing' | 'ready' | 'unavailable'>('unknown');
  const adapter = ref<AdapterSummary | null>(null);
  const limits = ref<Record<KeyLimit, number> | null>(null);
  const problem = ref<string | null>(null);

  async function probe(): Promise<void> {
    if (state.value === 'probing') return;
    state.value = 'probing';
    problem.value = null;
    try {
      if (!('gpu' in navigator) || !navigator.gpu) {
        throw new Error(
          'this browser exposes no WebGPU (navigator.gpu is missing). On Linux, Chromium needs ' +
            '--enable-unsafe-webgpu and a Vulkan driver; the desktop app sets this itself.',
        );
      }
      const found = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!found) throw new Error('requestAdapter() found no adapter: check the GPU driver (Vulkan/Metal/D3D12)');
      adapter.value = describeAdapter(found);
      limits.value = Object.fromEntries(KEY_LIMITS.map((name) => [name, found.limits[name]])) as Record<
        KeyLimit,
        number
      >;
      state.value = 'ready';
    } catch (error) {
      problem.value = (error as Error).message;
      state.value = 'unavailable';
    }
  }

  return { state, adapter, limits, problem, probe };
});
