// The Inspect view's host side, over the analyses `statelab inspect` runs (main/host/analyses): what a
// run can have (its training length, task, layers; which analyses apply, with their options as the CLI's
// help describes them), one analysis at a time on the host's GPU, and the saved results read back from
// runs/<id>/analyses/<name>.json. Like sweeps, analyses need dawn.node, which the desktop app's main
// process cannot load: there the view names the CLI command and shows what it saved.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ANALYSIS_NAMES,
  LabApiError,
  type AnalysisChoice,
  type AnalysisName,
  type AnalysisOptions,
  type AnalysisOptionSpec,
  type AnalysisProgress,
  type ExtrapolationProbeView,
  type ImplicitAttentionView,
  type InspectRunInfo,
  type MqarView,
  type PasskeyView,
  type SavedAnalysis,
  type SavedAnalysisInfo,
  type StatesView,
  type StateTrackingView,
} from '../../../shared/lab-api.js';
import { resolveTask } from '../../../shared/tasks/index.js';
import { compileGraph } from '../../../gpu/graph/compile.js';
import { mixerLayers } from '../../../gpu/generate/memory.js';
import type { Engine } from '../../../gpu/engine.js';
import { runExtrapolation, type ProbeResult } from '../analyses/extrapolation.js';
import { runImplicitAttention, type ImplicitResult } from '../analyses/implicit-attention.js';
import { runMqar, type MqarResult } from '../analyses/mqar.js';
import { runPasskey, type PasskeyResult } from '../analyses/passkey.js';
import { PROBES } from '../analyses/probes.js';
import { runStates, type StatesResult } from '../analyses/states.js';
import { runStateTracking, type LengthPoint } from '../analyses/state-tracking.js';
import { createNodeEngine } from '../node-gpu.js';
import type { Run } from '../runs/run-store.js';
import { openRun } from './app-runs.js';
import { confined } from './confine.js';
import type { Workspace } from './workspace.js';

// The host's result types must satisfy what the page's charts read (the views in shared/lab-api.ts).
type Satisfies<T extends V, V> = T;
export type ResultViewChecks = [
  Satisfies<ProbeResult, ExtrapolationProbeView>,
  Satisfies<StatesResult, StatesView>,
  Satisfies<ImplicitResult, ImplicitAttentionView>,
  Satisfies<PasskeyResult, PasskeyView>,
  Satisfies<MqarResult, MqarView>,
  Satisfies<{ task: string; points: LengthPoint[] }, StateTrackingView>,
];

const option = (
  name: string,
  label: string,
  kind: AnalysisOptionSpec['kind'],
  defaultText: string,
  extra: Partial<AnalysisOptionSpec> = {},
): AnalysisOptionSpec => ({ name, label, kind, default: defaultText, ...extra });

const probe = option('probe', 'probe', 'choice', 'validation', { choices: [...PROBES] });
const prompt = option('prompt', 'repeated prompt (repeat probe)', 'text', "Stuffed Mamba's sentence");
const token = option('token', 'token id (data-free probe)', 'integer', "'\\n' (text) or 0 (task)", { min: 0 });
const batch = (d: number) => option('batch', 'sequences per pass', 'integer', String(d), { min: 1 });
const seed = option('seed', 'seed', 'integer', '1', { min: 0 });
const budget = option('memoryBudget', 'GPU memory budget (MiB)', 'number', '4096', { min: 1 });
const samples = (d: number) => option('samples', 'examples per point', 'integer', String(d), { min: 1 });

/** What each analysis is, when a run can have it, and its options (`statelab inspect --help`, camel-cased). */
const ANALYSES: Record<
  AnalysisName,
  { label: string; description: string; task?: string | 'any'; options: (layers: string[]) => AnalysisOptionSpec[] }
> = {
  extrapolation: {
    label: 'Length extrapolation',
    description:
      'Loss at every position up to factor × the training length, streamed with the state carried across chunks; ' +
      'loss at 1, 2, 4, 8, 16 × T and the extrapolation factor.',
    options: () => [
      option('factor', 'length (× T)', 'number', '16', { min: 1 }),
      option('probes', 'probes', 'choices', 'validation, repeat, data-free', { choices: [...PROBES] }),
      option('chunk', 'tokens per streamed chunk', 'integer', 'T', { min: 1 }),
      option('bucket', 'bucket size (tokens)', 'integer', 'T/8, at least 8', { min: 1 }),
      option('tolerance', 'tolerance ε (perplexity)', 'number', '0.1', { min: 0 }),
      option('factorWindow', 'factor window (tokens)', 'integer', 'T', { min: 1 }),
      prompt,
      token,
      batch(4),
      seed,
      budget,
    ],
  },
  states: {
    label: 'State statistics and collapse',
    description:
      'Per layer and head the RMS, mean, variance and decay of the recurrent state over time; heads whose ' +
      'statistics explode or vanish past the training length are flagged.',
    options: () => [
      option('factor', 'length (× T)', 'number', '16', { min: 1 }),
      option('every', 'tokens between samples', 'integer', 'T/8', { min: 1 }),
      probe,
      option('ratio', 'collapse ratio', 'number', '4', { min: 1 }),
      option('maxHeads', 'heads reported per state', 'integer', '16', { min: 1 }),
      prompt,
      token,
      batch(2),
      seed,
      budget,
    ],
  },
  'implicit-attention': {
    label: 'Implicit attention',
    description:
      'Per layer the T×T matrix that maps inputs to outputs for one sequence (exact for linear families, ' +
      'Jacobian-based for nonlinear RNNs), per head and averaged, and their rollout across layers.',
    options: (layers) => [
      option('length', 'tokens', 'integer', 'min(T, 64)', { min: 1 }),
      option('heads', 'heads kept', 'integers', '0', { min: 0 }),
      option('layers', 'layers', 'choices', 'all', { choices: layers }),
      probe,
      option('residual', 'rollout residual weight', 'number', '0.5', { min: 0 }),
      prompt,
      token,
      seed,
    ],
  },
  passkey: {
    label: 'Passkey retrieval',
    description: 'Accuracy as a needle-depth × context-length heatmap, and the longest length recalled.',
    task: 'passkey',
    options: () => [
      option('lengths', 'context lengths', 'integers', '0.5, 1, 2, 4, 8, 16 × T', { min: 1 }),
      option('depths', 'depth bins', 'integer', '10', { min: 1 }),
      samples(20),
      option('threshold', 'capacity threshold', 'number', '0.9', { min: 0 }),
      batch(64),
      seed,
      budget,
    ],
  },
  mqar: {
    label: 'MQAR recall',
    description: 'Accuracy against the number of key-value pairs (Zoology).',
    task: 'mqar',
    options: () => [
      option('kv', 'key-value pairs', 'integers', '1, 2, 4, … up to what fits', { min: 1 }),
      option('length', 'sequence length', 'integer', 'T', { min: 2 }),
      samples(100),
      batch(64),
      seed,
      budget,
    ],
  },
  'state-tracking': {
    label: 'State tracking at longer lengths',
    description: "The run's task regenerated longer than trained: token, sequence and last-position accuracy.",
    task: 'any',
    options: () => [
      option('lengths', 'test lengths', 'integers', '1, 2, 4, 8 × T', { min: 2 }),
      samples(100),
      batch(64),
      seed,
      budget,
    ],
  },
};

type Runner = (engine: Engine, request: Record<string, unknown>) => Promise<unknown>;
const RUNNERS: Record<AnalysisName, Runner> = {
  extrapolation: (e, r) => runExtrapolation(e, r as unknown as Parameters<typeof runExtrapolation>[1]),
  states: (e, r) => runStates(e, r as unknown as Parameters<typeof runStates>[1]),
  'implicit-attention': (e, r) => runImplicitAttention(e, r as unknown as Parameters<typeof runImplicitAttention>[1]),
  passkey: (e, r) => runPasskey(e, r as unknown as Parameters<typeof runPasskey>[1]),
  mqar: (e, r) => runMqar(e, r as unknown as Parameters<typeof runMqar>[1]),
  'state-tracking': (e, r) => runStateTracking(e, r as unknown as Parameters<typeof runStateTracking>[1]),
};

/** The run's synthetic task, or null for text. */
function runTaskOf(run: Run): { task: string; params: Record<string, number> } | null {
  const data = run.info().data as { kind?: unknown; task?: unknown; params?: Record<string, number> };
  return data.kind === 'task' && typeof data.task === 'string' ? { task: data.task, params: data.params ?? {} } : null;
}

function trainLengthOf(run: Run): number | null {
  try {
    const task = runTaskOf(run);
    if (task) return resolveTask(task.task, task.params).seqLen;
    const seqLen = Number((run.info().train as { seqLen?: unknown }).seqLen);
    return Number.isInteger(seqLen) && seqLen > 0 ? seqLen : null;
  } catch {
    return null;
  }
}

/** Checks the options against the analysis's specs; every refusal names the option and the analysis. */
function checkOptions(analysis: AnalysisName, options: AnalysisOptions, layers: string[]): Record<string, unknown> {
  const specs = new Map([['step', option('step', 'checkpoint', 'integer', 'latest', { min: 0 })]]);
  for (const spec of ANALYSES[analysis].options(layers)) specs.set(spec.name, spec);
  const request: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    const spec = specs.get(name);
    const fail = (what: string): never => {
      throw new LabApiError('bad-arguments', `startAnalysis: ${analysis} option "${name}" ${what}`);
    };
    if (!spec) fail(`is not one of ${[...specs.keys()].join(', ')}`);
    const { kind, min = -Infinity, choices = [] } = spec!;
    const number = (v: unknown, integer: boolean) => {
      if (typeof v !== 'number' || (integer && !Number.isInteger(v)))
        fail(`must be ${integer ? 'an integer' : 'a number'}`);
      if ((v as number) < min) fail(`must be at least ${min} (got ${v})`);
    };
    if (kind === 'number' || kind === 'integer') number(value, kind === 'integer');
    else if (kind === 'integers') {
      if (!Array.isArray(value) || value.length === 0) fail('must be a list of integers');
      (value as unknown[]).forEach((v) => number(v, true));
    } else if (kind === 'text') {
      if (typeof value !== 'string' || value === '') fail('must be non-empty text');
    } else if (kind === 'choice') {
      if (typeof value !== 'string' || !choices.includes(value)) fail(`must be one of ${choices.join(', ')}`);
    } else if (!Array.isArray(value) || value.length === 0 || value.some((v) => !choices.includes(v as string)))
      fail(`must be a list of ${choices.join(', ')}`);
    if (name === 'memoryBudget') request.memoryBudgetBytes = (value as number) * 2 ** 20;
    else request[name] = value;
  }
  return request;
}

export class AppInspect {
  private active: { progress: AnalysisProgress; startedAt: number } | null = null;
  private last: AnalysisProgress | null = null;

  /** `canRun`: whether this process can open dawn.node (browser mode and tests; not Electron's main). */
  constructor(
    private readonly workspace: (method: string) => Workspace,
    private readonly canRun = true,
  ) {}

  info(runId: string): InspectRunInfo {
    const run = openRun(this.workspace('inspectRun').runsDir, runId);
    const info = run.info();
    const task = runTaskOf(run);
    const checkpoints = run.checkpointSteps();
    let layers: string[] = [];
    try {
      layers = mixerLayers(compileGraph(run.graph())).map((l) => l.name);
    } catch (error) {
      throw new LabApiError(
        'bad-arguments',
        `inspectRun: run ${run.id}'s graph does not compile: ${(error as Error).message}`,
      );
    }
    const analyses = ANALYSIS_NAMES.map((name): AnalysisChoice => {
      const a = ANALYSES[name];
      const choice = { name, label: a.label, description: a.description, options: a.options(layers) };
      const trainedOn = task ? `the task "${task.task}"` : 'text';
      if (checkpoints.length === 0)
        return {
          ...choice,
          available: false,
          reason: `run ${run.id} has no checkpoints yet (status: ${info.status}): analyses need trained parameters`,
        };
      if (a.task === 'any' && !task)
        return {
          ...choice,
          available: false,
          reason: `needs a run trained on a synthetic task (parity, modular arithmetic, …); this run was trained on text`,
        };
      if (a.task && a.task !== 'any' && task?.task !== a.task)
        return {
          ...choice,
          available: false,
          reason: `needs a run trained on the ${a.task} task; this run was trained on ${trainedOn}`,
        };
      return { ...choice, available: true };
    });
    return {
      run: run.id,
      name: info.name,
      trainLength: trainLengthOf(run),
      task: task?.task ?? null,
      checkpoints,
      layers,
      analyses,
      saved: this.saved(run),
      canRun: this.canRun,
    };
  }

  start(runId: string, analysis: AnalysisName, options: AnalysisOptions): AnalysisProgress {
    if (this.active) {
      const p = this.active.progress;
      throw new LabApiError(
        'unsupported',
        `startAnalysis: ${p.analysis} of run ${p.run} is still running; wait for it to finish`,
      );
    }
    const runsDir = this.workspace('startAnalysis').runsDir;
    const info = this.info(runId);
    const choice = info.analyses.find((a) => a.name === analysis)!;
    if (!choice.available) throw new LabApiError('bad-arguments', `startAnalysis: ${analysis}: ${choice.reason}`);
    const request = { ...checkOptions(analysis, options, info.layers), runsDir, run: runId };
    if (!this.canRun) {
      throw new LabApiError(
        'unsupported',
        `startAnalysis: the desktop app cannot run analyses on the host's GPU yet; run \`statelab inspect ${runId} --analysis ${analysis} --runs "${runsDir}"\` and open its result here`,
      );
    }
    const progress: AnalysisProgress = {
      run: runId,
      analysis,
      options,
      state: 'running',
      started: new Date().toISOString(),
      seconds: 0,
    };
    const startedAt = performance.now();
    this.active = { progress, startedAt };
    const job = async () => {
      const engine = await createNodeEngine();
      try {
        await RUNNERS[analysis](engine, request);
      } finally {
        engine.destroy();
      }
    };
    job()
      .then(
        () => (progress.state = 'finished'),
        (error: Error) => {
          progress.state = 'failed';
          progress.message = error.message;
        },
      )
      .finally(() => {
        progress.seconds = (performance.now() - startedAt) / 1000;
        this.last = progress;
        this.active = null;
      });
    return structuredClone(progress);
  }

  progress(): AnalysisProgress | null {
    if (this.active)
      return { ...structuredClone(this.active.progress), seconds: (performance.now() - this.active.startedAt) / 1000 };
    return this.last ? structuredClone(this.last) : null;
  }

  read(runId: string, name: string): SavedAnalysis {
    const run = openRun(this.workspace('readAnalysis').runsDir, runId);
    const path = confined(run.dir, join(run.dir, 'analyses', `${name}.json`), `run "${runId}" analysis ${name}`);
    if (!existsSync(path))
      throw new LabApiError('not-found', `readAnalysis: run ${runId} has no saved analysis "${name}"`);
    let doc: { analysis?: unknown };
    try {
      doc = JSON.parse(readFileSync(path, 'utf8')) as { analysis?: unknown };
    } catch (error) {
      throw new LabApiError('bad-arguments', `readAnalysis: ${path} is not valid JSON (${(error as Error).message})`);
    }
    if (!ANALYSIS_NAMES.includes(doc?.analysis as AnalysisName))
      throw new LabApiError(
        'bad-arguments',
        `readAnalysis: ${path}: "analysis" ${JSON.stringify(doc?.analysis)} is not one this view shows`,
      );
    return doc as SavedAnalysis;
  }

  /** The run's analyses/*.json files of the analyses this view shows, newest first. */
  private saved(run: Run): SavedAnalysisInfo[] {
    const dir = join(run.dir, 'analyses');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((file): SavedAnalysisInfo[] => {
        const path = join(dir, file);
        try {
          confined(run.dir, path, file);
          const doc = JSON.parse(readFileSync(path, 'utf8')) as {
            analysis?: unknown;
            step?: unknown;
            created?: unknown;
          };
          if (!ANALYSIS_NAMES.includes(doc.analysis as AnalysisName)) return [];
          return [
            {
              name: file.slice(0, -5),
              step: typeof doc.step === 'number' ? doc.step : null,
              created: typeof doc.created === 'string' ? doc.created : null,
              bytes: statSync(path).size,
            },
          ];
        } catch {
          return []; // a half-written or foreign file is not listed
        }
      })
      .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  }
}
