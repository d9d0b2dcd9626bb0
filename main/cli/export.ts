// `statelab export` and `statelab import`: a run (or a graph) to PyTorch, ONNX or the Hugging Face layout,
// and an HF-layout folder back into a run. The lead's statelab.ts dispatches here:
//   case 'export': return exportCommand(rest);   case 'import': return importCommand(rest);

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseGraph } from '../../shared/graph/parse.js';
import { compileGraph } from '../../gpu/graph/compile.js';
import { initialValues } from '../../gpu/nn/module.js';
import type { TensorMap } from '../host/runs/checkpoint-file.js';
import { RunStore } from '../host/runs/run-store.js';
import { templatePath, templateNames } from '../host/templates.js';
import { ExportError } from '../export/errors.js';
import { importHfToRun, writeHfFolder } from '../export/hf.js';
import { writeOnnxFolder } from '../export/onnx/export.js';
import { writePytorchPackage } from '../export/pytorch.js';
import { loadRunSource, type ExportSource } from '../export/source.js';
import { EXPORT_FORMATS, supportedMixers, type ExportFormat } from '../export/support.js';
import { numberOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const families = (format: ExportFormat) => {
  const list = supportedMixers(format);
  return list === 'all' ? 'every layer family' : list.join(', ');
};

export const EXPORT_USAGE = `statelab export <run> --format pytorch|onnx|hf [--out DIR] [--step N] [--runs DIR] [--json]
statelab export --graph <graph.json | template> --format … [--seed S] --out DIR   (fresh initialization)
      --external-bytes N   ONNX: weights of at least N bytes go to model.onnx.data (default 1024)
  pytorch  a Python package: model.py (one nn.Module per family), config.json, model.safetensors, load.py,
           train.py (single GPU or torchrun), README.md — families: ${families('pytorch')}
  onnx     model.onnx (parallel) + model_step.onnx (one token, carried states) + model.onnx.data
           — families: ${families('onnx')}
  hf       config.json + model.safetensors (+ tokenizer.json for byte-level runs) — ${families('hf')}
statelab import <hf-folder> [--runs DIR] [--name NAME]   an exported HF/PyTorch folder back into a run`;

/** A graph with its initial parameters (the run's init for that seed), for exporting untrained models. */
function graphSource(ref: string, seed: number): ExportSource {
  const path = existsSync(ref) ? ref : templatePath(ref);
  if (!path)
    throw new UsageError(`"${ref}" is neither a graph file nor a template (templates: ${templateNames().join(', ')})`);
  const graph = parseGraph(readFileSync(path, 'utf8'), path);
  const params: TensorMap = new Map();
  for (const spec of compileGraph(graph).specs) {
    params.set(spec.name, { shape: spec.shape, data: Float32Array.from(initialValues(spec, seed).data) });
  }
  return { graph, params, origin: {} };
}

function exportTo(format: ExportFormat, source: ExportSource, out: string, args: ParsedArgs) {
  if (format === 'pytorch') return writePytorchPackage(source, out, VERSION);
  if (format === 'hf') return writeHfFolder(source, out);
  const externalBytes = numberOption(args, 'external-bytes', 1024, { integer: true, min: 0 });
  return writeOnnxFolder(source, out, { externalBytes });
}

export async function exportCommand(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv, {
      values: ['format', 'out', 'step', 'runs', 'graph', 'seed', 'external-bytes'],
      flags: ['json'],
    });
    const format = stringOption(args, 'format') as ExportFormat | undefined;
    if (!format || !EXPORT_FORMATS.includes(format)) {
      throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}${format ? ` (got "${format}")` : ''}`);
    }
    const graphRef = stringOption(args, 'graph');
    const [runRef] = args.positionals;
    if (!graphRef === !runRef) throw new UsageError('export needs a run (id or folder) or --graph, not both');
    let source: ExportSource;
    let out = stringOption(args, 'out');
    if (runRef) {
      const runsDir = stringOption(args, 'runs', 'runs')!;
      const step = args.options.has('step') ? numberOption(args, 'step', 0, { integer: true, min: 0 }) : undefined;
      source = loadRunSource(runRef, runsDir, step);
      out ??= join(new RunStore(runsDir).open(runRef).dir, 'exports', `${format}-step-${source.origin?.step}`);
    } else {
      if (!out) throw new UsageError('export --graph needs --out');
      source = graphSource(graphRef!, numberOption(args, 'seed', 1, { integer: true, min: 0 }));
    }
    const result = exportTo(format, source, resolve(out), args);
    if (args.options.has('json')) {
      process.stdout.write(
        `${JSON.stringify({ event: 'exported', format, out: resolve(out), files: result.files, families: result.plan.mixerKinds })}\n`,
      );
    } else {
      process.stdout.write(
        `exported ${source.graph.name} (${result.plan.mixerKinds.join(', ') || 'no mixers'}) as ${format} to ${resolve(out)}:\n`,
      );
      for (const f of result.files) process.stdout.write(`  ${f}\n`);
    }
    return 0;
  } catch (error) {
    return fail(error, EXPORT_USAGE);
  }
}

export async function importCommand(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv, { values: ['runs', 'name'], flags: ['json'] });
    const [folder] = args.positionals;
    if (!folder) throw new UsageError('import needs a folder with config.json and model.safetensors');
    const run = importHfToRun(resolve(folder), stringOption(args, 'runs', 'runs')!, stringOption(args, 'name'));
    if (args.options.has('json')) process.stdout.write(`${JSON.stringify({ event: 'imported', run: run.dir })}\n`);
    else process.stdout.write(`imported ${folder} as run ${run.id} (${run.dir})\n`);
    return 0;
  } catch (error) {
    return fail(error, EXPORT_USAGE);
  }
}

function fail(error: unknown, usage: string): number {
  if (error instanceof UsageError) {
    process.stderr.write(`statelab: ${error.message}\n\n${usage}\n`);
    return 64;
  }
  process.stderr.write(`statelab: ${(error as Error).message}\n`);
  return error instanceof ExportError ? 2 : 1;
}
