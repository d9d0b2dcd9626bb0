// Messages between the Train view's store and the training Worker, and the settings a run takes.

import type { AdapterSummary } from '../../../gpu/device';

export interface TrainSettings {
  /** Tiny model: width, depth, SwiGLU hidden width and short-convolution kernel (0 = none). */
  dModel: number;
  layers: number;
  mlpHidden: number;
  convKernel: number;
  batch: number;
  seqLen: number;
  steps: number;
  /** Peak learning rate of AdamW (linear warm-up, then cosine decay). */
  lr: number;
  seed: number;
}

export interface LossPoint {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
}

export type ToWorker = { type: 'start'; settings: TrainSettings; text: string } | { type: 'stop' };

export type FromWorker =
  | { type: 'started'; adapter: AdapterSummary; parameters: number; textBytes: number }
  | { type: 'progress'; points: LossPoint[]; tokensPerSecond: number; elapsedMs: number }
  | { type: 'finished'; reason: 'completed' | 'stopped' }
  | { type: 'failed'; message: string };

export const DEFAULT_SETTINGS: TrainSettings = {
  dModel: 64,
  layers: 2,
  mlpHidden: 192,
  convKernel: 4,
  batch: 16,
  seqLen: 64,
  steps: 300,
  lr: 3e-3,
  seed: 1,
};

const INTEGER_RANGES: Record<Exclude<keyof TrainSettings, 'lr'>, [number, number]> = {
  dModel: [1, 1024],
  layers: [1, 16],
  mlpHidden: [1, 8192],
  convKernel: [0, 16],
  batch: [1, 512],
  seqLen: [2, 2048],
  steps: [1, 1_000_000],
  seed: [0, 2 ** 31 - 1],
};

/** Problems with the settings, one readable line each; empty when they are fine. */
export function settingsProblems(settings: TrainSettings, textBytes?: number): string[] {
  const problems: string[] = [];
  for (const [key, [low, high]] of Object.entries(INTEGER_RANGES) as [keyof TrainSettings, [number, number]][]) {
    const value = settings[key];
    if (!Number.isInteger(value) || value < low || value > high) {
      problems.push(`${key} must be a whole number from ${low} to ${high} (got ${value})`);
    }
  }
  if (!(settings.lr > 0 && settings.lr <= 1)) problems.push(`lr must be in (0, 1] (got ${settings.lr})`);
  if (textBytes !== undefined && settings.seqLen + 2 > textBytes) {
    problems.push(`seqLen ${settings.seqLen} needs a text longer than ${settings.seqLen + 1} bytes (${textBytes})`);
  }
  return problems;
}
