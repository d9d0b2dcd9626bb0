// Recently opened workspaces, most recent first, kept in a small JSON settings file (Electron: in
// userData). A broken or missing file means "no history"; writes are temp-then-rename.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';

const MAX_RECENT = 8;

export class RecentWorkspaces {
  constructor(private readonly file: string | null) {}

  list(): string[] {
    if (!this.file || !existsSync(this.file)) return [];
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { recent?: unknown };
      return Array.isArray(parsed.recent) ? parsed.recent.filter((p): p is string => typeof p === 'string') : [];
    } catch {
      return [];
    }
  }

  /** Moves `path` to the front; returns the new list. */
  add(path: string): string[] {
    const absolute = resolve(path);
    const recent = [absolute, ...this.list().filter((p) => p !== absolute)].slice(0, MAX_RECENT);
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileAtomic(this.file, `${JSON.stringify({ recent }, null, 2)}\n`);
    }
    return recent;
  }
}
