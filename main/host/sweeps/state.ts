// The sweep state file, `<runs>/sweeps/<sweep name>.state.json`: for each grid point, the run folder
// that holds it and whether it is finished (with its metric). Written temp-then-rename after every
// change, so a killed sweep leaves either the old or the new file. It is an index, not the truth: a run
// folder whose run.json name is `<sweep>/<point id>` is found even when the state never recorded it.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';

export const STATE_FORMAT = 'statelab-sweep-state';

export type PointStatus = 'done' | 'skipped' | 'failed';

export interface PointState {
  status: PointStatus;
  /** Run folder id under the runs directory. */
  run?: string;
  /** How training ended (the run's status: completed, target-reached, stopped at the time cap, …). */
  outcome?: string;
  metric?: number;
  valLoss?: number;
  accuracy?: number;
  steps?: number;
  seconds?: number;
  message?: string;
  finished: string;
}

export interface SweepState {
  format: typeof STATE_FORMAT;
  version: 1;
  sweep: string;
  points: Record<string, PointState>;
}

export function statePath(runsDir: string, sweepName: string): string {
  return join(runsDir, 'sweeps', `${sweepName}.state.json`);
}

export function readState(runsDir: string, sweepName: string): SweepState {
  const path = statePath(runsDir, sweepName);
  if (!existsSync(path)) return { format: STATE_FORMAT, version: 1, sweep: sweepName, points: {} };
  let raw: SweepState;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as SweepState;
  } catch (error) {
    throw new Error(
      `${path}: malformed sweep state (${(error as Error).message}); delete it to rebuild from run folders`,
    );
  }
  if (raw.format !== STATE_FORMAT || typeof raw.points !== 'object' || raw.points === null)
    throw new Error(`${path}: not a sweep state file (format ${JSON.stringify(raw.format)})`);
  return raw;
}

export function writeState(runsDir: string, state: SweepState): void {
  mkdirSync(join(runsDir, 'sweeps'), { recursive: true });
  writeFileAtomic(statePath(runsDir, state.sweep), `${JSON.stringify(state, null, 1)}\n`);
}

/** The name a sweep's run carries in run.json: how its folder is recognised without the state file. */
export function sweepRunName(sweepName: string, pointId: string): string {
  return `${sweepName}/${pointId}`;
}
