// The Hugging Face layout: a folder with config.json (see hf-config.ts), model.safetensors (F32, StateLab's
// HF-style names, bit-exact copies of the checkpoint) and the run's tokenizer.json when it has one. Import
// reads such a folder back into a graph and parameters, or into a new run folder (with its tokenizer).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../shared/formats/safetensors.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { writeFileAtomic } from '../host/atomic-file.js';
import { encodeCheckpoint, type TensorMap } from '../host/runs/checkpoint-file.js';
import { RunStore, type Run } from '../host/runs/run-store.js';
import { hfConfig } from '../host/train-run.js';
import { ExportError } from './errors.js';
import { HF_MODEL_TYPE, hfConfigJson, type StateLabHfConfig } from './hf-config.js';
import { buildPlan, type ExportPlan } from './plan.js';
import { checkParams, type ExportSource } from './source.js';
import type { ExportFormat } from './support.js';

export interface HfWriteResult {
  plan: ExportPlan;
  files: string[];
}

/** Writes config.json, model.safetensors (and tokenizer.json) into `outDir`; `format` picks the family check. */
export function writeHfFolder(source: ExportSource, outDir: string, format: ExportFormat = 'hf'): HfWriteResult {
  const { plan, model } = buildPlan(source.graph, format);
  checkParams(model.specs, source.params);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: Uint8Array | string) => {
    writeFileAtomic(join(outDir, name), data);
    files.push(name);
  };
  write('config.json', `${JSON.stringify(hfConfigJson(plan, source.graph, source.origin), null, 2)}\n`);
  // Tensors in the graph's declaration order; the writer sorts them as the reference library does.
  const ordered: TensorMap = new Map(model.specs.map((s) => [s.name, source.params.get(s.name)!]));
  write('model.safetensors', encodeCheckpoint(ordered, { format: 'pt' }));
  if (source.tokenizer) write('tokenizer.json', `${JSON.stringify(source.tokenizer)}\n`);
  return { plan, files };
}

/** Reads an HF-layout folder that StateLab wrote (config.json with the graph, model.safetensors). */
export function importHfFolder(dir: string): { graph: GraphDoc; params: TensorMap; config: StateLabHfConfig } {
  const configPath = join(dir, 'config.json');
  const weightsPath = join(dir, 'model.safetensors');
  for (const path of [configPath, weightsPath]) {
    if (!existsSync(path))
      throw new ExportError(`import: ${path} does not exist (an HF folder needs config.json and model.safetensors)`);
  }
  let config: StateLabHfConfig;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as StateLabHfConfig;
  } catch (error) {
    throw new ExportError(`import: ${configPath}: malformed JSON (${(error as Error).message})`);
  }
  if (config.model_type !== HF_MODEL_TYPE || typeof config.statelab_graph !== 'object' || !config.statelab_graph) {
    throw new ExportError(
      `import: ${configPath} has model_type "${config.model_type}" without a statelab_graph; only folders StateLab exported can be imported`,
    );
  }
  const graph = parseGraph(JSON.stringify(config.statelab_graph), configPath);
  const file = decodeSafetensors(new Uint8Array(readFileSync(weightsPath)), weightsPath);
  const params: TensorMap = new Map();
  for (const t of file.tensors) {
    // F16/BF16 weights (a user may have converted them) widen to F32, which StateLab trains in.
    if (!(t.data instanceof Float32Array)) {
      throw new ExportError(
        `import: ${weightsPath}: tensor "${t.name}" is ${t.dtype}; expected a floating-point tensor`,
      );
    }
    params.set(t.name, { shape: t.shape, data: t.data });
  }
  const { model } = buildPlan(graph);
  checkParams(model.specs, params);
  return { graph, params, config };
}

/**
 * Imports an HF-layout folder as a new run (graph.json, config.json, run.json and a step-0 checkpoint
 * with zero optimizer moments), so `statelab eval|resume|export` work on it.
 */
export function importHfToRun(dir: string, runsDir: string, name?: string): Run {
  const { graph, params, config } = importHfFolder(dir);
  const model = buildPlan(graph).model;
  const run = new RunStore(runsDir).create(
    {
      name: name ?? `${graph.name} (imported)`,
      data: { kind: 'imported', from: dir, source: config.statelab_source ?? null },
      train: {},
      seed: 0,
      versions: { statelab: config.statelab_version },
      device: {},
    },
    graph,
    hfConfig(model, graph),
  );
  const zeros: TensorMap = new Map();
  for (const [key, t] of params) {
    zeros.set(`${key}.exp_avg`, { shape: t.shape, data: new Float32Array(t.data.length) });
    zeros.set(`${key}.exp_avg_sq`, { shape: t.shape, data: new Float32Array(t.data.length) });
  }
  run.saveCheckpoint({
    step: 0,
    params,
    optimizer: zeros,
    state: { step: 0, optimizerStep: 0, dataPosition: { batches: 0 } },
  });
  const tokenizer = join(dir, 'tokenizer.json');
  if (existsSync(tokenizer)) writeFileAtomic(join(run.dir, 'tokenizer.json'), readFileSync(tokenizer));
  run.updateInfo({ status: 'completed', message: `imported from ${dir}` });
  return run;
}
