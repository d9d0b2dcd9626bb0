// Messages between the Playground store (UI thread) and the generation Worker. The Worker keeps one
// checkpoint on the GPU and runs the engine's `generate` on it — the code `statelab generate` runs — and
// streams the text back in small batches with the throughput and the memory the sequence holds.

import type { AdapterSummary } from '../../../gpu/device';
import type { FinishReason } from '../../../gpu/generate/generate';
import type { MixerLayer, SequenceMemory } from '../../../gpu/generate/memory';
import type { SamplingOptions } from '../../../gpu/generate/sampling';
import type { GraphDoc } from '../../../shared/graph/schema';
import type { PlaygroundTokenizer } from '../../../shared/lab-api';

export interface GenerateLoad {
  /** Which checkpoint this is (`<run>@<step>`): a later load of the same key is a no-op. */
  key: string;
  graph: GraphDoc;
  /** The checkpoint's model safetensors. */
  model: Uint8Array;
  tokenizer: PlaygroundTokenizer;
}

export interface GenerateStart {
  prompt: string;
  sampling: SamplingOptions;
  maxTokens: number;
  /** Stop sequences (none: an empty list). */
  stop: string[];
}

export type ToGenerateWorker =
  ({ type: 'load' } & GenerateLoad) | ({ type: 'generate' } & GenerateStart) | { type: 'stop' };

/** Why a generation could not run: the prompt or settings (the user's to fix), the GPU, or the checkpoint. */
export type GenerateFailure = 'prompt' | 'settings' | 'device-lost' | 'load' | 'error';

export type FromGenerateWorker =
  | {
      type: 'loaded';
      key: string;
      adapter: AdapterSummary;
      parameters: number;
      /** The model's mixer layers in execution order (name, kind, family, width, window). */
      layers: MixerLayer[];
    }
  | { type: 'warning'; message: string }
  | { type: 'prefill'; promptTokens: number; ms: number; memory: SequenceMemory }
  /** Text made visible since the last message (possibly ''), with the state after the latest token. */
  | { type: 'tokens'; text: string; generated: number; tokensPerSecond: number; memory: SequenceMemory }
  | {
      type: 'end';
      reason: FinishReason | 'stopped';
      generated: number;
      seconds: number;
      tokensPerSecond: number;
      memory: SequenceMemory | null;
    }
  | { type: 'failed'; kind: GenerateFailure; message: string };
