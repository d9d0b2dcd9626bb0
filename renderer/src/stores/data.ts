// The Data view's state: dataset files in the workspace, and what the chosen data looks like — token
// counts, split, vocabulary and a sample for text (computed by the host with the CLI's dataset code), one
// example for a synthetic task — plus the problems that would stop a run before it starts.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { DataFileInfo, DataPreview } from '../../../shared/lab-api';
import { generateTaskBatch } from '../../../shared/tasks/index';
import { lab } from '../lab';
import { useGraphStore } from './graph';
import { useTrainSettings } from './train-settings';

export const DATASET_EXTENSIONS = ['.txt', '.text', '.md', '.jsonl', '.ndjson', '.csv', '.tsv', '.parquet'];

export const useDataStore = defineStore('data', () => {
  const settings = useTrainSettings();
  const graph = useGraphStore();
  const files = ref<DataFileInfo[]>([]);
  const preview = shallowRef<DataPreview | null>(null);
  const previewKey = ref<string | null>(null);
  const previewError = ref<string | null>(null);
  const previewing = ref(false);
  const importing = ref(false);
  const importError = ref<string | null>(null);

  const specKey = computed(() => (settings.textSpec ? JSON.stringify(settings.textSpec) : null));

  /** One example of the chosen task: its tokens and the targets scored at each position. */
  const taskExample = computed(() => {
    if (settings.dataKind !== 'task' || settings.taskShape.problem) return null;
    try {
      const batch = generateTaskBatch(settings.task, settings.taskParams, { seed: settings.values.seed, count: 1 });
      return { inputs: [...batch.inputs], targets: [...batch.targets] };
    } catch {
      return null;
    }
  });

  const vocabNeeded = computed(() => {
    if (settings.dataKind === 'task') return settings.taskShape.vocabSize || null;
    return preview.value && previewKey.value === specKey.value ? preview.value.vocabSize : null;
  });

  const problems = computed(() => {
    const list: string[] = [];
    if (settings.dataKind === 'file' && !settings.fileName) list.push('choose a dataset file in the Data view');
    if (settings.dataKind === 'task' && settings.taskShape.problem) list.push(settings.taskShape.problem);
    if (previewError.value && settings.dataKind !== 'task') list.push(previewError.value);
    const needed = vocabNeeded.value;
    if (needed !== null && needed > graph.doc.model.vocab_size) {
      list.push(
        `the data uses ${needed} token ids but the graph's vocab_size is ${graph.doc.model.vocab_size}: raise it (Data view or Build view)`,
      );
    }
    return list;
  });

  async function refreshFiles(): Promise<void> {
    try {
      files.value = await lab.listDataFiles();
    } catch (error) {
      importError.value = `Could not list the data files: ${(error as Error).message}`;
    }
  }

  /** Copies a picked or dropped file into the workspace's data/ folder and selects it. */
  async function importFile(file: File): Promise<boolean> {
    importing.value = true;
    importError.value = null;
    try {
      const info = await lab.importDataFile(file.name, new Uint8Array(await file.arrayBuffer()));
      await refreshFiles();
      settings.dataKind = 'file';
      settings.fileName = info.name;
      return true;
    } catch (error) {
      importError.value = `Could not add ${file.name}: ${(error as Error).message}`;
      return false;
    } finally {
      importing.value = false;
    }
  }

  async function loadPreview(): Promise<void> {
    const spec = settings.textSpec;
    const key = specKey.value;
    previewError.value = null;
    if (!spec || key === previewKey.value) return;
    previewing.value = true;
    try {
      const result = await lab.previewData(spec);
      if (specKey.value === key) {
        preview.value = result;
        previewKey.value = key;
      }
    } catch (error) {
      if (specKey.value === key) {
        preview.value = null;
        previewKey.value = null;
        previewError.value = (error as Error).message;
      }
    } finally {
      previewing.value = false;
    }
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  watch(specKey, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void loadPreview(), 250);
  });

  return {
    files,
    preview,
    previewKey,
    previewError,
    previewing,
    importing,
    importError,
    specKey,
    taskExample,
    vocabNeeded,
    problems,
    refreshFiles,
    importFile,
    loadPreview,
  };
});
