// What an export starts from: a graph and its parameters (a run folder's checkpoint, or tensors held by a
// caller such as a test). The checkpoint must match the graph exactly — same names, same shapes — or the
// export stops and says which parameter differs.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphDoc } from '../../shared/graph/schema.js';
import { ByteTokenizer } from '../../shared/tokenizers/byte.js';
import type { ParamSpec } from '../../gpu/nn/module.js';
import type { TensorMap } from '../host/runs/checkpoint-file.js';
import { RunStore } from '../host/runs/run-store.js';
import { ExportError } from './errors.js';

export interface ExportSource {
  graph: GraphDoc;
  params: TensorMap;
  /** Where the parameters came from, recorded in config.json. */
  origin?: { run?: string; step?: number };
  /** The run's tokenizer as a Hugging Face tokenizer.json object, when it has one. */
  tokenizer?: unknown;
}

/** Reads a run folder (by id under `runsDir`, or by path) at its latest or a given checkpoint step. */
export function loadRunSource(runRef: string, runsDir: string, step?: number): ExportSource {
  const run = new RunStore(runsDir).open(runRef);
  const checkpoint = run.loadCheckpoint(step);
  const data = run.info().data as { kind?: string; tokenizer?: string };
  // Runs save their tokenizer beside them (tokenizer.json); older byte-level runs did not need to.
  const saved = join(run.dir, 'tokenizer.json');
  let tokenizer: unknown;
  if (existsSync(saved)) tokenizer = JSON.parse(readFileSync(saved, 'utf8'));
  else if (data.kind === 'text' && data.tokenizer === 'byte') tokenizer = new ByteTokenizer().toJSON();
  return { graph: run.graph(), params: checkpoint.params, origin: { run: run.id, step: checkpoint.step }, tokenizer };
}

/** Every parameter the graph declares is present with its shape, and nothing else is. */
export function checkParams(specs: ParamSpec[], params: TensorMap): void {
  const problems: string[] = [];
  for (const spec of specs) {
    const t = params.get(spec.name);
    if (!t) problems.push(`parameter "${spec.name}" is missing`);
    else if (t.shape.join() !== spec.shape.join())
      problems.push(`parameter "${spec.name}" has shape [${t.shape}], the graph expects [${spec.shape}]`);
    else if (t.data.length !== spec.shape.reduce((a, b) => a * b, 1))
      problems.push(`parameter "${spec.name}" holds ${t.data.length} values for shape [${spec.shape}]`);
  }
  const known = new Set(specs.map((s) => s.name));
  for (const name of params.keys()) if (!known.has(name)) problems.push(`"${name}" is not a parameter of the graph`);
  if (problems.length) throw new ExportError(`the checkpoint does not match the graph: ${problems.join('; ')}`);
}
