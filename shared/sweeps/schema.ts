// The sweep file (format "statelab-sweep", version 1): one definition, many runs. Base graphs (each with
// a family label), one dataset or synthetic task, axes over graph parameters, training settings and task
// parameters, seeds, an optional best-of reduction over one axis, an optional early-stopping target, and
// a run-name scheme so each grid point has a deterministic id (how a resumed sweep recognises its runs).

export const SWEEP_FORMAT = 'statelab-sweep';
export const SWEEP_VERSION = 1;

/** A base graph: a bundled template name or a graph file (relative to the sweep file), with fixed edits. */
export interface SweepGraph {
  family: string;
  template?: string;
  file?: string;
  /** Fixed parameter values for this graph only, addressed like axes ("attn.num_heads": 2). */
  set?: Record<string, number | string | boolean>;
}

export type SweepData =
  { task: string; params?: Record<string, number> } | { file: string; tokenizer?: string; field?: string };

export interface SweepTrain {
  lr: number;
  steps: number;
  seqLen: number;
  batch: number;
  warmupSteps?: number;
  weightDecay?: number;
  evalEvery?: number;
  evalBatches?: number;
  checkpointEvery?: number;
  /** Wall-time cap per run: the run is stopped and its latest checkpoint evaluated. */
  maxSeconds?: number;
}

/** The metric each run is scored by; MQAR accuracy needs an MQAR task. */
export type SweepMetric = 'val_loss' | 'mqar_accuracy';

export interface SweepFile {
  format: typeof SWEEP_FORMAT;
  version: number;
  name: string;
  description?: string;
  graphs: SweepGraph[];
  data: SweepData;
  /**
   * Axis name → values. Names: "d_model" / "vocab_size" (the graph's model settings), "nodeId.param"
   * (a node at the top level or inside a block), a bare node parameter ("num_heads": every node that
   * has it), "train.<setting>" (lr, steps, seqLen, batch, …) or "task.<param>".
   */
  axes: Record<string, (number | string | boolean)[]>;
  train: SweepTrain;
  seeds: number[];
  metric: SweepMetric;
  /** Keep, per configuration and seed, only the run with the best metric over this axis (Zoology: lr). */
  bestOf?: { axis: string };
  /**
   * Stop a run once its validation loss reaches `valLoss`; skip the remaining best-of candidates of a
   * configuration once one run's metric reaches `metric` (accuracy ≥, loss ≤).
   */
  earlyStop?: { valLoss?: number; metric?: number };
  /** Run id template: "{family}", "{seed}" and "{<axis>}" are replaced (default: every axis and the seed). */
  runName?: string;
  /** Refuse a run whose estimated training memory exceeds this (MiB; default 8192). */
  memoryBudgetMB?: number;
  /** MQAR examples evaluated after each run (default 256). */
  evalSamples?: number;
}

export class SweepError extends Error {
  constructor(
    message: string,
    /** The sweep file (or "sweep") and, where known, the field: `zoology-mqar.json: axes["attn.x"]`. */
    readonly where: string,
  ) {
    super(`${where}: ${message}`);
    this.name = 'SweepError';
  }
}

/** Lower is better for a loss, higher for an accuracy. */
export function metricDirection(metric: SweepMetric): 'min' | 'max' {
  return metric === 'val_loss' ? 'min' : 'max';
}
