// Exporting a run's checkpoint through the exporters the CLI uses (main/export): the Hugging Face layout,
// the PyTorch package or ONNX, into a folder the user picked (Electron), or as bytes the page offers as
// downloads (browser mode). `exportFormats` says beforehand which formats can express the run's graph,
// and why not (the exporter's own message, naming each node), so the page never offers a dead end.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LabApiError,
  type ExportDownload,
  type ExportedFile,
  type ExportFormatId,
  type ExportFormatInfo,
  type ExportFormats,
} from '../../../shared/lab-api.js';
import { ExportError } from '../../export/errors.js';
import { writeHfFolder } from '../../export/hf.js';
import { writeOnnxFolder } from '../../export/onnx/export.js';
import { buildPlan } from '../../export/plan.js';
import { writePytorchPackage } from '../../export/pytorch.js';
import { loadRunSource } from '../../export/source.js';
import { supportedMixers } from '../../export/support.js';
import { openRun } from './app-runs.js';

/** What each format writes and is for, in the order the page lists them. */
const FORMATS: Omit<ExportFormatInfo, 'families' | 'supported' | 'reason'>[] = [
  {
    format: 'hf',
    label: 'Hugging Face layout',
    purpose: 'storage, the Hub, statelab import',
    files: ['config.json', 'model.safetensors', 'tokenizer.json'],
  },
  {
    format: 'pytorch',
    label: 'PyTorch package',
    purpose: 'continue training in PyTorch (single GPU or torchrun)',
    files: ['config.json', 'model.safetensors', 'tokenizer.json', 'model.py', 'load.py', 'train.py', 'README.md'],
  },
  {
    format: 'onnx',
    label: 'ONNX',
    purpose: 'inference in ONNX Runtime: parallel prefill, then one token at a time with carried states',
    files: ['model.onnx', 'model_step.onnx', 'model.onnx.data', 'onnx.json', 'config.json'],
  },
];

export function exportFolderName(runId: string, step: number, format: ExportFormatId = 'hf'): string {
  return format === 'hf' ? `${runId}-step-${step}` : `${runId}-step-${step}-${format}`;
}

/** Per format: can it express this run's graph, and if not, the exporter's reason (naming the nodes). */
export function exportFormats(runsDir: string, runId: string): ExportFormats {
  const graph = openRun(runsDir, runId).graph();
  let families: string[];
  try {
    families = buildPlan(graph).plan.mixerKinds;
  } catch (error) {
    throw new LabApiError('bad-arguments', `run "${runId}": ${(error as Error).message}`);
  }
  const formats = FORMATS.map((f): ExportFormatInfo => {
    const allowed = supportedMixers(f.format);
    const info: ExportFormatInfo = { ...f, families: allowed === 'all' ? 'all' : [...allowed], supported: true };
    // The exporter itself decides: a family it knows may still use an option it cannot express.
    try {
      buildPlan(graph, f.format);
    } catch (error) {
      return { ...info, supported: false, reason: (error as Error).message };
    }
    return info;
  });
  return { graph: graph.name, families, formats };
}

export function exportToFolder(
  runsDir: string,
  runId: string,
  step: number,
  format: ExportFormatId,
  folder: string,
  version: string,
): ExportedFile[] {
  const run = openRun(runsDir, runId);
  if (!run.checkpointSteps().includes(step)) {
    throw new LabApiError('not-found', `run "${runId}" has no checkpoint at step ${step}`);
  }
  let files: string[];
  try {
    const source = loadRunSource(run.dir, runsDir, step);
    if (format === 'pytorch') files = writePytorchPackage(source, folder, version).files;
    else if (format === 'onnx') files = writeOnnxFolder(source, folder).files;
    else files = writeHfFolder(source, folder, 'hf').files;
  } catch (error) {
    // A graph the format cannot express is the user's to change; anything else is ours.
    const code = error instanceof ExportError ? 'unsupported' : 'internal';
    throw new LabApiError(code, `${format} export of ${runId} step ${step} failed: ${(error as Error).message}`);
  }
  return files.map((name) => ({ name, bytes: statSync(join(folder, name)).size }));
}

export function exportDownload(
  runsDir: string,
  runId: string,
  step: number,
  format: ExportFormatId,
  version: string,
): ExportDownload {
  const scratch = mkdtempSync(join(tmpdir(), 'statelab-export-'));
  try {
    const written = exportToFolder(runsDir, runId, step, format, scratch, version);
    return {
      folderName: exportFolderName(runId, step, format),
      files: written
        .map((f) => f.name)
        .sort()
        .map((name) => ({ name, data: new Uint8Array(readFileSync(join(scratch, name))) })),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
