// Builds the three parts of the app into out/: main (out/main/index.js, package.json "main"), the
// sandboxed preload (out/preload/index.cjs — sandboxed preloads must be CommonJS) and the renderer
// (out/renderer, also what browser mode serves). `rendererConfig` is exported so the UI test can build
// the renderer alone with Vite.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';
import type { Plugin, UserConfig } from 'vite';
import { contentSecurityPolicy } from './main/host/content-security-policy.js';

const fromRoot = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Writes the CSP into index.html, so it holds however the page is served. */
function contentSecurityPolicyMeta(): Plugin {
  let dev = false;
  return {
    name: 'statelab:csp-meta',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy({ dev }) },
        injectTo: 'head-prepend',
      },
    ],
  };
}

/**
 * Puts main/host/datasets/parquet-decoder.mjs beside the main bundle: the Parquet reader forks it by a
 * URL relative to its own module, which in the app is out/main/index.js.
 */
function parquetDecoderBeside(): Plugin {
  return {
    name: 'statelab:parquet-decoder',
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: 'parquet-decoder.mjs',
        source: readFileSync(fromRoot('./main/host/datasets/parquet-decoder.mjs'), 'utf8'),
      });
    },
  };
}

export const rendererConfig: UserConfig = {
  root: fromRoot('./renderer'),
  base: './',
  plugins: [vue(), contentSecurityPolicyMeta()],
  worker: { format: 'es' },
  build: {
    outDir: fromRoot('./out/renderer'),
    emptyOutDir: true,
    rolldownOptions: { input: fromRoot('./renderer/index.html') },
    target: 'es2022',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2000,
  },
};

export default defineConfig({
  main: {
    build: {
      outDir: fromRoot('./out/main'),
      rolldownOptions: { input: { index: fromRoot('./main/electron/main.ts') } },
    },
    plugins: [parquetDecoderBeside()],
  },
  preload: {
    build: {
      outDir: fromRoot('./out/preload'),
      rolldownOptions: {
        input: { index: fromRoot('./main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
});
