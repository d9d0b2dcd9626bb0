// The PyTorch package of an RWKV-7 model with the value residual (3 layers) runs in PyTorch (the system
// /usr/bin/python3 with torch; the test fails, not skips, where it is missing) and gives StateLab's logits
// (computed by the WGSL engine) within 1e-4, in parallel and streamed one token at a time with the carried
// state; the generated model.py passes the Python lint.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../gpu/graph/compile.js';
import { createParams } from '../../gpu/nn/module.js';
import { writePytorchPackage } from '../../main/export/pytorch.js';
import { FAMILY_CASES, familyGraph } from '../../bench/parity/families.js';
import { relativeError, useEngine } from '../helpers/gpu.js';
import { lintPython, testParams } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const engine = useEngine();
const root = mkdtempSync(join(tmpdir(), 'statelab-pytorch-vr-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Imports the package's model.py alone (load.py needs the safetensors library), loads the weights from
// a JSON file, and prints the parallel and the streamed logits.
const SCRIPT = `
import importlib.util, json, sys
import torch
folder = sys.argv[1]
spec = importlib.util.spec_from_file_location("exported_model", folder + "/model.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = module.StateLabForCausalLM(json.load(open(folder + "/config.json")))
weights = json.load(open(folder + "/weights.json"))
model.load_state_dict({k: torch.tensor(v["data"], dtype=torch.float32).view(v["shape"]) for k, v in weights.items()}, strict=True)
ids = torch.tensor(json.load(open(folder + "/ids.json")))
with torch.no_grad():
    logits, _ = model(ids)
    state, steps = None, []
    for t in range(ids.shape[1]):
        out, state = model(ids[:, t : t + 1], state)
        steps.append(out)
print(json.dumps({"parallel": logits.flatten().tolist(), "streamed": torch.cat(steps, 1).flatten().tolist()}))
`;

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
    const weights = Object.fromEntries([...params].map(([name, t]) => [name, { shape: t.shape, data: [...t.data] }]));
    writeFileSync(join(folder, 'weights.json'), JSON.stringify(weights));
    writeFileSync(join(folder, 'ids.json'), JSON.stringify([ids.slice(0, T), ids.slice(T)]));

    const run = spawnSync(PYTHON, ['-c', SCRIPT, folder], { encoding: 'utf8', timeout: 120_000 });
    expect(run.status, `${PYTHON} with torch must run the package:\n${run.stderr}`).toBe(0);
    const out = JSON.parse(run.stdout) as { parallel: number[]; streamed: number[] };
    expect(relativeError(out.parallel, expected)).toBeLessThan(1e-4);
    expect(relativeError(out.streamed, expected)).toBeLessThan(1e-4);
  });
});
