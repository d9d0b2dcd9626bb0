// The Train view's state: settings, the run's status, its metric rows and checkpoints. The store owns the
// training Worker and is the only place that talks to the host about the run: it creates the run folder
// when the Worker has its GPU, forwards metric rows (batched) and checkpoints in order, and records how the
// run ended — also when it failed, so nothing trained is lost.

import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import type { AdapterSummary } from '../../../gpu/device';
import type { GraphDoc } from '../../../shared/graph/schema';
import type { AppDataSpec, BundledText, RunMetricsRow, RunStatus } from '../../../shared/lab-api';
import { lab } from '../lab';
import { useGraphStore } from './graph';
import { useDataStore } from './data';
import { describeFailure, makeTrainSettings, useTrainSettings } from './train-settings';
import { upgradeGraph } from '../../../shared/graph/parse';
import { workerTokens } from '../workers/data';
import type { FailureKind, FromWorker, StartRequest, ToWorker, WorkerData } from '../workers/protocol';

export type TrainStatus =
  | 'idle'
  | 'starting'
  | 'running'
  | 'pausing'
  | 'paused'
  | 'stopping'
  | 'completed'
  | 'stopped'
  | 'target-reached'
  | 'non-finite'
  | 'failed';

const ACTIVE: TrainStatus[] = ['starting', 'running', 'pausing', 'paused', 'stopping'];

export const useTrainingStore = defineStore('training', () => {
  const graph = useGraphStore();
  const settings = useTrainSettings();
  const data = useDataStore();
  const texts = ref<BundledText[]>([]);
  const status = ref<TrainStatus>('idle');
  const error = ref<{ kind: FailureKind | 'host'; message: string } | null>(null);
  /** Problems saving to the run folder (training goes on; the message says what was not saved). */
  const hostError = ref<string | null>(null);
  /** Replaced (not mutated) on each batch of rows, so charts redraw once per batch. */
  const rows = shallowRef<RunMetricsRow[]>([]);
  const checkpoints = ref<{ step: number; loss: number | null; saved: boolean }[]>([]);
  const adapter = ref<AdapterSummary | null>(null);
  const parameters = ref(0);
  const runId = ref<string | null>(null);
  const trainedGraph = shallowRef<GraphDoc | null>(null);
  /** Set while continuing a run: the checkpoint step it started from and its data. */
  const resumedFrom = ref<{ step: number; data: string } | null>(null);
  const timing = reactive({ startedAt: 0, pausedMs: 0, pausedAt: 0 });
  let worker: Worker | null = null;
  /** The data spec of the run in progress (settings may change while it trains). */
  let startedSpec: AppDataSpec | null = null;
  let pending: RunMetricsRow[] = [];
  let hostChain: Promise<unknown> = Promise.resolve();
  let flushTimer: ReturnType<typeof setInterval> | null = null;

  const busy = computed(() => ACTIVE.includes(status.value));
  const latest = computed(() => rows.value.at(-1) ?? null);
  const problems = computed(() => {
    const list = [...settings.problems];
    if (graph.analysis.errorCount) {
      list.push(`the graph has ${graph.analysis.errorCount} problem(s): fix them in the Build view first`);
    }
    list.push(...data.problems);
    return list;
  });

  /** Host calls run strictly in order (createRun before any metrics or checkpoint). */
  function toHost(what: string, call: () => Promise<unknown>): Promise<unknown> {
    hostChain = hostChain
      .then(call)
      .catch((caught: Error) => (hostError.value = `Could not ${what}: ${caught.message}`));
    return hostChain;
  }

  function flushMetrics(): void {
    if (!pending.length || !runId.value) return;
    const batch = pending;
    const id = runId.value;
    pending = [];
    void toHost(`save metrics of steps ${batch[0].step}–${batch.at(-1)!.step}`, () => lab.appendMetrics(id, batch));
  }

  function send(message: ToWorker): void {
    worker?.postMessage(message);
  }

  function onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'started':
        adapter.value = message.adapter;
        parameters.value = message.parameters;
        status.value = status.value === 'stopping' ? 'stopping' : 'running';
        timing.startedAt = performance.now();
        if (!runId.value) void createRun(message.adapter); // a resumed run has its folder already
        break;
      case 'metrics':
        rows.value = rows.value.concat(message.rows);
        pending.push(...message.rows);
        break;
      case 'checkpoint': {
        flushMetrics();
        const entry = { step: message.step, loss: latest.value?.loss ?? null, saved: false };
        checkpoints.value = [...checkpoints.value, entry];
        void toHost(`save the checkpoint of step ${message.step}`, async () => {
          await lab.saveCheckpoint(runId.value!, message.model, message.optimizer);
          checkpoints.value = checkpoints.value.map((c) => (c.step === message.step ? { ...c, saved: true } : c));
        });
        break;
      }
      case 'paused':
        status.value = 'paused';
        timing.pausedAt = performance.now();
        break;
      case 'resumed':
        if (timing.pausedAt) timing.pausedMs += performance.now() - timing.pausedAt;
        timing.pausedAt = 0;
        status.value = 'running';
        break;
      case 'finished':
        status.value = message.status;
        if (message.status === 'non-finite') {
          error.value = {
            kind: 'error',
            message: `${message.message}. Lower the learning rate (or clip harder) and start again.`,
          };
        }
        void end(message.status, message.message);
        break;
      case 'failed':
        status.value = 'failed';
        error.value = {
          kind: message.kind,
          message: describeFailure(message.kind, message.message, runId.value, checkpoints.value),
        };
        void end('failed', message.message);
        break;
    }
  }

  async function createRun(device: AdapterSummary): Promise<void> {
    const s = settings;
    const spec = startedSpec!;
    await toHost('create the run folder', async () => {
      const run = await lab.createRun({
        name: trainedGraph.value!.name,
        graph: trainedGraph.value,
        data: spec,
        train: makeTrainSettings(s),
        seed: s.values.seed,
        device: {
          vendor: device.vendor,
          architecture: device.architecture,
          description: device.description,
          software: device.isSoftware,
        },
      });
      runId.value = run.id;
    });
  }

  async function end(runStatus: RunStatus, message: string): Promise<void> {
    if (flushTimer) clearInterval(flushTimer);
    flushTimer = null;
    worker?.terminate();
    worker = null;
    flushMetrics();
    if (runId.value) {
      const id = runId.value;
      await toHost('record how the run ended', () => lab.finishRun(id, runStatus, message));
    }
  }

  async function loadTexts(): Promise<void> {
    try {
      texts.value = await lab.listTexts();
      if (!texts.value.some((t) => t.id === settings.textId) && texts.value.length) settings.textId = texts.value[0].id;
    } catch (caught) {
      error.value = { kind: 'host', message: `Could not list the bundled texts: ${(caught as Error).message}` };
    }
  }

  function reset(): void {
    status.value = 'starting';
    error.value = hostError.value = null;
    rows.value = [];
    checkpoints.value = [];
    runId.value = null;
    pending = [];
    timing.pausedMs = timing.pausedAt = 0;
  }

  function launch(request: StartRequest): void {
    worker = new Worker(new URL('../workers/train.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
    worker.onerror = (event) =>
      onMessage({ type: 'failed', kind: 'error', message: `training worker: ${event.message}` });
    send({ type: 'start', ...request });
    flushTimer = setInterval(flushMetrics, 1000);
    if ((status.value as TrainStatus) === 'stopping') send({ type: 'stop' }); // Stop pressed while data loaded.
  }

  async function start(): Promise<void> {
    if (busy.value || problems.value.length) return;
    reset();
    trainedGraph.value = graph.doc;
    startedSpec = settings.dataSpec;
    resumedFrom.value = null;
    try {
      const spec = startedSpec!;
      const data: WorkerData =
        spec.kind === 'task'
          ? { kind: 'task', task: spec.task, params: { ...spec.params } }
          : workerTokens(await lab.readTokens(spec));
      launch({ graph: graph.doc, data, train: makeTrainSettings(settings), seed: settings.values.seed });
    } catch (caught) {
      onMessage({ type: 'failed', kind: 'data', message: (caught as Error).message });
    }
  }

  /** Continues a run (the app's or the CLI's) from its latest checkpoint up to `steps` total steps. */
  async function resumeRun(id: string, steps: number): Promise<void> {
    if (busy.value) return;
    reset();
    try {
      const bundle = await lab.resumeRun(id, steps);
      runId.value = bundle.run.id;
      resumedFrom.value = { step: bundle.step, data: bundle.data.description };
      trainedGraph.value = upgradeGraph(bundle.graph, `run ${id}`);
      rows.value = bundle.metrics;
      checkpoints.value = [{ step: bundle.step, loss: bundle.metrics.at(-1)?.loss ?? null, saved: true }];
      const { steps: total, warmupSteps: _w, ...rest } = bundle.train;
      Object.assign(settings.values, { ...rest, steps: total, seed: bundle.seed });
      const data: WorkerData =
        bundle.data.kind === 'task'
          ? { kind: 'task', task: bundle.data.task, params: bundle.data.params }
          : workerTokens(bundle.data.tokens);
      launch({
        graph: trainedGraph.value,
        data,
        train: bundle.train,
        seed: bundle.seed,
        resume: { model: bundle.model, optimizer: bundle.optimizer },
      });
    } catch (caught) {
      onMessage({ type: 'failed', kind: 'data', message: (caught as Error).message });
    }
  }

  function pause(): void {
    if (status.value !== 'running') return;
    status.value = 'pausing';
    send({ type: 'pause' });
  }

  function resume(): void {
    if (status.value !== 'paused' && status.value !== 'pausing') return;
    send({ type: 'resume' });
  }

  function stop(): void {
    if (!busy.value || status.value === 'stopping') return;
    status.value = 'stopping';
    send({ type: 'stop' });
  }

  /** Testing aid, reachable only from debug builds of the page (see lab-debug.ts). */
  function simulateDeviceLoss(): void {
    send({ type: 'simulate-device-loss' });
  }

  return {
    settings,
    texts,
    status,
    error,
    hostError,
    rows,
    checkpoints,
    adapter,
    parameters,
    runId,
    trainedGraph,
    resumedFrom,
    timing,
    busy,
    latest,
    problems,
    loadTexts,
    start,
    resumeRun,
    pause,
    resume,
    stop,
    simulateDeviceLoss,
  };
});
