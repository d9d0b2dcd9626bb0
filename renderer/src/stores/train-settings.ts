// Settings of the next run, checked before anything starts: data (a bundled text or a synthetic task
// with its parameters), steps, batch, sequence length, optimizer and evaluation/checkpoint cadence. They
// become run.json's `train` section, in the CLI's names, so `statelab resume` reads them back.

import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { AppDataSpec, RunTrainSettings, TextDataSpec } from '../../../shared/lab-api';
import { resolveTask, TASKS } from '../../../shared/tasks/index';
import type { FailureKind } from '../workers/protocol';
import { defaultWarmup } from '../workers/run-config';

export type NumericSetting =
  | 'steps'
  | 'batch'
  | 'seqLen'
  | 'lr'
  | 'evalEvery'
  | 'evalBatches'
  | 'checkpointEvery'
  | 'weightDecay'
  | 'clipNorm'
  | 'seed';

export const SETTING_RANGES: Record<NumericSetting, { min: number; max: number; integer: boolean; label: string }> = {
  steps: { min: 1, max: 1_000_000, integer: true, label: 'Steps' },
  batch: { min: 1, max: 4096, integer: true, label: 'Batch' },
  seqLen: { min: 2, max: 65_536, integer: true, label: 'Sequence length' },
  lr: { min: 1e-7, max: 1, integer: false, label: 'Learning rate (peak)' },
  evalEvery: { min: 0, max: 1_000_000, integer: true, label: 'Evaluate every (0 = never)' },
  evalBatches: { min: 1, max: 1000, integer: true, label: 'Validation batches' },
  checkpointEvery: { min: 0, max: 1_000_000, integer: true, label: 'Checkpoint every (0 = at the end only)' },
  weightDecay: { min: 0, max: 10, integer: false, label: 'Weight decay' },
  clipNorm: { min: 0, max: 1e6, integer: false, label: 'Clip gradient norm' },
  seed: { min: 0, max: 2 ** 31 - 1, integer: true, label: 'Seed' },
};

export type DataKind = 'text' | 'file' | 'task';
export type TokenizerKind = 'byte' | 'char' | 'bpe';

export const useTrainSettings = defineStore('train-settings', () => {
  const dataKind = ref<DataKind>('text');
  const textId = ref('lighthouse');
  const validationFraction = ref(0.1);
  /** A file in the workspace's data/ folder, its tokenizer and (JSONL/CSV/Parquet) text field. */
  const fileName = ref<string | null>(null);
  const tokenizer = ref<TokenizerKind>('byte');
  const bpeVocab = ref(512);
  const field = ref('text');
  const task = ref('mqar');
  const taskParams = ref<Record<string, number>>({});
  const values = ref<Record<NumericSetting, number>>({
    steps: 200,
    batch: 8,
    seqLen: 64,
    lr: 3e-3,
    evalEvery: 50,
    evalBatches: 2,
    checkpointEvery: 100,
    weightDecay: 0.1,
    clipNorm: 1,
    seed: 1,
  });

  /** A new task starts from its own defaults, sized small enough to train on any GPU. */
  watch(
    task,
    (name) => {
      const def = TASKS.find((t) => t.name === name);
      taskParams.value = Object.fromEntries((def?.params ?? []).map((p) => [p.name, p.default]));
    },
    { immediate: true },
  );

  const taskShape = computed(() => {
    try {
      const resolved = resolveTask(task.value, taskParams.value);
      return { vocabSize: resolved.vocabSize, seqLen: resolved.seqLen, problem: null as string | null };
    } catch (error) {
      return { vocabSize: 0, seqLen: 0, problem: (error as Error).message };
    }
  });

  const problems = computed(() => {
    const list: string[] = [];
    for (const [key, range] of Object.entries(SETTING_RANGES) as [
      NumericSetting,
      (typeof SETTING_RANGES)[NumericSetting],
    ][]) {
      const v = values.value[key];
      if (
        typeof v !== 'number' ||
        !Number.isFinite(v) ||
        (range.integer && !Number.isInteger(v)) ||
        v < range.min ||
        v > range.max
      ) {
        list.push(
          `${range.label} must be ${range.integer ? 'a whole number' : 'a number'} from ${range.min} to ${range.max}`,
        );
      }
    }
    if (!(validationFraction.value >= 0 && validationFraction.value <= 0.5)) {
      list.push('Validation fraction must be between 0 and 0.5');
    }
    return list;
  });

  /** The text data chosen, as the host's LabApi takes it (null for a task, or no file chosen yet). */
  const textSpec = computed<TextDataSpec | null>(() => {
    if (dataKind.value === 'text') {
      return { kind: 'bundled-text', id: textId.value, validationFraction: validationFraction.value };
    }
    if (dataKind.value === 'file' && fileName.value) {
      const isRecords = !/\.(txt|text|md)$/i.test(fileName.value);
      return {
        kind: 'file',
        name: fileName.value,
        tokenizer: tokenizer.value === 'bpe' ? `bpe:${bpeVocab.value}` : tokenizer.value,
        ...(isRecords && field.value ? { field: field.value } : {}),
        validationFraction: validationFraction.value,
      };
    }
    return null;
  });

  const dataSpec = computed<AppDataSpec | null>(() =>
    dataKind.value === 'task' ? { kind: 'task', task: task.value, params: { ...taskParams.value } } : textSpec.value,
  );

  return {
    dataKind,
    textId,
    validationFraction,
    fileName,
    tokenizer,
    bpeVocab,
    field,
    task,
    taskParams,
    values,
    taskShape,
    problems,
    textSpec,
    dataSpec,
  };
});

export type TrainSettingsStore = ReturnType<typeof useTrainSettings>;

/** run.json's `train` section. A task fixes the sequence length itself. */
export function makeTrainSettings(s: TrainSettingsStore): RunTrainSettings {
  const v = s.values;
  return {
    steps: v.steps,
    batch: v.batch,
    seqLen: s.dataKind === 'task' ? s.taskShape.seqLen : v.seqLen,
    lr: v.lr,
    evalEvery: v.evalEvery,
    evalBatches: v.evalBatches,
    checkpointEvery: v.checkpointEvery,
    warmupSteps: defaultWarmup(v.steps),
    weightDecay: v.weightDecay,
    clipNorm: v.clipNorm,
  };
}

/** What went wrong, and what to do next; the run folder is named so the user knows it is kept. */
export function describeFailure(
  kind: FailureKind,
  message: string,
  runId: string | null,
  checkpoints: { step: number; saved: boolean }[],
): string {
  const saved = checkpoints.filter((c) => c.saved).at(-1);
  const kept = runId
    ? ` The run is kept in runs/${runId}${saved ? ` with its checkpoint at step ${saved.step}` : ' with its metrics so far'}.`
    : '';
  switch (kind) {
    case 'device-lost':
      return `${message}.${kept} The GPU usually recovers after a moment: ${saved ? `continue the run from its checkpoint (Continue below, or "statelab resume ${runId}")` : 'start again'}. If it keeps happening, lower the batch or sequence length (drivers reset GPUs that stall too long).`;
    case 'out-of-memory':
      return `The GPU ran out of memory: ${message}.${kept} Lower the batch, the sequence length or the model width and start again.`;
    case 'invalid-graph':
      return `${message}${kept} Fix the problems in the Build view and start again.`;
    case 'data':
      return `${message}${kept}`;
    default:
      return `Training failed: ${message}.${kept}`;
  }
}
