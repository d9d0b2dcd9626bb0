// Builds out/renderer with Vite (the renderer alone, as electron-vite would) when it is missing or
// older than any source it is made from, so the UI test never runs against a stale page.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { rendererConfig } from '../../electron.vite.config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCES = ['renderer', 'gpu', 'shared', 'electron.vite.config.ts', 'main/host/content-security-policy.ts'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

export async function ensureRendererBuilt(): Promise<string> {
  const outDir = rendererConfig.build!.outDir!;
  const index = join(outDir, 'index.html');
  const sourcesTime = Math.max(...SOURCES.map((source) => newestMtime(join(ROOT, source))));
  if (!existsSync(index) || statSync(index).mtimeMs < sourcesTime) {
    await build({ ...rendererConfig, configFile: false, logLevel: 'warn' });
  }
  return outDir;
}
