// The Sweep view's host side, over the sweep service (main/host/sweeps): sweep files named by where they
// live (bundled, or the workspace's sweeps/ folder) and their file name — never a path from the page —
// one sweep running at a time on the host's GPU, its progress kept for the page to poll, and results,
// chart series and CSV read back from the run folders, exactly as `statelab sweep` reads them.

import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  LabApiError,
  type SweepChartSeries,
  type SweepFileInfo,
  type SweepPlan,
  type SweepProgress,
  type SweepRef,
  type SweepResultsView,
} from '../../../shared/lab-api.js';
import {
  BUNDLED_SWEEP_DIR,
  listSweeps,
  readSweep,
  startSweep,
  SweepError,
  sweepCsv,
  sweepResults,
  type SweepHandle,
} from '../sweeps/index.js';
import { parseSweep } from '../../../shared/sweeps/parse.js';
import { writeFileAtomic } from '../atomic-file.js';
import { chartSeries } from '../sweeps/results.js';
import { confined } from './confine.js';
import type { Workspace } from './workspace.js';

const LOG_LINES = 40;

/** The workspace folder that holds the user's sweep files. */
export function sweepsDir(workspace: Workspace): string {
  return join(workspace.root, 'sweeps');
}

export class AppSweeps {
  private active: { handle: SweepHandle; progress: SweepProgress } | null = null;
  private last: SweepProgress | null = null;

  /**
   * `canTrain`: whether this process can open dawn.node (browser mode and tests can; Electron's main process
   * cannot, so the desktop app refuses to start a sweep and names the CLI command instead).
   */
  constructor(
    private readonly workspace: (method: string) => Workspace,
    private readonly canTrain = true,
  ) {}

  list(): SweepFileInfo[] {
    const dir = sweepsDir(this.workspace('listSweeps'));
    return listSweeps([dir]).map((s) => ({
      ref: `${s.bundled ? 'bundled' : 'workspace'}:${basename(s.path)}`,
      name: s.name,
      ...(s.description ? { description: s.description } : {}),
      bundled: s.bundled,
    }));
  }

  /** The file a ref names; refused when it does not exist or a link leads out of the workspace. */
  path(method: string, ref: SweepRef): string {
    const [where, file] = [ref.slice(0, ref.indexOf(':')), ref.slice(ref.indexOf(':') + 1)];
    const path =
      where === 'bundled'
        ? join(BUNDLED_SWEEP_DIR, file)
        : confined(this.workspace(method).root, join(sweepsDir(this.workspace(method)), file), `sweeps/${file}`);
    if (!existsSync(path)) throw new LabApiError('not-found', `${method}: no sweep file ${ref}`);
    return path;
  }

  /** Saves a picked sweep file into sweeps/ after checking its shape; never replaces an existing file. */
  import(name: string, text: string): SweepFileInfo {
    const workspace = this.workspace('importSweepFile');
    const sweep = checked(() => parseSweep(text, name));
    const dir = sweepsDir(workspace);
    mkdirSync(dir, { recursive: true });
    const path = confined(workspace.root, join(dir, name), `sweeps/${name}`);
    if (existsSync(path)) {
      throw new LabApiError(
        'bad-arguments',
        `importSweepFile: sweeps/${name} already exists; rename the file to add it beside the existing one`,
      );
    }
    writeFileAtomic(path, text);
    return {
      ref: `workspace:${name}`,
      name: sweep.name,
      ...(sweep.description ? { description: sweep.description } : {}),
      bundled: false,
    };
  }

  read(ref: SweepRef): SweepPlan {
    const overview = checked(() => readSweep(this.path('readSweep', ref)));
    return {
      ref,
      name: overview.name,
      ...(overview.description ? { description: overview.description } : {}),
      metric: overview.metric,
      axes: overview.axes,
      ...(overview.bestOf ? { bestOf: overview.bestOf } : {}),
      families: overview.families,
      seeds: overview.seeds,
      memoryBudgetBytes: overview.memoryBudgetBytes,
      points: overview.points,
    };
  }

  start(ref: SweepRef): SweepProgress {
    if (this.active) {
      throw new LabApiError(
        'unsupported',
        `startSweep: sweep "${this.active.progress.name}" is still running; stop it first (it can be resumed later)`,
      );
    }
    const path = this.path('startSweep', ref);
    if (!this.canTrain) {
      throw new LabApiError(
        'unsupported',
        `startSweep: the desktop app cannot train on the host's GPU yet; run \`statelab sweep "${path}" --runs "${this.workspace('startSweep').runsDir}"\` and watch its results here`,
      );
    }
    const runsDir = this.workspace('startSweep').runsDir;
    const plan = checked(() => readSweep(path)); // refuses bad files, grids and memory before anything runs
    const progress: SweepProgress = {
      ref,
      name: plan.name,
      state: 'running',
      count: plan.points.length,
      position: 0,
      ran: 0,
      skipped: 0,
      failed: 0,
      log: [],
    };
    const log = (line: string) => {
      progress.log = [...progress.log, line].slice(-LOG_LINES);
    };
    const handle = startSweep(
      path,
      { runsDir },
      {
        onRunStart(point, position, count) {
          progress.position = position;
          progress.count = count;
          progress.current = { id: point.id, step: 0, steps: point.train.steps };
          log(`[${position + 1}/${count}] ${point.id}`);
        },
        onMetrics(point, row) {
          progress.current = { id: point.id, step: row.step + 1, steps: point.train.steps, loss: row.loss };
        },
        onRunEnd(point, entry) {
          if (entry.status === 'failed') progress.failed++;
          else progress.ran++;
          const metric = entry.metric !== undefined ? `${plan.metric} ${entry.metric.toFixed(4)}` : entry.message;
          log(`${point.id}: ${entry.status}${metric ? ` — ${metric}` : ''}`);
        },
        onSkip(point, entry) {
          progress.skipped++;
          log(`${point.id}: ${entry.status === 'skipped' ? `skipped (${entry.message})` : 'finished earlier'}`);
        },
        onLog: log,
      },
    );
    this.active = { handle, progress };
    handle.done
      .then(
        (summary) => {
          progress.state = summary.status;
          progress.current = undefined;
          log(
            `${plan.name}: ${summary.status} — ${summary.ran} trained, ${summary.skipped} skipped, ${summary.failed} failed`,
          );
        },
        (error: Error) => {
          progress.state = 'failed';
          progress.message = error.message;
          log(`${plan.name} failed: ${error.message}`);
        },
      )
      .finally(() => {
        this.last = progress;
        this.active = null;
      });
    return structuredClone(progress);
  }

  stop(): SweepProgress | null {
    if (!this.active) return null;
    this.active.progress.state = 'stopping';
    this.active.handle.stop();
    return structuredClone(this.active.progress);
  }

  progress(): SweepProgress | null {
    const p = this.active?.progress ?? this.last;
    return p ? structuredClone(p) : null;
  }

  results(ref: SweepRef): SweepResultsView {
    return checked(() => sweepResults(this.path('sweepResults', ref), this.workspace('sweepResults').runsDir));
  }

  chart(ref: SweepRef, xAxis: string): SweepChartSeries[] {
    const results = this.results(ref);
    if (!results.axes.includes(xAxis) && xAxis !== 'params' && xAxis !== 'stateBytes') {
      throw new LabApiError(
        'bad-arguments',
        `sweepChart: sweep ${results.sweep} has no axis "${xAxis}" (axes: ${results.axes.join(', ')}; also params, stateBytes)`,
      );
    }
    return chartSeries(results, xAxis);
  }

  csv(ref: SweepRef): string {
    return checked(() => sweepCsv(this.path('sweepCsv', ref), this.workspace('sweepCsv').runsDir));
  }
}

/** Sweep errors are the user's to fix (they name the file, field, graph or node): bad-arguments. */
function checked<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof LabApiError) throw error;
    if (error instanceof SweepError) {
      throw new LabApiError('bad-arguments', (error as Error).message);
    }
    throw error;
  }
}
