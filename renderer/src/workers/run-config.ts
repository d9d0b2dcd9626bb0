// The trainer configuration of a run, derived exactly as the CLI derives it from run.json's `train`
// section (main/host/train-run.ts, trainerConfig): cosine schedule with warm-up, decoupled weight decay,
// no decay on norms/biases, so `statelab resume` continues an app run with the same optimizer settings.
// tests/host/app-worker-data.test.ts compares this with what the CLI does.

import type { ParamSpec } from '../../../gpu/nn/module';
import type { TrainerConfig } from '../../../gpu/train/trainer';
import type { RunTrainSettings } from '../../../shared/lab-api';

export function trainerConfigFor(train: RunTrainSettings, specs: ParamSpec[]): TrainerConfig {
  return {
    steps: train.steps,
    lr: train.lr,
    schedule: { kind: 'cosine', warmupSteps: train.warmupSteps, totalSteps: train.steps, minRatio: 0.1 },
    weightDecay: train.weightDecay,
    clipNorm: train.clipNorm,
    evalEvery: train.evalEvery,
    checkpointEvery: train.checkpointEvery,
    noDecay: specs.filter((s) => s.noDecay || s.shape.length === 1).map((s) => s.name),
  };
}

/** The defaults the CLI applies when run.json leaves them out (warm-up ≤ 100 steps, decay 0.1, clip 1). */
export function defaultWarmup(steps: number): number {
  return Math.min(100, Math.floor(steps / 10));
}
