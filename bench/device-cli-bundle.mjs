// Bundles the `statelab` CLI into .device/cli/statelab.mjs for the GPU machine (no npm packages there,
// only the dawn.node `webgpu` package that device-prep.sh puts in .device/node_modules).
// Why a plugin: modules find package.json, templates and texts relative to their own `import.meta.url`,
// which in one bundle would be the bundle's URL for all of them. Each module's `import.meta.url` is
// rewritten to its source file's URL inside the working-tree copy the device runs in.
// Usage (project root): node bench/device-cli-bundle.mjs
//   then on the device: source .device/prelude.sh && node .device/cli/statelab.mjs train llama ...
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outfile = resolve(root, '.device/cli/statelab.mjs');

const sourceUrls = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.(ts|mjs|js)$/ }, async (args) => {
      if (args.path.includes('node_modules')) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(root, args.path).split('\\').join('/');
      const url = `new URL(${JSON.stringify(rel)}, __STATELAB_ROOT__).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

await build({
  stdin: {
    contents: "import { main } from './main/cli/statelab.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  outfile,
  plugins: [sourceUrls],
  // The bundle lives two folders below the project root (.device/cli/).
  banner: { js: "const __STATELAB_ROOT__ = new URL('../../', import.meta.url);" },
  logLevel: 'warning',
});
console.log(`bundled ${relative(root, outfile)}`);
