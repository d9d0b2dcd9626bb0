// The Inspect view's state: the chosen run (what analyses it can have, their options, what it has saved),
// the analysis being set up, the one the host runs — polled until it ends, then opened — and the saved
// analysis on screen. The host runs the analyses (`statelab inspect`'s code) and writes their JSON; the
// page names the run, the analysis and the options, and reads the results back.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type {
  AnalysisName,
  AnalysisOptions,
  AnalysisOptionSpec,
  AnalysisProgress,
  InspectRunInfo,
  RunSummary,
  SavedAnalysis,
} from '../../../shared/lab-api';
import { lab } from '../lab';

const POLL_MS = 500;

/** A form value: text as typed, or the ticked choices of a multiple choice ([] = the default). */
export type OptionValue = string | string[];

/** The typed options of the filled-in fields (empty fields keep the analysis's default), or the first problem. */
export function parseOptions(
  specs: AnalysisOptionSpec[],
  values: Record<string, OptionValue>,
): { options: AnalysisOptions } | { problem: string } {
  const options: AnalysisOptions = {};
  for (const spec of specs) {
    const value = values[spec.name];
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    const text = String(value).trim();
    const number = (raw: string) => {
      const n = Number(raw);
      const integer = spec.kind !== 'number';
      if (raw === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
        return `${spec.label}: "${raw}" is not ${integer ? 'an integer' : 'a number'}`;
      if (spec.min !== undefined && n < spec.min) return `${spec.label}: ${n} is below ${spec.min}`;
      return n;
    };
    if (spec.kind === 'number' || spec.kind === 'integer') {
      const n = number(text);
      if (typeof n === 'string') return { problem: n };
      options[spec.name] = n;
    } else if (spec.kind === 'integers') {
      const list = text.split(',').map((v) => number(v.trim()));
      const bad = list.find((v) => typeof v === 'string');
      if (bad !== undefined) return { problem: `${bad} (give a comma-separated list)` };
      options[spec.name] = list as number[];
    } else if (spec.kind === 'choices') options[spec.name] = value as string[];
    else options[spec.name] = value as string;
  }
  return { options };
}

export const useInspectStore = defineStore('inspect', () => {
  const runs = ref<RunSummary[]>([]);
  const runId = ref<string | null>(null);
  const info = shallowRef<InspectRunInfo | null>(null);
  const analysis = ref<AnalysisName | null>(null);
  const values = ref<Record<string, OptionValue>>({});
  const step = ref<number | null>(null);
  const progress = ref<AnalysisProgress | null>(null);
  const opened = shallowRef<SavedAnalysis | null>(null);
  const openedName = ref<string | null>(null);
  const problem = ref<string | null>(null);
  const starting = ref(false);
  let timer: ReturnType<typeof setTimeout> | null = null;

  const choice = computed(() => info.value?.analyses.find((a) => a.name === analysis.value) ?? null);
  const parsed = computed(() => (choice.value ? parseOptions(choice.value.options, values.value) : null));
  const running = computed(() => progress.value?.state === 'running');
  const canStart = computed(
    () =>
      !!choice.value?.available &&
      !!info.value?.canRun &&
      !running.value &&
      !starting.value &&
      !!parsed.value &&
      'options' in parsed.value,
  );

  async function refreshRuns(): Promise<void> {
    try {
      runs.value = await lab.listRuns();
    } catch (error) {
      problem.value = `Could not list the runs: ${(error as Error).message}`;
    }
  }

  async function choose(id: string): Promise<void> {
    runId.value = id;
    info.value = opened.value = null;
    openedName.value = null;
    problem.value = null;
    try {
      const found = await lab.inspectRun(id);
      if (runId.value !== id) return;
      info.value = found;
      step.value = found.checkpoints.at(-1) ?? null;
      const keep = found.analyses.find((a) => a.name === analysis.value && a.available);
      setAnalysis((keep ?? found.analyses.find((a) => a.available) ?? found.analyses[0]).name);
      if (found.saved.length) await open(found.saved[0].name);
    } catch (error) {
      if (runId.value === id) problem.value = (error as Error).message;
    }
  }

  function setAnalysis(name: AnalysisName): void {
    analysis.value = name;
    values.value = {};
  }

  async function start(): Promise<void> {
    if (!canStart.value || !runId.value || !analysis.value || !parsed.value || !('options' in parsed.value)) return;
    starting.value = true;
    problem.value = null;
    try {
      const options = { ...parsed.value.options, ...(step.value !== null ? { step: step.value } : {}) };
      progress.value = await lab.startAnalysis(runId.value, analysis.value, options);
      poll();
    } catch (error) {
      problem.value = (error as Error).message;
    } finally {
      starting.value = false;
    }
  }

  function poll(): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = null;
      try {
        progress.value = await lab.analysisProgress();
      } catch (error) {
        problem.value = `Lost the analysis's progress: ${(error as Error).message}`;
        return;
      }
      const p = progress.value;
      if (p?.state === 'running') return poll();
      if (p?.state === 'finished' && p.run === runId.value) {
        await refreshInfo();
        await open(p.analysis);
      }
    }, POLL_MS);
  }

  /** Picks up an analysis already running (the view was opened, or the page reloaded, meanwhile). */
  async function attach(): Promise<void> {
    try {
      progress.value = await lab.analysisProgress();
      if (progress.value?.state === 'running') poll();
    } catch (error) {
      problem.value = (error as Error).message;
    }
  }

  async function refreshInfo(): Promise<void> {
    if (!runId.value) return;
    try {
      info.value = await lab.inspectRun(runId.value);
    } catch (error) {
      problem.value = (error as Error).message;
    }
  }

  async function open(name: string): Promise<void> {
    const id = runId.value;
    if (!id) return;
    try {
      const doc = await lab.readAnalysis(id, name);
      if (runId.value !== id) return;
      opened.value = doc;
      openedName.value = name;
    } catch (error) {
      problem.value = `Could not open ${name}: ${(error as Error).message}`;
    }
  }

  return {
    runs,
    runId,
    info,
    analysis,
    values,
    step,
    progress,
    opened,
    openedName,
    problem,
    starting,
    choice,
    parsed,
    running,
    canStart,
    refreshRuns,
    choose,
    setAnalysis,
    start,
    attach,
    open,
  };
});
