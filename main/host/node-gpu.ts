// WebGPU in Node through dawn.node (the `webgpu` npm package): the CLI, the demo, benchmarks and tests
// use this; the app uses Chromium's own navigator.gpu instead (dawn.node cannot load in Electron).

import { acquireDevice, WebGpuUnavailableError, type AcquireOptions } from '../../gpu/device.js';
import { Engine } from '../../gpu/engine.js';

export interface NodeGpuOptions extends AcquireOptions {
  /** Extra dawn.node flags, e.g. ['enable-dawn-features=allow_unsafe_apis']. */
  flags?: string[];
}

export async function createNodeEngine(options: NodeGpuOptions = {}): Promise<Engine> {
  let gpu: GPU | undefined;
  try {
    const webgpu = await import('webgpu');
    Object.assign(globalThis, webgpu.globals);
    gpu = webgpu.create(options.flags ?? []);
  } catch (error) {
    throw new WebGpuUnavailableError(`the dawn.node binding failed to load (${(error as Error).message})`);
  }
  const context = await acquireDevice(gpu, options);
  const engine = new Engine(context);
  // The dawn.node instance must outlive its device (when it is collected early, Dawn's worker threads
  // crash with futex errors), yet while referenced it keeps Node from exiting: the engine holds it
  // until destroy().
  engine.hostHandle = gpu;
  gpu = undefined;

  engine.debug = process.env.STATELAB_DEBUG === '1';
  return engine;
}
