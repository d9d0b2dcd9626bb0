// The run folder: `runs/<id>/` with run.json (config, seeds, versions, device), graph.json,
// metrics.jsonl, config.json (HF-style) and checkpoints/step-N.safetensors (+ .optim.safetensors with the
// optimizer moments and trainer state). A run folder is self-describing: copying it is enough to inspect,
// resume or export it. Every file but the metrics log is written temp-then-rename; the log is appended
// line by line and a torn last line (a killed process) is skipped when read.

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphDoc } from '../../../shared/graph/schema.js';
import type { Checkpoint, MetricsRow, TrainerState } from '../../../gpu/train/trainer.js';
import { FileWriteError, writeFileAtomic } from '../atomic-file.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-file.js';

export interface RunInfo {
  id: string;
  created: string;
  name: string;
  /** What was trained on: a file path or a synthetic task with its parameters. */
  data: Record<string, unknown>;
  train: Record<string, unknown>;
  seed: number;
  versions: Record<string, string>;
  device: Record<string, unknown>;
  status: 'running' | 'completed' | 'target-reached' | 'stopped' | 'non-finite' | 'failed';
  message?: string;
}

/** A run folder file that is missing, torn or not what StateLab writes; the message starts with its path. */
export class RunFolderError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'RunFolderError';
  }
}

export class Run {
  constructor(readonly dir: string) {}

  get id(): string {
    return this.dir.split(/[\\/]/).pop()!;
  }

  info(): RunInfo {
    const path = join(this.dir, 'run.json');
    const info = readJson(path) as Record<string, unknown>;
    const problem =
      !info || typeof info !== 'object' || Array.isArray(info)
        ? 'is not a JSON object'
        : !isRecord(info.data)
          ? '"data" is not an object'
          : !isRecord(info.train)
            ? '"train" is not an object'
            : typeof info.status !== 'string'
              ? '"status" is not a string'
              : null;
    if (problem) throw new RunFolderError(path, `not a StateLab run description: ${problem}`);
    return info as unknown as RunInfo;
  }

  graph(): GraphDoc {
    const path = join(this.dir, 'graph.json');
    const graph = readJson(path);
    if (!isRecord(graph)) throw new RunFolderError(path, 'not a graph document (not a JSON object)');
    return graph as unknown as GraphDoc;
  }

  writeInfo(info: RunInfo): void {
    writeFileAtomic(join(this.dir, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  }

  updateInfo(change: Partial<RunInfo>): void {
    this.writeInfo({ ...this.info(), ...change });
  }

  appendMetrics(row: MetricsRow): void {
    const path = join(this.dir, 'metrics.jsonl');
    try {
      appendFileSync(path, `${JSON.stringify(row)}\n`);
    } catch (error) {
      throw new FileWriteError(path, (error as NodeJS.ErrnoException).code, error);
    }
  }

  /** All complete metric rows; a torn final line from a killed process is ignored. */
  metrics(): MetricsRow[] {
    const path = join(this.dir, 'metrics.jsonl');
    if (!existsSync(path)) return [];
    const lines = readFileSync(path, 'utf8').split('\n');
    const rows: MetricsRow[] = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        // Only the last line may be torn (a process killed mid-append); anything else is corruption.
        if (i < lines.length - 2) throw new RunFolderError(`${path}:${i + 1}`, 'corrupted metrics line');
        return;
      }
      if (!isRecord(row) || typeof row.step !== 'number' || !Number.isInteger(row.step)) {
        throw new RunFolderError(`${path}:${i + 1}`, 'a metrics row needs an integer "step"');
      }
      rows.push(row as unknown as MetricsRow);
    });
    return rows;
  }

  /**
   * Before training continues from the checkpoint at `step`: keeps the metric rows of the steps before it
   * (the resumed trainer reports the later ones again) and drops a torn last line, rewriting the log
   * temp-then-rename — otherwise new rows would be appended after a killed process's half line. Also
   * removes temporary files a killed writer left behind.
   */
  rewindTo(step: number): void {
    const path = join(this.dir, 'metrics.jsonl');
    if (existsSync(path)) {
      const kept = this.metrics().filter((row) => row.step < step);
      writeFileAtomic(path, kept.map((row) => `${JSON.stringify(row)}\n`).join(''));
    }
    for (const dir of [this.dir, join(this.dir, 'checkpoints')]) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (/^\..*\.tmp$/.test(name)) unlinkSync(join(dir, name));
      }
    }
  }

  /** Writes the optimizer file first, then the model file: a model file's presence marks a complete checkpoint. */
  saveCheckpoint(checkpoint: Checkpoint, metadata: Record<string, string> = {}): string {
    const dir = join(this.dir, 'checkpoints');
    mkdirSync(dir, { recursive: true });
    const base = join(dir, `step-${String(checkpoint.step).padStart(7, '0')}`);
    writeFileAtomic(`${base}.optim.safetensors`, encodeCheckpoint(checkpoint.optimizer, { trainer_state: JSON.stringify(checkpoint.state) }));
    writeFileAtomic(`${base}.safetensors`, encodeCheckpoint(checkpoint.params, { format: 'pt', step: String(checkpoint.step), ...metadata }));
    return `${base}.safetensors`;
  }

  checkpointSteps(): number[] {
    const dir = join(this.dir, 'checkpoints');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((f) => /^step-(\d+)\.safetensors$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, `step-${m[1]}.optim.safetensors`)))
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  loadCheckpoint(step?: number): Checkpoint {
    const steps = this.checkpointSteps();
    const chosen = step ?? steps[steps.length - 1];
    if (chosen === undefined || !steps.includes(chosen)) {
      throw new RunFolderError(
        this.dir,
        `run ${this.id}: no checkpoint${step !== undefined ? ` at step ${step}` : ''} (have: ${steps.join(', ') || 'none'})`,
      );
    }
    const base = join(this.dir, 'checkpoints', `step-${String(chosen).padStart(7, '0')}`);
    const read = (path: string) => {
      try {
        return decodeCheckpoint(readFileSync(path), path);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith(path)) throw error; // names the file already
        throw new RunFolderError(path, `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    };
    const model = read(`${base}.safetensors`);
    const optimPath = `${base}.optim.safetensors`;
    const optim = read(optimPath);
    const stateJson = optim.metadata.trainer_state;
    if (!stateJson) throw new RunFolderError(optimPath, 'missing trainer_state metadata');
    let state: unknown;
    try {
      state = JSON.parse(stateJson);
    } catch (error) {
      throw new RunFolderError(optimPath, `trainer_state is not valid JSON (${(error as Error).message})`);
    }
    if (!isRecord(state) || !Number.isInteger(state.step) || !Number.isInteger(state.optimizerStep)) {
      throw new RunFolderError(optimPath, 'trainer_state needs integer "step" and "optimizerStep"');
    }
    return { step: chosen, params: model.tensors, optimizer: optim.tensors, state: state as unknown as TrainerState };
  }
}

export class RunStore {
  constructor(readonly root: string) {}

  create(info: Omit<RunInfo, 'id' | 'created' | 'status'>, graph: GraphDoc, hfConfig: Record<string, unknown>): Run {
    mkdirSync(this.root, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    let id = `${stamp}-${slug(info.name)}`;
    for (let n = 2; existsSync(join(this.root, id)); n++) id = `${stamp}-${slug(info.name)}-${n}`;
    const run = new Run(join(this.root, id));
    mkdirSync(join(run.dir, 'checkpoints'), { recursive: true });
    writeFileAtomic(join(run.dir, 'graph.json'), `${JSON.stringify(graph, null, 2)}\n`);
    writeFileAtomic(join(run.dir, 'config.json'), `${JSON.stringify(hfConfig, null, 2)}\n`);
    run.writeInfo({ ...info, id, created: new Date().toISOString(), status: 'running' });
    return run;
  }

  /** Opens a run by id (under the root) or by folder path. */
  open(idOrPath: string): Run {
    const dir = existsSync(join(idOrPath, 'run.json')) ? idOrPath : join(this.root, idOrPath);
    if (!existsSync(join(dir, 'run.json'))) throw new Error(`no run "${idOrPath}" (looked for ${join(dir, 'run.json')})`);
    return new Run(dir);
  }

  list(): Run[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((name) => existsSync(join(this.root, name, 'run.json')) && statSync(join(this.root, name)).isDirectory())
      .sort()
      .map((name) => new Run(join(this.root, name)));
  }
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'run';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RunFolderError(path, `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RunFolderError(path, `malformed JSON (${(error as Error).message})`);
  }
}
