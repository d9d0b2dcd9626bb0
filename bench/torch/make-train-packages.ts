// Writes, for the train suite's architectures and sizes, the PyTorch export of each resized template
// without its weights (model.py + config.json: `StateLabForCausalLM(config)` builds and initializes the
// model itself), into .device/train-packages/<arch>-<size>/ for bench/torch/train.py on the GPU machine.
// Weights are left out because the medium models would not fit the device carry (PyTorch's own init is
// as good a starting point for timing). An architecture the PyTorch export does not cover yet is named.
//
//   npx tsx bench/torch/make-train-packages.ts [out-dir]

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compileGraph } from '../../gpu/graph/compile.js';
import type { TensorMap } from '../../main/host/runs/checkpoint-file.js';
import { writePytorchPackage } from '../../main/export/pytorch.js';
import { sizedTemplate, TRAIN_ARCHS, TRAIN_CONFIGS } from '../suites/train.js';

const out = process.argv[2] ?? '.device/train-packages';
rmSync(out, { recursive: true, force: true });
for (const size of ['small', 'medium'] as const) {
  const c = TRAIN_CONFIGS[size];
  for (const arch of TRAIN_ARCHS) {
    const graph = sizedTemplate(arch, c.dModel, c.layers);
    // Zeros of every parameter's shape: the export checks them against the graph; the file is then dropped.
    const params: TensorMap = new Map(
      compileGraph(graph).specs.map((s) => [
        s.name,
        { shape: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) },
      ]),
    );
    const dir = join(out, `${arch}-${size}`);
    mkdirSync(dir, { recursive: true });
    try {
      writePytorchPackage({ graph, params }, dir, 'bench');
      rmSync(join(dir, 'model.safetensors'), { force: true });
      console.log(`${dir}: ${c.dModel}×${c.layers}, T=${c.seqLen}, B=${c.batch}`);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      console.log(`${arch} ${size}: no PyTorch export (${(error as Error).message})`);
    }
  }
}
