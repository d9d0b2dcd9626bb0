// Files dropped anywhere on the window. Graph files (.json, .statelab) open in the editor (asking first
// when the current graph has unsaved changes); dataset files are copied into the workspace's data/ folder
// and chosen in the Data view; anything else gets a message saying what the app does with it, and nothing
// changes. The page reads the dropped file itself: no path ever reaches the host.

import { onBeforeUnmount, onMounted } from 'vue';
import { KIND_MIME } from '../graph/connecting';
import { useAppStore } from '../stores/app';
import { useDataStore } from '../stores/data';
import { useGraphFilesStore } from '../stores/graph-files';

const DATASET = /\.(txt|text|md|jsonl|ndjson|csv|tsv|parquet)$/i;

export function describeUnsupported(name: string): string | null {
  if (/\.(json|statelab)$/i.test(name)) return null;
  if (DATASET.test(name)) return null;
  if (/\.safetensors$/i.test(name)) {
    return `${name}: checkpoints cannot be opened by dropping yet — find them in the Runs and Export views.`;
  }
  const ext = /\.([^.]+)$/.exec(name)?.[1];
  return `${name}: StateLab cannot open ${ext ? `.${ext} files` : 'this file'} — drop a graph file (.json) to open it in the editor.`;
}

export function useFileDrop() {
  const app = useAppStore();
  const files = useGraphFilesStore();
  const data = useDataStore();

  function isFileDrag(event: DragEvent): boolean {
    const types = event.dataTransfer?.types ?? [];
    return types.includes('Files') && !types.includes(KIND_MIME);
  }

  function onDragOver(event: DragEvent): void {
    if (!isFileDrag(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  }

  async function onDrop(event: DragEvent): Promise<void> {
    if (!isFileDrag(event)) return;
    event.preventDefault();
    const dropped = [...(event.dataTransfer?.files ?? [])];
    if (!dropped.length) return;
    const [file, ...rest] = dropped;
    const problem = describeUnsupported(file.name);
    if (problem) {
      app.notice = problem;
      return;
    }
    app.notice = rest.length ? `Opened ${file.name}; one file at a time (${rest.length} more ignored).` : null;
    if (DATASET.test(file.name)) {
      app.view = 'data';
      await data.importFile(file);
      return;
    }
    app.view = 'build';
    await files.openFile(file);
  }

  onMounted(() => {
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('drop', onDrop);
  });
  onBeforeUnmount(() => {
    window.removeEventListener('dragover', onDragOver);
    window.removeEventListener('drop', onDrop);
  });
}
