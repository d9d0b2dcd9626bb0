// Every bundled template, exported as a PyTorch package at a small width, loads in PyTorch (the system
// /usr/bin/python3 with torch; the test fails, not skips, where it is missing) and gives StateLab's logits
// (computed by the WGSL engine) within 1e-4, in parallel and streamed one token at a time. The per-family
// parity runs one layer of each family; this catches what only a whole template carries (a Llama
// attention layer's options once stopped its package from loading at all).

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import { createParams } from '../../gpu/nn/module.js';
import { writePytorchPackage } from '../../main/export/pytorch.js';
import { SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { templateAt } from '../helpers/untrained-run.js';
import { testParams, torchLogits } from './helpers.js';

const engine = useEngine();
const root = mkdtempSync(join(tmpdir(), 'statelab-pytorch-templates-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TEMPLATES = readdirSync(join(SOURCE_ASSETS_DIR, 'templates'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

describe('PyTorch packages of the bundled templates', () => {
  it('there are templates to check', () => {
    expect(TEMPLATES.length).toBeGreaterThanOrEqual(10);
    expect(TEMPLATES).toContain('llama');
  });

  for (const name of TEMPLATES) {
    it(`${name}: the package loads in PyTorch and its logits, parallel and streamed, are StateLab's within 1e-4`, async () => {
      const graph = templateAt(name, 32);
      const vocab = graph.model.vocab_size;
      const params = testParams(graph);
      const [B, T] = [2, 5];
      const ids = Array.from({ length: B * T }, (_, i) => (i * 29 + 7) % vocab);

      const e = await engine();
      const model = compileGraph(graph);
      const p = createParams(e, model.specs, 0);
      for (const [param, t] of p) e.write(t, params.get(param)!.data);
      const expected = await e.noGrad(() => model.logits(p, e.fromArray(ids, [B, T], 'i32'))).read();

      const folder = join(root, name);
      writePytorchPackage({ graph, params }, folder, '0');
      const out = torchLogits(folder, params, [ids.slice(0, T), ids.slice(T)]);
      expect(relativeError(out.parallel, expected)).toBeLessThan(1e-4);
      expect(relativeError(out.streamed, expected)).toBeLessThan(1e-4);
    });
  }
});
