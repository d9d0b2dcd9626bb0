// A Hugging Face Transformer folder (config.json + model.safetensors + tokenizer.json) of model_type
// llama or gpt2 → an equivalent StateLab graph and parameters (`readTransformer`), or a new run folder
// with graph.json, a step-0 checkpoint and the tokenizer (`importTransformer`): "any StateLab checkpoint"
// from then on, for distillation, generation, evaluation and inspection. Every check runs before the
// run folder is created, so a refused teacher leaves nothing behind.

import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { compileGraph, GraphCompileError, type CompiledModel } from '../../gpu/graph/compile.js';
import { writeFileAtomic } from '../host/atomic-file.js';
import type { TensorMap } from '../host/runs/checkpoint-file.js';
import { RunStore, type Run } from '../host/runs/run-store.js';
import { hfConfig } from '../host/train-run.js';
import { HF_MODEL_TYPE } from '../export/hf-config.js';
import type { Teacher } from './architecture.js';
import { TeacherImportError } from './errors.js';
import { gpt2Teacher } from './gpt2.js';
import { readConfig, readHfFolder, type HfFolder } from './hf-folder.js';
import { llamaTeacher } from './llama.js';
import { checkTeacherTokenizer, type TeacherTokenizerReport } from './tokenizer.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const MAPPERS: Record<string, (folder: HfFolder) => Teacher> = { llama: llamaTeacher, gpt2: gpt2Teacher };

export const TEACHER_MODEL_TYPES = Object.keys(MAPPERS);

/**
 * Whether `statelab import` should treat the folder as a teacher: it has a config.json whose model_type is
 * not StateLab's own ("statelab", main/export/hf-config.ts), which the export's import reads back instead.
 */
export function isTeacherFolder(dir: string): boolean {
  try {
    return readConfig(dir).value('model_type') !== HF_MODEL_TYPE;
  } catch {
    return false;
  }
}

export interface ReadTeacher extends Teacher {
  model: CompiledModel;
  tokenizer: TeacherTokenizerReport;
}

export function readTransformer(dir: string): ReadTeacher {
  const folder = readHfFolder(dir);
  const type = folder.config.string('model_type', '');
  const mapper = MAPPERS[type];
  if (!mapper)
    folder.config.fail(
      'model_type',
      `${JSON.stringify(type)} is not supported (importable teachers: ${TEACHER_MODEL_TYPES.join(', ')})`,
    );
  const teacher = mapper(folder);
  const model = compiled(teacher, folder.config.path);
  return { ...teacher, model, tokenizer: checkTeacherTokenizer(folder.tokenizerPath, teacher.graph.model.vocab_size) };
}

/** Compiles the mapped graph and checks the mapping filled every parameter with its shape. */
function compiled(teacher: Teacher, configPath: string): CompiledModel {
  let model: CompiledModel;
  try {
    model = compileGraph(teacher.graph);
  } catch (error) {
    if (error instanceof GraphCompileError)
      throw new TeacherImportError(`${configPath}: maps to a graph StateLab refuses: ${error.message}`);
    throw error;
  }
  // A mismatch here is a bug of the mapper, not of the folder: say so rather than blame the user's files.
  const names = new Set(model.specs.map((s) => s.name));
  for (const spec of model.specs) {
    const t = teacher.params.get(spec.name);
    if (!t || t.shape.join() !== spec.shape.join())
      throw new Error(`${teacher.modelType} import: parameter "${spec.name}" was not mapped to shape [${spec.shape}]`);
  }
  for (const name of teacher.params.keys())
    if (!names.has(name)) throw new Error(`${teacher.modelType} import: "${name}" is not a parameter of the graph`);
  return model;
}

export interface ImportedTeacher {
  run: Run;
  modelType: Teacher['modelType'];
  tokenizer: TeacherTokenizerReport;
}

/** Imports the folder as a new run under `runsDir`; the checkpoint is step 0 with zero optimizer moments. */
export function importTransformer(dir: string, runsDir: string, name?: string): ImportedTeacher {
  const teacher = readTransformer(dir);
  const { tokenizer } = teacher;
  const run = new RunStore(runsDir).create(
    {
      name: name ?? `${basename(dir)} (${teacher.modelType} teacher)`,
      data: {
        kind: 'imported',
        from: dir,
        model_type: teacher.modelType,
        tokenizer: tokenizer.path ? 'tokenizer.json' : null,
        tokenizer_problem: tokenizer.problem,
      },
      // What `statelab eval` reads (its trainer needs a schedule of at least one step); nothing trained.
      train: {
        steps: 1,
        batch: 8,
        seqLen: Math.min(teacher.maxPositions, 256),
        lr: 0,
        evalEvery: 0,
        evalBatches: 4,
        checkpointEvery: 0,
      },
      seed: 0,
      versions: { statelab: VERSION },
      device: {},
    },
    teacher.graph,
    hfConfig(teacher.model, teacher.graph),
  );
  const zeros: TensorMap = new Map();
  for (const [key, t] of teacher.params) {
    zeros.set(`${key}.exp_avg`, { shape: t.shape, data: new Float32Array(t.data.length) });
    zeros.set(`${key}.exp_avg_sq`, { shape: t.shape, data: new Float32Array(t.data.length) });
  }
  run.saveCheckpoint({
    step: 0,
    params: teacher.params,
    optimizer: zeros,
    state: { step: 0, optimizerStep: 0, dataPosition: { batches: 0 } },
  });
  if (tokenizer.path) writeFileAtomic(join(run.dir, 'tokenizer.json'), readFileSync(tokenizer.path));
  run.updateInfo({
    status: 'completed',
    message: `imported ${teacher.modelType} teacher from ${dir}${tokenizer.problem ? `; tokenizer not usable: ${tokenizer.problem}` : ''}`,
  });
  return { run, modelType: teacher.modelType, tokenizer };
}
