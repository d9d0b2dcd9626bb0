// The bundled architecture templates (assets/templates/<name>.json), one per seed architecture.

import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const TEMPLATE_DIR = fileURLToPath(new URL('../../assets/templates/', import.meta.url));

export function templateNames(): string[] {
  if (!existsSync(TEMPLATE_DIR)) return [];
  return readdirSync(TEMPLATE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function templatePath(name: string): string | null {
  const path = join(TEMPLATE_DIR, `${name}.json`);
  return /^[a-z0-9-]+$/.test(name) && existsSync(path) ? path : null;
}
