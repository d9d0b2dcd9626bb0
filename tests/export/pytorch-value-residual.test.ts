// The PyTorch package of an RWKV-7 model with the value residual (3 layers) runs in PyTorch (the system
// /usr/bin/python3 with torch; the test fails, not skips, where it is missing) and gives StateLab's logits
// (computed by the WGSL engine) within 1e-4, in parallel and streamed one token at a time with the carried
// state; the generated model.py passes the Python lint.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import { createParams } from '../../gpu/nn/module.js';
import { writePytorchPackage } from '../../main/export/pytorch.js';
import { FAMILY_CASES, familyGraph } from '../../bench/parity/families.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { lintPython, testParams, torchLogits } from './helpers.js';

const engine = useEngine();
const root = mkdtempSync(join(tmpdir(), 'statelab-pytorch-vr-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('PyTorch export of a cross-layer input', () => {
  it("RWKV-7 with the value residual (3 layers): PyTorch's logits, parallel and streamed, are StateLab's within 1e-4", async () => {
    const rwkv7 = FAMILY_CASES.find((c) => c.kind === 'rwkv7')!;
    const options = { ...rwkv7.options, value_residual: 'on', v_low_rank_dim: 4 };
    const graph = familyGraph({ ...rwkv7, options }, { dModel: 16, vocab: 64, layers: 3 });
    const params = testParams(graph);
    const [B, T] = [2, 9];
    const ids = Array.from({ length: B * T }, (_, i) => (i * 29 + 7) % 64);

    const e = await engine();
    const model = compileGraph(graph);
    const p = createParams(e, model.specs, 0);
    for (const [name, t] of p) e.write(t, params.get(name)!.data);
    const expected = await e.noGrad(() => model.logits(p, e.fromArray(ids, [B, T], 'i32'))).read();

    const folder = join(root, 'rwkv7-vr');
    writePytorchPackage({ graph, params }, folder, '0');
    const source = readFileSync(join(folder, 'model.py'), 'utf8');
    expect(source).toContain('self.v_lora = RWKV7LoRA');
    expect(lintPython(source)).toEqual([]);
    const out = torchLogits(folder, params, [ids.slice(0, T), ids.slice(T)]);
    expect(relativeError(out.parallel, expected)).toBeLessThan(1e-4);
    expect(relativeError(out.streamed, expected)).toBeLessThan(1e-4);
  });
});
