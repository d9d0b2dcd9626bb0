// ONNX export for inference: two models over one shared external weight file —
//   model.onnx        input_ids [batch, time] → logits [batch, time, vocab] and every mixer's final state
//                     (state_out.<module>.<state>), so a prompt can be prefilled in parallel;
//   model_step.onnx   input_ids [batch] + state.<module>.<state> → logits [batch, vocab] + state_out.…,
//                     one token at a time (streaming generation);
//   model.onnx.data   float weights of at least `externalBytes` bytes, under StateLab's names;
//   onnx.json         the state tensors (names, shapes) a caller must carry between steps.
// The graph is walked as gpu/graph/compile.ts walks it: top-level nodes in order, Repeat copies in turn.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../host/atomic-file.js';
import type { TensorMap } from '../../host/runs/checkpoint-file.js';
import { ExportError } from '../errors.js';
import { hfConfigJson } from '../hf-config.js';
import { buildPlan, type ExportPlan, type PlanNode } from '../plan.js';
import { checkParams, type ExportSource } from '../source.js';
import { OnnxGraph, OPSET, type Dim, type ExternalData } from './builder.js';
import { emitBuiltin } from './builtins.js';
import type { MixerStates, OnnxContext, OnnxMixer, ParamAccess, WeightOf } from './common.js';
import { ONNX_EMITTERS } from './mixers/index.js';

export const DATA_FILE = 'model.onnx.data';

export interface OnnxState {
  module: string;
  state: string;
  /** Input name in the step model. */
  input: string;
  /** Output name in both models. */
  output: string;
  /** Dims; 'batch' first, 'past' for a KV cache's token axis. */
  dims: Dim[];
}

export interface OnnxModels {
  parallel: Uint8Array;
  step: Uint8Array;
  /** The shared external weight file, or null when every weight stays inside the models. */
  data: Uint8Array | null;
  states: OnnxState[];
  plan: ExportPlan;
}

type Mode = { kind: 'parallel' } | { kind: 'step'; states: Map<string, MixerStates> };

/** Emits the whole model into `g`; returns the logits value and each mixer's final state. */
function emitModel(g: OnnxGraph, plan: ExportPlan, params: TensorMap, ids: string, mode: Mode) {
  const mixers = new Map<string, OnnxMixer>();
  const finals = new Map<string, MixerStates>();
  const weightsOf =
    (module: string): WeightOf =>
    (name) => {
      const full = `${module}.${name}`;
      const t = params.get(full);
      if (!t) throw new ExportError(`ONNX export: parameter "${full}" is missing`);
      return g.weight(full, t.shape, t.data);
    };
  const accessOf = (module: string): ParamAccess => ({
    read: (name) => {
      const t = params.get(`${module}.${name}`);
      if (!t) throw new ExportError(`ONNX export: parameter "${module}.${name}" is missing`);
      return t;
    },
    derived: (name, shape, values) => g.weight(`${module}.${name}`, shape, Float32Array.from(values)),
  });
  const embedding = plan.top.find((n) => n.kind === 'embedding')?.id;
  const tied = () => weightsOf(embedding!)('weight');
  // What layers hand to later layers of this model (as the compiler's MixerContext does on the GPU).
  const context: OnnxContext = { shared: new Map() };

  const runNodes = (nodes: PlanNode[], prefix: string, values: Map<string, string>): string | undefined => {
    for (const n of nodes) {
      const name = `${prefix}${n.id}`;
      g.scope = name;
      const inputs = Object.fromEntries(Object.entries(n.inputs).map(([port, ref]) => [port, values.get(ref)!]));
      if (n.kind === 'tokens') values.set(`${n.id}.ids`, ids);
      else if (n.kind === 'block.input') continue;
      else if (n.kind === 'block.output') return inputs.x;
      else if (n.kind === 'repeat') {
        let x = inputs.x;
        const block = plan.blocks[String(n.config.block)];
        for (let i = 0; i < (n.config.count as number); i++) {
          const local = new Map(block.filter((b) => b.kind === 'block.input').map((b) => [`${b.id}.x`, x]));
          x = runNodes(block, `${name}.${i}.`, local)!;
        }
        values.set(`${n.id}.y`, x);
      } else if (n.kind.startsWith('mixer.')) {
        const kind = n.kind.slice('mixer.'.length);
        const factory = ONNX_EMITTERS[kind];
        if (!factory) throw new ExportError(`the onnx export cannot express node "${name}" (a ${kind} layer)`);
        const mixer = factory(n.config, weightsOf(name), accessOf(name));
        mixers.set(name, mixer);
        const out =
          mode.kind === 'parallel'
            ? mixer.parallel(g, inputs.x, context)
            : mixer.step(g, inputs.x, mode.states.get(name)!, context);
        finals.set(name, out.state);
        values.set(`${n.id}.y`, out.y);
      } else {
        values.set(`${n.id}.${n.output}`, emitBuiltin(g, n.kind, n.config, weightsOf(name), inputs, tied));
      }
    }
    return undefined;
  };
  const top = new Map<string, string>();
  runNodes(plan.top, '', top);
  g.scope = '';
  const head = plan.top.find((n) => n.kind === 'lm_head')!;
  return { logits: top.get(`${head.id}.logits`)!, mixers, finals };
}

/** Mixer instances in execution order with their state specs (without emitting anything). */
function stateSpecs(plan: ExportPlan): OnnxState[] {
  const out: OnnxState[] = [];
  const visit = (nodes: PlanNode[], prefix: string) => {
    for (const n of nodes) {
      if (n.kind === 'repeat') {
        for (let i = 0; i < (n.config.count as number); i++)
          visit(plan.blocks[String(n.config.block)], `${prefix}${n.id}.${i}.`);
      } else if (n.kind.startsWith('mixer.')) {
        const module = `${prefix}${n.id}`;
        const none = () => '';
        const noAccess: ParamAccess = { read: () => ({ shape: [], data: new Float32Array() }), derived: none };
        const mixer = ONNX_EMITTERS[n.kind.slice('mixer.'.length)](n.config, none, noAccess);
        for (const s of mixer.states) {
          out.push({
            module,
            state: s.name,
            input: `state.${module}.${s.name}`,
            output: `state_out.${module}.${s.name}`,
            dims: ['batch', ...s.dims],
          });
        }
      }
    }
  };
  visit(plan.top, '');
  return out;
}

/** Every float weight at least `threshold` bytes long, in declaration order, 64-byte aligned. */
function externalLayout(names: string[], params: TensorMap, threshold: number) {
  const places = new Map<string, { offset: number; length: number }>();
  let size = 0;
  for (const name of names) {
    const length = params.get(name)!.data.byteLength;
    if (length < threshold) continue;
    const offset = Math.ceil(size / 64) * 64;
    places.set(name, { offset, length });
    size = offset + length;
  }
  if (!places.size) return null;
  const data = new Uint8Array(size);
  for (const [name, { offset }] of places) {
    const t = params.get(name)!.data;
    data.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), offset);
  }
  const external: ExternalData = { file: DATA_FILE, locate: (name) => places.get(name) };
  return { external, data };
}

export function buildOnnxModels(source: ExportSource, options: { externalBytes?: number } = {}): OnnxModels {
  const { plan, model } = buildPlan(source.graph, 'onnx');
  checkParams(model.specs, source.params);
  const layout = externalLayout(
    model.specs.map((s) => s.name),
    source.params,
    options.externalBytes ?? 1024,
  );
  const states = stateSpecs(plan);
  const vocab = plan.vocabSize;
  const doc = `StateLab export of "${plan.name}"`;

  const parallel = new OnnxGraph(`${plan.name} (parallel)`);
  const ids = parallel.input('input_ids', 'int64', ['batch', 'time']);
  const p = emitModel(parallel, plan, source.params, ids, { kind: 'parallel' });
  parallel.output(p.logits, 'logits', 'float', ['batch', 'time', vocab]);
  for (const s of states) {
    const dims = s.dims.map((d) => (d === 'past' ? 'time' : d));
    parallel.output(p.finals.get(s.module)![s.state], s.output, 'float', dims);
  }

  const step = new OnnxGraph(`${plan.name} (step)`);
  const token = step.input('input_ids', 'int64', ['batch']);
  const carried = new Map<string, MixerStates>();
  for (const s of states) {
    const entry = carried.get(s.module) ?? {};
    entry[s.state] = step.input(s.input, 'float', s.dims);
    carried.set(s.module, entry);
  }
  const q = emitModel(step, plan, source.params, token, { kind: 'step', states: carried });
  step.output(q.logits, 'logits', 'float', ['batch', vocab]);
  for (const s of states) {
    const dims = s.dims.map((d) => (d === 'past' ? 'past_plus_one' : d));
    step.output(q.finals.get(s.module)![s.state], s.output, 'float', dims);
  }

  return {
    parallel: parallel.serialize({ external: layout?.external, docString: `${doc}: parallel form` }),
    step: step.serialize({ external: layout?.external, docString: `${doc}: one-token step with carried state` }),
    data: layout?.data ?? null,
    states,
    plan,
  };
}

export function writeOnnxFolder(source: ExportSource, outDir: string, options: { externalBytes?: number } = {}) {
  const models = buildOnnxModels(source, options);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: Uint8Array | string) => {
    writeFileAtomic(join(outDir, name), data);
    files.push(name);
  };
  write('model.onnx', models.parallel);
  write('model_step.onnx', models.step);
  if (models.data) write(DATA_FILE, models.data);
  const manifest = {
    opset: OPSET,
    families: models.plan.mixerKinds,
    parallel: {
      file: 'model.onnx',
      inputs: ['input_ids [batch, time] int64'],
      outputs: ['logits [batch, time, vocab]'],
    },
    step: { file: 'model_step.onnx', inputs: ['input_ids [batch] int64'], outputs: ['logits [batch, vocab]'] },
    external_data: models.data ? DATA_FILE : null,
    states: models.states,
  };
  write('onnx.json', `${JSON.stringify(manifest, null, 2)}\n`);
  write('config.json', `${JSON.stringify(hfConfigJson(models.plan, source.graph, source.origin), null, 2)}\n`);
  return { ...models, files };
}
