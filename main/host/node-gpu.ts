// WebGPU in Node through dawn.node (the `webgpu` npm package): the CLI, the demo, benchmarks and tests
// use this; the app uses Chromium's own navigator.gpu instead (dawn.node cannot load in Electron).

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireDevice, WebGpuUnavailableError, type AcquireOptions } from '../../gpu/device.js';
import { Engine, type Kernel } from '../../gpu/engine.js';

export interface NodeGpuOptions extends AcquireOptions {
  /** Extra dawn.node flags, e.g. ['enable-dawn-features=allow_unsafe_apis']. */
  flags?: string[];
}

// One dawn.node instance per process and flag set, shared by the engines made from it. The instance must
// outlive every device made from it (collected early, Dawn's worker threads crash the process with futex
// errors or pthread assertions), and creating and dropping instances back to back (one per training run
// in a test file) made that crash more likely under load. While referenced it keeps Node from exiting, so
// it is dropped a moment after its last engine is destroyed.
interface SharedInstance {
  gpu: GPU;
  users: number;
  release?: ReturnType<typeof setTimeout>;
}
const instances = new Map<string, SharedInstance>();
const LINGER_MS = 1000;

async function acquireInstance(flags: string[]): Promise<{ gpu: GPU; done: () => void }> {
  const key = flags.join('\n');
  let shared = instances.get(key);
  if (!shared) {
    try {
      const webgpu = await import('webgpu');
      Object.assign(globalThis, webgpu.globals);
      shared = { gpu: webgpu.create(flags), users: 0 };
    } catch (error) {
      throw new WebGpuUnavailableError(`the dawn.node binding failed to load (${(error as Error).message})`);
    }
    instances.set(key, shared);
  }
  clearTimeout(shared.release);
  shared.users++;
  const entry = shared;
  let released = false;
  return {
    gpu: entry.gpu,
    done: () => {
      if (released) return;
      released = true;
      if (--entry.users > 0) return;
      entry.release = setTimeout(() => {
        if (entry.users === 0 && instances.get(key) === entry) instances.delete(key);
      }, LINGER_MS);
    },
  };
}

export async function createNodeEngine(options: NodeGpuOptions = {}): Promise<Engine> {
  const instance = await acquireInstance(options.flags ?? []);
  let context;
  try {
    context = await acquireDevice(instance.gpu, options);
  } catch (error) {
    instance.done();
    throw error;
  }
  const engine = new Engine(context);
  engine.hostHandle = instance.gpu;
  engine.onDestroy = instance.done;
  engine.debug = process.env.STATELAB_DEBUG === '1';
  const dumpDir = process.env.STATELAB_DUMP_WGSL;
  if (dumpDir) engine.onNewKernel = wgslDumper(dumpDir);
  return engine;
}

/**
 * STATELAB_DUMP_WGSL=<folder>: every kernel's WGSL as it is first compiled, one file per distinct source
 * (`<kernel name>-<hash>.wgsl`), so a generated kernel can be read, diffed or fed to another compiler.
 */
export function wgslDumper(folder: string): (kernel: Kernel) => void {
  mkdirSync(folder, { recursive: true });
  return (kernel) => {
    const hash = createHash('sha256').update(kernel.wgsl).digest('hex').slice(0, 10);
    const name = kernel.name.replace(/[^A-Za-z0-9_.-]+/g, '_');
    writeFileSync(join(folder, `${name}-${hash}.wgsl`), kernel.wgsl);
  };
}
