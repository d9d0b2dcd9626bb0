// safetensors files on disk. Writing goes through writeFileAtomic (temporary sibling, fsync, rename, fsync
// of the directory), so a reader — or a process killed mid-write — only ever sees the old file or the
// complete new one. Reading names the file in every error.

import { readFileSync } from 'node:fs';
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
  type SafetensorsEntry,
  type SafetensorsFile,
} from '../../shared/formats/safetensors.js';
import { writeFileAtomic } from './atomic-file.js';

export function writeSafetensorsFile(
  path: string,
  tensors: SafetensorsEntry[],
  metadata: Record<string, string> = {},
): void {
  const bytes = encodeSafetensors(tensors, metadata, path);
  try {
    writeFileAtomic(path, bytes);
  } catch (error) {
    throw new SafetensorsError(path, `cannot write (${describe(error)})`);
  }
}

export function readSafetensorsFile(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new SafetensorsError(path, `cannot read (${describe(error)})`);
  }
  return decodeSafetensors(bytes, path);
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}
