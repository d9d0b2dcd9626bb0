// The workspace: one user-visible folder holding `graphs/` (graph files the editor saves), `runs/` (run
// folders, the same layout the CLI writes) and `exports/`. The page names files, never paths: a name is
// checked against GRAPH_NAME and the resolved path must stay inside `graphs/`.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { parseGraph } from '../../../shared/graph/parse.js';
import { GRAPH_NAME, LabApiError, type GraphFileInfo } from '../../../shared/lab-api.js';
import { writeFileAtomic } from '../atomic-file.js';
import { confined, isInside } from './confine.js';

export class Workspace {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get graphsDir(): string {
    return join(this.root, 'graphs');
  }

  get runsDir(): string {
    return join(this.root, 'runs');
  }

  /** Creates the folders; a workspace that cannot be created is reported with its path. */
  ensure(): this {
    try {
      for (const dir of [this.root, this.graphsDir, this.runsDir]) mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new Error(`workspace ${this.root}: cannot create it (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
    return this;
  }

  listGraphs(): GraphFileInfo[] {
    if (!existsSync(this.graphsDir)) return [];
    return readdirSync(this.graphsDir)
      .filter((file) => file.endsWith('.json') && GRAPH_NAME.test(file.slice(0, -5)))
      .filter((file) => isInside(this.root, join(this.graphsDir, file)))
      .sort((a, b) => a.localeCompare(b))
      .map((file) => this.info(file.slice(0, -5)));
  }

  readGraph(name: string): string {
    const path = this.graphPath(name);
    if (!existsSync(path)) throw new LabApiError('not-found', `readGraph: no graph "${name}" in ${this.graphsDir}`);
    return readFileSync(path, 'utf8');
  }

  /** Only well-formed graph documents are written, temp-then-rename, so a crash never leaves half a file. */
  saveGraph(name: string, text: string): GraphFileInfo {
    try {
      parseGraph(text, name);
    } catch (error) {
      throw new LabApiError('bad-arguments', `saveGraph: refusing to save "${name}": ${(error as Error).message}`);
    }
    mkdirSync(this.graphsDir, { recursive: true });
    writeFileAtomic(this.graphPath(name), text);
    return this.info(name);
  }

  private graphPath(name: string): string {
    if (!GRAPH_NAME.test(name) || name.includes('..')) {
      throw new LabApiError('bad-arguments', `graph name ${JSON.stringify(name)} is not a plain file name`);
    }
    const path = resolve(this.graphsDir, `${name}.json`);
    if (!path.startsWith(this.graphsDir + sep)) {
      throw new LabApiError('bad-arguments', `graph name ${JSON.stringify(name)} leaves the workspace`);
    }
    return confined(this.root, path, `graph "${name}"`);
  }

  private info(name: string): GraphFileInfo {
    const stat = statSync(this.graphPath(name));
    return { name, bytes: stat.size, modified: stat.mtime.toISOString() };
  }
}
