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
