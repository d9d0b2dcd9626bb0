// `npm run web`: serves the built renderer (out/renderer) and the host services on 127.0.0.1 — the
// app as a web page for any Chromium-based browser with WebGPU. Options: --port N (default 5180; 0 = any
// free), --workspace DIR (default ~/StateLab: graphs, runs and exports are saved there). It prints a launch
// address holding this launch's secret: only a browser that opened it can use the app (docs/reliability.md).

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLabService, SOURCE_ASSETS_DIR } from '../host/lab-service.js';
import { startWebServer } from './server.js';

const RENDERER_DIR = fileURLToPath(new URL('../../out/renderer', import.meta.url));

function parseWorkspace(argv: string[]): string {
  const at = argv.indexOf('--workspace');
  if (at < 0) return join(homedir(), 'StateLab');
  const dir = argv[at + 1];
  if (!dir || dir.startsWith('--')) throw new Error('--workspace needs a folder');
  return resolve(dir);
}

function parsePort(argv: string[]): number {
  const at = argv.indexOf('--port');
  if (at < 0) return 5180;
  const port = Number(argv[at + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer in 0..65535 (got "${argv[at + 1] ?? ''}")`);
  }
  return port;
}

async function main(): Promise<void> {
  if (!existsSync(`${RENDERER_DIR}/index.html`)) {
    throw new Error(`${RENDERER_DIR}/index.html not found: build the app first (npm run build)`);
  }
  const workspaceDir = parseWorkspace(process.argv);
  const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
  const port = parsePort(process.argv);
  const server = await startWebServer({ service, rendererDir: RENDERER_DIR, port }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') throw new Error(`port ${port} is in use: pass --port 0 for any free port`);
      throw error;
    },
  );
  console.log(`StateLab (browser mode) at ${server.origin} — workspace ${workspaceDir}`);
  console.log(
    `Open this address (it holds this launch's secret) in a Chromium-based browser with WebGPU:\n\n  ${server.url}\n`,
  );
  console.log('Ctrl+C stops the server.');
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: Error) => {
  console.error(`statelab web: ${error.message}`);
  process.exitCode = 1;
});
