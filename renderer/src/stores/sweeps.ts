// The Sweep view's state: the sweep files the host knows, the chosen one's expanded grid and results,
// and the progress of the sweep the host runs — polled while it runs, with the results re-read each time
// another run finishes. The host trains the sweep; the page only names the file and watches.

import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type {
  SweepChartSeries,
  SweepFileInfo,
  SweepPlan,
  SweepProgress,
  SweepRef,
  SweepResultsView,
} from '../../../shared/lab-api';
import { download } from '../charts/series';
import { lab } from '../lab';

const POLL_MS = 1000;

export const useSweepsStore = defineStore('sweeps', () => {
  const files = ref<SweepFileInfo[]>([]);
  const chosen = ref<SweepRef | null>(null);
  const plan = shallowRef<SweepPlan | null>(null);
  const results = shallowRef<SweepResultsView | null>(null);
  const chart = shallowRef<SweepChartSeries[]>([]);
  const xAxis = ref<string>('');
  const progress = ref<SweepProgress | null>(null);
  /** What went wrong reading or starting the chosen sweep (the host's message, naming file/field/node). */
  const problem = ref<string | null>(null);
  const busy = ref(false);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let finishedSeen = -1;

  async function refreshFiles(): Promise<void> {
    try {
      files.value = await lab.listSweeps();
    } catch (error) {
      problem.value = `Could not list the sweep files: ${(error as Error).message}`;
    }
  }

  async function choose(sweep: SweepRef): Promise<void> {
    chosen.value = sweep;
    plan.value = results.value = null;
    chart.value = [];
    problem.value = null;
    try {
      const read = await lab.readSweep(sweep);
      if (chosen.value !== sweep) return;
      plan.value = read;
      const axes = Object.keys(read.axes).filter((a) => a !== read.bestOf);
      xAxis.value = axes[0] ?? 'params';
      await refreshResults();
    } catch (error) {
      if (chosen.value === sweep) problem.value = (error as Error).message;
    }
  }

  async function refreshResults(): Promise<void> {
    const sweep = chosen.value;
    if (!sweep || !plan.value) return;
    try {
      const [read, series] = await Promise.all([lab.sweepResults(sweep), lab.sweepChart(sweep, xAxis.value)]);
      if (chosen.value !== sweep) return;
      results.value = read;
      chart.value = series;
    } catch (error) {
      problem.value = `Could not read the results: ${(error as Error).message}`;
    }
  }

  async function setXAxis(axis: string): Promise<void> {
    xAxis.value = axis;
    await refreshResults();
  }

  async function start(): Promise<void> {
    if (!chosen.value) return;
    busy.value = true;
    problem.value = null;
    try {
      progress.value = await lab.startSweep(chosen.value);
      finishedSeen = 0;
      poll();
    } catch (error) {
      problem.value = (error as Error).message;
    } finally {
      busy.value = false;
    }
  }

  async function stop(): Promise<void> {
    try {
      progress.value = (await lab.stopSweep()) ?? progress.value;
    } catch (error) {
      problem.value = (error as Error).message;
    }
  }

  const running = (p: SweepProgress | null) => p?.state === 'running' || p?.state === 'stopping';

  function poll(): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = null;
      try {
        progress.value = await lab.sweepProgress();
      } catch (error) {
        problem.value = `Lost the sweep's progress: ${(error as Error).message}`;
        return;
      }
      const p = progress.value;
      const finished = p ? p.ran + p.failed + p.skipped : 0;
      if (p && p.ref === chosen.value && (finished !== finishedSeen || !running(p))) {
        finishedSeen = finished;
        await refreshResults();
      }
      if (running(p)) poll();
    }, POLL_MS);
  }

  /** Picks up a sweep that is already running (the view was opened, or the page reloaded, mid-sweep). */
  async function attach(): Promise<void> {
    try {
      progress.value = await lab.sweepProgress();
      if (running(progress.value)) poll();
    } catch (error) {
      problem.value = (error as Error).message;
    }
  }

  /** Adds a sweep file the user picked to the workspace (the host checks it first) and opens it. */
  async function importFile(file: File): Promise<void> {
    problem.value = null;
    try {
      const added = await lab.importSweepFile(file.name, await file.text());
      await refreshFiles();
      await choose(added.ref);
    } catch (error) {
      problem.value = (error as Error).message;
    }
  }

  async function downloadCsv(): Promise<void> {
    if (!chosen.value || !plan.value) return;
    try {
      download(`${plan.value.name}-results.csv`, await lab.sweepCsv(chosen.value), 'text/csv');
    } catch (error) {
      problem.value = `CSV export failed: ${(error as Error).message}`;
    }
  }

  return {
    files,
    chosen,
    plan,
    results,
    chart,
    xAxis,
    progress,
    problem,
    busy,
    refreshFiles,
    choose,
    refreshResults,
    setXAxis,
    start,
    stop,
    attach,
    importFile,
    downloadCsv,
  };
});
