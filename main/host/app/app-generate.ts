// The Playground's host side. Generation itself runs in the page's Worker on navigator.gpu, like training
// (the Train view's pattern: the desktop app's main process cannot open dawn.node, and streaming tokens
// from the page's own GPU needs no per-token round trip to the host). The host hands over what the Worker
// needs — a checkpoint's model file, the run's graph and its tokenizer — refusing what `statelab generate`
// refuses, with the same words; and it keeps the workspace's prompt sets in one JSON file written temp-then-rename.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LabApiError,
  type PlaygroundModel,
  type PlaygroundTokenizer,
  type PromptSet,
} from '../../../shared/lab-api.js';
import { loadTokenizer } from '../../../shared/tokenizers/index.js';
import { compileGraph } from '../../../gpu/graph/compile.js';
import { writeFileAtomic } from '../atomic-file.js';
import { openRun } from './app-runs.js';
import { confined } from './confine.js';
import type { Workspace } from './workspace.js';

/** The prompt-set file in the workspace folder. */
export const PROMPT_SETS_FILE = 'prompt-sets.json';
const FORMAT = 'statelab-prompt-sets';

/** A checkpoint, graph and tokenizer for the Worker; task runs and other tokenizers are refused as the CLI refuses them. */
export function playgroundModel(runsDir: string, runId: string, step: number): PlaygroundModel {
  const run = openRun(runsDir, runId);
  const info = run.info();
  const data = info.data as { kind?: string; tokenizer?: string; task?: string };
  if (data.kind === 'task') {
    throw new LabApiError(
      'bad-arguments',
      `run ${run.id} was trained on the synthetic task "${data.task}": its tokens are not text (use the Inspect view's task analyses)`,
    );
  }
  const tokenizer = runTokenizer(run.id, run.dir, data);
  const steps = run.checkpointSteps();
  if (!steps.includes(step)) {
    throw new LabApiError(
      'not-found',
      steps.length
        ? `run ${run.id} has no checkpoint at step ${step} (have: ${steps.join(', ')})`
        : `run ${run.id} has no checkpoints yet: generation needs trained parameters`,
    );
  }
  const graph = run.graph();
  try {
    compileGraph(graph);
  } catch (error) {
    throw new LabApiError('bad-arguments', `run ${run.id}: its graph does not compile: ${(error as Error).message}`);
  }
  const seqLen = Number((info.train as { seqLen?: unknown }).seqLen);
  const file = join(run.dir, 'checkpoints', `step-${String(step).padStart(7, '0')}.safetensors`);
  return {
    run: run.id,
    name: info.name,
    step,
    graph,
    tokenizer,
    trainLength: Number.isInteger(seqLen) && seqLen > 0 ? seqLen : null,
    model: new Uint8Array(readFileSync(confined(runsDir, file, `run "${run.id}" checkpoint ${step}`))),
  };
}

/** Byte-level text runs, and teachers imported from Hugging Face with their tokenizer.json (as the CLI). */
function runTokenizer(id: string, dir: string, data: { kind?: string; tokenizer?: string }): PlaygroundTokenizer {
  if (data.kind === 'text' && (data.tokenizer ?? 'byte') === 'byte') return { kind: 'byte' };
  if (data.kind === 'imported' && typeof data.tokenizer === 'string') {
    const path = confined(dir, join(dir, data.tokenizer), `run "${id}" tokenizer`);
    const json = readFileSync(path, 'utf8');
    try {
      loadTokenizer(json, path); // refused here, with the file named, rather than in the page
    } catch (error) {
      throw new LabApiError('unsupported', `run ${id}: ${(error as Error).message}`);
    }
    return { kind: 'tokenizer.json', json };
  }
  throw new LabApiError(
    'unsupported',
    `run ${id}: tokenizer "${data.tokenizer ?? 'unknown'}" is not supported by generate yet (byte-level runs and imported teachers only)`,
  );
}

/** prompt-sets.json: `{ format, version: 1, sets: [{ name, prompts: [...] }] }`, in the order saved. */
export class PromptSets {
  constructor(private readonly workspace: (method: string) => Workspace) {}

  list(): PromptSet[] {
    return this.read('listPromptSets');
  }

  save(set: PromptSet): PromptSet[] {
    const sets = this.read('savePromptSet');
    const at = sets.findIndex((s) => s.name === set.name);
    if (at >= 0) sets[at] = set;
    else sets.push(set);
    return this.write('savePromptSet', sets);
  }

  delete(name: string): PromptSet[] {
    const sets = this.read('deletePromptSet');
    if (!sets.some((s) => s.name === name)) {
      throw new LabApiError('not-found', `deletePromptSet: no prompt set "${name}" in ${PROMPT_SETS_FILE}`);
    }
    return this.write(
      'deletePromptSet',
      sets.filter((s) => s.name !== name),
    );
  }

  private path(method: string): string {
    const root = this.workspace(method).root;
    return confined(root, join(root, PROMPT_SETS_FILE), PROMPT_SETS_FILE);
  }

  /** A file that is not what we wrote is reported with the field at fault, never overwritten silently. */
  private read(method: string): PromptSet[] {
    const path = this.path(method);
    if (!existsSync(path)) return [];
    const fail = (what: string): never => {
      throw new LabApiError(
        'bad-arguments',
        `${method}: ${path}: ${what} (fix or remove the file; the Playground writes it again)`,
      );
    };
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      return fail(`not valid JSON (${(error as Error).message})`);
    }
    const d = doc as { format?: unknown; version?: unknown; sets?: unknown };
    if (d === null || typeof d !== 'object' || d.format !== FORMAT) fail(`"format" must be "${FORMAT}"`);
    if (d.version !== 1) fail(`"version" ${JSON.stringify(d.version)} is not 1`);
    if (!Array.isArray(d.sets)) return fail('"sets" must be an array');
    return d.sets.map((s: { name?: unknown; prompts?: unknown }, i) => {
      if (typeof s?.name !== 'string' || !s.name.trim()) fail(`sets[${i}].name must be a non-blank string`);
      if (!Array.isArray(s.prompts) || s.prompts.some((p) => typeof p !== 'string'))
        fail(`sets[${i}].prompts must be an array of strings`);
      return { name: s.name as string, prompts: [...(s.prompts as string[])] };
    });
  }

  private write(method: string, sets: PromptSet[]): PromptSet[] {
    writeFileAtomic(this.path(method), `${JSON.stringify({ format: FORMAT, version: 1, sets }, null, 2)}\n`);
    return sets;
  }
}
