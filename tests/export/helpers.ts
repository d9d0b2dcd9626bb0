// Helpers of the export tests: parameters for a graph that make every layer matter (unit-gain random
// matrices instead of the small 0.02 init, which would let the embedding path dominate the logits), and
// a Python linter (Ruff, as WebAssembly) for the generated code.

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
