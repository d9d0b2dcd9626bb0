// App-wide state: which view is open and what the host says about itself.

import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { AppInfo } from '../../../shared/lab-api';
import { lab } from '../lab';

export type ViewId = 'build' | 'data' | 'train' | 'inspect' | 'export' | 'diagnostics';

export interface ViewEntry {
  id: ViewId;
  label: string;
  /** Views not built yet name the issue that brings them, and say what they will do. */
  arrives?: { issue: number; what: string };
}

export const VIEWS: ViewEntry[] = [
  {
    id: 'build',
    label: 'Build',
    arrives: { issue: 7, what: 'a drag-and-drop graph editor for recurrent architectures, with live validation' },
  },
  {
    id: 'data',
    label: 'Data',
    arrives: { issue: 7, what: 'picking a dataset file or synthetic task, its tokenizer, token counts and split' },
  },
  { id: 'train', label: 'Train' },
  {
    id: 'inspect',
    label: 'Inspect',
    arrives: { issue: 8, what: 'state capacity, length extrapolation, state collapse and implicit attention' },
  },
  {
    id: 'export',
    label: 'Export',
    arrives: { issue: 7, what: 'saving checkpoints as safetensors + config.json (more formats with issue 10)' },
  },
  { id: 'diagnostics', label: 'GPU diagnostics' },
];

export const useAppStore = defineStore('app', () => {
  const view = ref<ViewId>('train');
  const info = ref<AppInfo | null>(null);
  const hostProblem = ref<string | null>(null);

  async function loadInfo(): Promise<void> {
    try {
      info.value = await lab.appInfo();
    } catch (error) {
      hostProblem.value = `The host did not answer: ${(error as Error).message}`;
    }
  }

  return { view, info, hostProblem, loadInfo };
});
