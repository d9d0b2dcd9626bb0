// Messages between the training store (UI thread) and the training Worker. The Worker trains the graph
// being edited with the engine's compileGraph + Trainer — the same code as the CLI — and reports metric
// rows and checkpoints (as safetensors bytes), which the store forwards to the host's run folder.

import type { AdapterSummary } from '../../../gpu/device';
import type { GraphDoc } from '../../../shared/graph/schema';
import type { RunMetricsRow, RunTrainSettings } from '../../../shared/lab-api';

/** What the Worker trains on: tokens the host prepared (text), or a synthetic task it generates itself. */
export type WorkerData =
  | { kind: 'tokens'; train: Int32Array; validation: Int32Array; vocabSize: number; tokenizer: string }
  | { kind: 'task'; task: string; params: Record<string, number> };

export interface StartRequest {
  graph: GraphDoc;
  data: WorkerData;
  train: RunTrainSettings;
  seed: number;
  /** Continue from a checkpoint (its two safetensors files) instead of fresh parameters. */
  resume?: { model: Uint8Array; optimizer: Uint8Array };
}

export type ToWorker =
  | ({ type: 'start' } & StartRequest)
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Testing aid (debug builds of the page only): behave as if the GPU device were lost now. */
  | { type: 'simulate-device-loss' };

export type FailureKind = 'device-lost' | 'out-of-memory' | 'invalid-graph' | 'data' | 'error';

export type FromWorker =
  | { type: 'started'; adapter: AdapterSummary; parameters: number }
  | { type: 'metrics'; rows: RunMetricsRow[] }
  | { type: 'checkpoint'; step: number; model: Uint8Array; optimizer: Uint8Array }
  | { type: 'paused'; step: number }
  | { type: 'resumed' }
  | {
      type: 'finished';
      status: 'completed' | 'stopped' | 'target-reached' | 'non-finite';
      step: number;
      message: string;
    }
  | { type: 'failed'; kind: FailureKind; message: string };
