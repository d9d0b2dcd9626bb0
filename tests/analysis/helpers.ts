// Shared by the analysis tests: tiny template models (d = 32) with seeded random parameters, and the
// per-token scores of one long parallel forward computed on the CPU in float64 from its logits — the
// oracle the streamed analyses are compared against.

import { readFileSync } from 'node:fs';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { compileGraph, type CompiledModel } from '../../gpu/graph/compile.js';
import { createParams, type ParamMap } from '../../gpu/nn/module.js';
import type { Engine } from '../../gpu/engine.js';
import { cpuTensor } from '../../gpu/cpu/tensor.js';
import { tokenScoresRef } from '../../gpu/analysis/token-scores.ref.js';
import { templatePath } from '../../main/host/templates.js';
import { RunStore, type Run } from '../../main/host/runs/run-store.js';

export function template(name: string, width = 32): GraphDoc {
  const doc = parseGraph(readFileSync(templatePath(name)!, 'utf8'), `${name}.json`);
  doc.model.d_model = width;
  return doc;
}

export interface Loaded {
  model: CompiledModel;
  params: ParamMap;
}

export function load(engine: Engine, doc: GraphDoc, seed = 3): Loaded {
  const model = compileGraph(doc);
  return { model, params: createParams(engine, model.specs, seed) };
}

/** Seeded token ids in [0, vocab). */
export function randomIds(count: number, vocab: number, seed: number): Int32Array {
  let s = seed >>> 0 || 1;
  return Int32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

/** float64 (nll, argmax, scored) per token from one parallel forward over the whole [B, L] batch. */
export async function parallelScores(
  engine: Engine,
  m: Loaded,
  inputs: Int32Array,
  targets: Int32Array,
  batch: number,
  length: number,
): Promise<Float64Array> {
  const vocab = m.model.graph.doc.model.vocab_size;
  const logits = engine.tidy(() =>
    engine.noGrad(() => m.model.logits(m.params, engine.fromArray(inputs, [batch, length], 'i32'))),
  );
  const data = await logits.read();
  logits.release();
  return tokenScoresRef(cpuTensor([batch * length, vocab], data), targets).data;
}

/**
 * A run folder whose checkpoint holds a model's seeded initial parameters (no training): the analyses
 * read run folders, and some properties are about constructed models rather than trained ones.
 */
export async function makeRun(
  engine: Engine,
  runsDir: string,
  doc: GraphDoc,
  options: {
    seqLen: number;
    data?: Record<string, unknown>;
    seed?: number;
    name?: string;
    /** Changes a parameter's values before they are saved (e.g. zero-initialized output projections). */
    adjust?: (name: string, values: Float32Array) => void;
  },
): Promise<Run> {
  const m = load(engine, doc, options.seed ?? 3);
  const saved = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, t] of m.params) {
    const data = Float32Array.from(await t.read());
    options.adjust?.(name, data);
    saved.set(name, { shape: t.shape, data });
  }
  for (const t of m.params.values()) t.release();
  const run = new RunStore(runsDir).create(
    {
      name: options.name ?? doc.name,
      data: options.data ?? { kind: 'text', path: TEXT, tokenizer: 'byte' },
      train: { seqLen: options.seqLen },
      seed: options.seed ?? 3,
      versions: {},
      device: {},
    },
    doc,
    {},
  );
  run.saveCheckpoint({
    step: 1,
    params: saved,
    optimizer: new Map(),
    state: { step: 1, optimizerStep: 1, dataPosition: null },
  });
  run.updateInfo({ status: 'completed' });
  return run;
}

/** A template whose block mixer is replaced (kind and options). */
export function withMixer(name: string, kind: string, params: Record<string, unknown> = {}, width = 32): GraphDoc {
  const doc = template(name, width);
  const node = Object.values(doc.blocks ?? {})
    .flatMap((b) => b.nodes)
    .find((n) => n.kind.startsWith('mixer.'));
  if (!node) throw new Error(`template ${name} has no mixer node`);
  node.kind = `mixer.${kind}`;
  node.params = params as typeof node.params;
  return doc;
}

export const TEXT = new URL('../../assets/text/lighthouse.txt', import.meta.url).pathname;
