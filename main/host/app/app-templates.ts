// The bundled architecture templates (`<assets>/templates/<id>.json`) as the template gallery lists them.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabApiError, type TemplateInfo } from '../../../shared/lab-api.js';

export function listTemplates(templateDir: string): TemplateInfo[] {
  if (!existsSync(templateDir)) return [];
  return readdirSync(templateDir)
    .filter((file) => /^[a-z0-9][a-z0-9_-]*\.json$/.test(file))
    .sort()
    .map((file) => {
      const id = file.slice(0, -5);
      try {
        const doc = JSON.parse(readFileSync(join(templateDir, file), 'utf8')) as {
          name?: string;
          description?: string;
        };
        return { id, name: doc.name ?? id, description: doc.description ?? '' };
      } catch {
        return { id, name: id, description: 'This template file is not valid JSON.' };
      }
    });
}

export function readTemplate(templateDir: string, id: string): string {
  if (!listTemplates(templateDir).some((t) => t.id === id)) {
    throw new LabApiError('not-found', `readTemplate: no template "${id}"`);
  }
  return readFileSync(join(templateDir, `${id}.json`), 'utf8');
}
