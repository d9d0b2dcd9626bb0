// Saved parameters (a checkpoint's name → {shape, data} map) onto the GPU for inference: checked against
// the compiled model's specs so a checkpoint from another graph fails with the parameter's name, never
// with a shape error deep inside a kernel. Unlike `createParams`, nothing is marked trainable.

import type { Engine } from '../engine.js';
import type { ParamMap, ParamSpec } from '../nn/module.js';

export type SavedTensors = ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>;

export function uploadParams(
  engine: Engine,
  specs: readonly ParamSpec[],
  saved: SavedTensors,
  source = 'checkpoint',
): ParamMap {
  const problems: string[] = [];
  for (const spec of specs) {
    const t = saved.get(spec.name);
    if (!t) problems.push(`parameter "${spec.name}" is missing`);
    else if (t.shape.join() !== spec.shape.join())
      problems.push(`parameter "${spec.name}" has shape [${t.shape}], the graph needs [${spec.shape}]`);
  }
  const expected = new Set(specs.map((s) => s.name));
  for (const name of saved.keys()) if (!expected.has(name)) problems.push(`parameter "${name}" is not in the graph`);
  if (problems.length) throw new Error(`${source} does not match the graph:\n  - ${problems.join('\n  - ')}`);

  const params: ParamMap = new Map();
  for (const spec of specs) {
    const tensor = engine.keep(engine.fromArray(saved.get(spec.name)!.data, spec.shape));
    tensor.name = spec.name;
    params.set(spec.name, tensor);
  }
  return params;
}
