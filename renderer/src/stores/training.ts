// The Train view's state: settings, the run's status and its loss curve. The store owns the training
// Worker; components only render what is here and call start/stop.

import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import type { AdapterSummary } from '../../../gpu/device';
import type { BundledText } from '../../../shared/lab-api';
import { lab } from '../lab';
import {
  DEFAULT_SETTINGS,
  settingsProblems,
  type FromWorker,
  type LossPoint,
  type ToWorker,
  type TrainSettings,
} from '../workers/protocol';

export type TrainStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'completed' | 'stopped' | 'failed';

export const useTrainingStore = defineStore('training', () => {
  const settings = reactive<TrainSettings>({ ...DEFAULT_SETTINGS });
  const texts = ref<BundledText[]>([]);
  const textId = ref('lighthouse');
  const status = ref<TrainStatus>('idle');
  const error = ref<string | null>(null);
  /** Replaced (not mutated) on every update, so the chart sees one change per batch of points. */
  const points = shallowRef<LossPoint[]>([]);
  const tokensPerSecond = ref(0);
  const elapsedMs = ref(0);
  const parameters = ref(0);
  const adapter = ref<AdapterSummary | null>(null);
  let worker: Worker | null = null;

  const problems = computed(() => settingsProblems(settings));
  const busy = computed(() => ['starting', 'running', 'stopping'].includes(status.value));
  const latest = computed(() => points.value.at(-1) ?? null);

  function send(message: ToWorker): void {
    worker?.postMessage(message);
  }

  function onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'started':
        adapter.value = message.adapter;
        parameters.value = message.parameters;
        status.value = 'running';
        break;
      case 'progress':
        points.value = points.value.concat(message.points);
        tokensPerSecond.value = message.tokensPerSecond;
        elapsedMs.value = message.elapsedMs;
        break;
      case 'finished':
        status.value = message.reason;
        endWorker();
        break;
      case 'failed':
        error.value = message.message;
        status.value = 'failed';
        endWorker();
        break;
    }
  }

  function endWorker(): void {
    worker?.terminate();
    worker = null;
  }

  async function loadTexts(): Promise<void> {
    try {
      texts.value = await lab.listTexts();
      if (!texts.value.some((t) => t.id === textId.value) && texts.value.length > 0) textId.value = texts.value[0].id;
    } catch (caught) {
      error.value = `Could not list the bundled texts: ${(caught as Error).message}`;
    }
  }

  async function start(): Promise<void> {
    if (busy.value || problems.value.length > 0) return;
    status.value = 'starting';
    error.value = null;
    points.value = [];
    tokensPerSecond.value = 0;
    elapsedMs.value = 0;
    try {
      const text = await lab.readText(textId.value);
      worker = new Worker(new URL('../workers/train.worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
      worker.onerror = (event) => onMessage({ type: 'failed', message: `training worker: ${event.message}` });
      send({ type: 'start', settings: { ...settings }, text });
      if ((status.value as TrainStatus) === 'stopping') send({ type: 'stop' }); // Stop was pressed while the text loaded.
    } catch (caught) {
      onMessage({ type: 'failed', message: (caught as Error).message });
    }
  }

  function stop(): void {
    if (status.value !== 'running' && status.value !== 'starting') return;
    status.value = 'stopping';
    send({ type: 'stop' });
  }

  function resetSettings(): void {
    Object.assign(settings, DEFAULT_SETTINGS);
  }

  return {
    settings,
    texts,
    textId,
    status,
    error,
    points,
    tokensPerSecond,
    elapsedMs,
    parameters,
    adapter,
    problems,
    busy,
    latest,
    loadTexts,
    start,
    stop,
    resetSettings,
  };
});
