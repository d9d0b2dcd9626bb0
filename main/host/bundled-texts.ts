// The plain-text corpora shipped in `assets/text/` (one `<id>.txt` each). Only files in that folder are
// ever read: an id is checked against the folder's listing, never joined into a path unchecked.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LabApiError, type BundledText } from '../../shared/lab-api.js';

export function listBundledTexts(textDir: string): BundledText[] {
  let names: string[];
  try {
    names = readdirSync(textDir);
  } catch (error) {
    throw new Error(`bundled texts: cannot read ${textDir} (${(error as Error).message})`);
  }
  return names
    .filter((name) => name.endsWith('.txt'))
    .sort()
    .map((name) => {
      const path = join(textDir, name);
      const firstLine = readFileSync(path, 'utf8').split('\n', 1)[0].trim();
      return { id: name.slice(0, -'.txt'.length), title: firstLine || name, bytes: statSync(path).size };
    });
}

export function readBundledText(textDir: string, id: string): string {
  const known = listBundledTexts(textDir);
  if (!known.some((text) => text.id === id)) {
    const ids = known.map((text) => text.id).join(', ') || 'none';
    throw new LabApiError('not-found', `readText: no bundled text "${id}" (bundled texts: ${ids})`);
  }
  return readFileSync(join(textDir, `${id}.txt`), 'utf8');
}
