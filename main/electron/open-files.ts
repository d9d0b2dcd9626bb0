// Graph files handed to the app by the system (double-click through the file association, the command
// line, macOS "open-file"). The user chose these files, so main reads them — only regular files with a
// graph extension, at most 16 MiB — and passes their text to the page, which parses and validates it.

import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';

export const GRAPH_EXTENSIONS = ['.statelab', '.json'];
const MAX_BYTES = 16 << 20;

/** Graph files named on a command line (the first entries are Electron and the app itself). */
export function graphPathsFromArgv(argv: string[], cwd: string): string[] {
  return argv
    .slice(1)
    .filter((arg) => !arg.startsWith('-') && GRAPH_EXTENSIONS.some((ext) => arg.toLowerCase().endsWith(ext)))
    .map((arg) => resolve(cwd, arg))
    .filter((path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    });
}

export function readGraphFile(path: string): { name: string; text: string } {
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error(`${path} is not a file`);
  if (stat.size > MAX_BYTES) throw new Error(`${path} is larger than ${MAX_BYTES >> 20} MiB: not a graph file`);
  return { name: basename(path), text: readFileSync(path, 'utf8') };
}
