// The workspace's runs (app and CLI alike): the list, a filter, the runs picked for comparison with their
// metrics, and the checkpoint chosen for export.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { RunDetail, RunSummary } from '../../../shared/lab-api';
import { lab } from '../lab';

export const RUN_COLORS = ['#2f6fdf', '#e67e22', '#27ae60', '#8e44ad', '#c0392b', '#16a085', '#7f8c8d', '#d35400'];

export const useRunsStore = defineStore('runs', () => {
  const runs = ref<RunSummary[]>([]);
  const filter = ref('');
  const compared = ref<string[]>([]);
  const details = shallowRef(new Map<string, RunDetail>());
  const loading = ref(false);
  const problem = ref<string | null>(null);
  /** What the Export view exports (set by "Export" in the Runs view, or chosen there). */
  const exportRun = ref<string | null>(null);
  const exportStep = ref<number | null>(null);

  const visible = computed(() => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    return runs.value.filter((r) => {
      const text = `${r.id} ${r.name} ${r.status} ${r.data}`.toLowerCase();
      return words.every((w) => text.includes(w));
    });
  });

  async function refresh(): Promise<void> {
    loading.value = true;
    problem.value = null;
    try {
      runs.value = await lab.listRuns();
      compared.value = compared.value.filter((id) => runs.value.some((r) => r.id === id));
    } catch (error) {
      problem.value = `Could not list the runs: ${(error as Error).message}`;
    } finally {
      loading.value = false;
    }
  }

  async function detail(id: string): Promise<RunDetail | null> {
    try {
      const found = await lab.readRun(id);
      details.value = new Map(details.value).set(id, found);
      return found;
    } catch (error) {
      problem.value = `Could not read run ${id}: ${(error as Error).message}`;
      return null;
    }
  }

  async function toggleCompare(id: string): Promise<void> {
    if (compared.value.includes(id)) {
      compared.value = compared.value.filter((x) => x !== id);
      return;
    }
    compared.value = [...compared.value, id];
    await detail(id); // always re-read: a run may still be growing
  }

  function chooseExport(id: string, step?: number): void {
    exportRun.value = id;
    const run = runs.value.find((r) => r.id === id);
    exportStep.value = step ?? run?.checkpoints.at(-1) ?? null;
  }

  return {
    runs,
    filter,
    compared,
    details,
    loading,
    problem,
    exportRun,
    exportStep,
    visible,
    refresh,
    detail,
    toggleCompare,
    chooseExport,
  };
});
