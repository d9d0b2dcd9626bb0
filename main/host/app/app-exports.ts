// Exporting a run's checkpoint in the Hugging Face layout (config.json with the graph, model.safetensors,
// tokenizer.json for byte-level runs) through the exporter the CLI uses: into a folder the user picked
// (Electron), or as bytes the page offers as downloads (browser mode).

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabApiError, type ExportDownload, type ExportedFile } from '../../../shared/lab-api.js';
import { writeHfFolder } from '../../export/hf.js';
import { loadRunSource } from '../../export/source.js';
import { openRun } from './app-runs.js';

export function exportFolderName(runId: string, step: number): string {
  return `${runId}-step-${step}`;
}

export function exportToFolder(runsDir: string, runId: string, step: number, folder: string): ExportedFile[] {
  const run = openRun(runsDir, runId);
  if (!run.checkpointSteps().includes(step)) {
    throw new LabApiError('not-found', `run "${runId}" has no checkpoint at step ${step}`);
  }
  let files: string[];
  try {
    files = writeHfFolder(loadRunSource(run.dir, runsDir, step), folder, 'hf').files;
  } catch (error) {
    throw new LabApiError('internal', `export of ${runId} step ${step} failed: ${(error as Error).message}`);
  }
  return files.map((name) => ({ name, bytes: statSync(join(folder, name)).size }));
}

export function exportDownload(runsDir: string, runId: string, step: number): ExportDownload {
  const scratch = mkdtempSync(join(tmpdir(), 'statelab-export-'));
  try {
    exportToFolder(runsDir, runId, step, scratch);
    return {
      folderName: exportFolderName(runId, step),
      files: readdirSync(scratch)
        .sort()
        .map((name) => ({ name, data: new Uint8Array(readFileSync(join(scratch, name))) })),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
