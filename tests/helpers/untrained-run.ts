// Run folders written without a GPU: a bundled template at a chosen width, and a run holding that
// graph's randomly initialized parameters at step 0 (what an untrained StateLab run holds). Distill
// tests use them as teachers and students.

import { readFileSync } from 'node:fs';
import { compileGraph } from '../../gpu/graph/compile.js';
import { initialValues } from '../../gpu/nn/module.js';
import { RunStore, type Run } from '../../main/host/runs/run-store.js';
import { templatePath } from '../../main/host/templates.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';

/** The bundled template `name` with d_model set to `dModel`. */
export function templateAt(name: string, dModel: number): GraphDoc {
  const graph = parseGraph(readFileSync(templatePath(name)!, 'utf8'));
  graph.model.d_model = dModel;
  return graph;
}

/** A run in `runsDir` trained on `textPath` (byte tokens) for zero steps: its step-0 checkpoint, seed 7. */
export function untrainedRun(runsDir: string, textPath: string, graph: GraphDoc, name: string): Run {
  const model = compileGraph(graph);
  const run = new RunStore(runsDir).create(
    {
      name,
      data: { kind: 'text', path: textPath, tokenizer: 'byte' },
      train: { steps: 1, batch: 2, seqLen: 16 },
      seed: 7,
      versions: {},
      device: {},
    },
    graph,
    {},
  );
  const params = new Map(
    model.specs.map((s) => [s.name, { shape: s.shape, data: Float32Array.from(initialValues(s, 7).data) }]),
  );
  run.saveCheckpoint({ step: 0, params, optimizer: new Map(), state: { step: 0, optimizerStep: 0, dataPosition: {} } });
  return run;
}
