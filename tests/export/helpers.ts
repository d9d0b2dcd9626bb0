// Helpers of the export tests: parameters for a graph that make every layer matter (unit-gain random
// matrices instead of the small 0.02 init, which would let the embedding path dominate the logits), a
// Python linter (Ruff, as WebAssembly) for the generated code, and a runner that loads a PyTorch package
// in the system Python with torch and returns its logits.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PositionEncoding, Workspace } from '@astral-sh/ruff-wasm-nodejs';
import { compileGraph } from '../../gpu/graph/compile.js';
import { uniform } from '../../gpu/cpu/tensor.js';
import { initialValues, nameSeed } from '../../gpu/nn/module.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import type { TensorMap } from '../../main/host/runs/checkpoint-file.js';

export function testParams(graph: GraphDoc, seed = 5): TensorMap {
  const params: TensorMap = new Map();
  for (const spec of compileGraph(graph).specs) {
    let data = initialValues(spec, seed).data;
    // Matrices (not custom inits such as Mamba's A_log) get U(±√(3/fan_in)): unit-variance outputs.
    if (spec.shape.length >= 2 && spec.init.kind !== 'custom') {
      const bound = Math.sqrt(3 / spec.shape[spec.shape.length - 1]);
      data = uniform(spec.shape, nameSeed(seed, spec.name), -bound, bound).data;
    }
    params.set(spec.name, { shape: spec.shape, data: Float32Array.from(data) });
  }
  return params;
}

export interface Finding {
  code: string;
  message: string;
  row: number;
}

const ruff = new Workspace({ 'line-length': 120, lint: { select: ['E', 'F', 'W', 'B'] } }, PositionEncoding.Utf16);

/** Ruff's pyflakes (F), pycodestyle (E, W) and bugbear (B) findings. */
export function lintPython(source: string): Finding[] {
  return (ruff.check(source) as { code: string; message: string; start_location: { row: number } }[]).map((d) => ({
    code: d.code,
    message: d.message,
    row: d.start_location.row,
  }));
}

/** The source as `ruff format` writes it (120 columns). */
export function formatPython(source: string): string {
  return new Workspace({ 'line-length': 120 }, PositionEncoding.Utf16).format(source);
}

/** The system Python that has torch (the test machine's; a missing torch fails the test, never skips it). */
export const TORCH_PYTHON = '/usr/bin/python3';

// Imports the package's model.py alone (load.py needs the safetensors library), loads the weights from
// a JSON file, and prints the parallel and the streamed (one token at a time, carried state) logits.
const TORCH_SCRIPT = `
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

/**
 * Runs the PyTorch package in `folder` (written by writePytorchPackage) on `rows` of token ids with
 * `params`: its logits in parallel form and streamed one token at a time, flattened. Throws with
 * Python's stderr when the package does not load or run.
 */
export function torchLogits(
  folder: string,
  params: TensorMap,
  rows: number[][],
): { parallel: number[]; streamed: number[] } {
  const weights = Object.fromEntries([...params].map(([name, t]) => [name, { shape: t.shape, data: [...t.data] }]));
  writeFileSync(join(folder, 'weights.json'), JSON.stringify(weights));
  writeFileSync(join(folder, 'ids.json'), JSON.stringify(rows));
  const run = spawnSync(TORCH_PYTHON, ['-c', TORCH_SCRIPT, folder], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0)
    throw new Error(`${TORCH_PYTHON} with torch could not run the package in ${folder}:\n${run.stderr}`);
  return JSON.parse(run.stdout) as { parallel: number[]; streamed: number[] };
}
