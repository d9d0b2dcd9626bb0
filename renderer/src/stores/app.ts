// App-wide state: which view is open, the theme, and what the host says about itself and its workspace.

import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { AppInfo, WorkspaceInfo } from '../../../shared/lab-api';
import { lab } from '../lab';

export type ViewId =
  'build' | 'data' | 'train' | 'runs' | 'sweep' | 'inspect' | 'distill' | 'playground' | 'export' | 'diagnostics';
export type Theme = 'light' | 'dark';

/** Things other parts of the app (the menu) ask the editor to show or do. */
export type EditorRequest = 'templates' | 'shortcuts' | 'fit-view' | 'open-graph';

export interface ViewEntry {
  id: ViewId;
  label: string;
  /** Views not built yet name the issue that brings them, and say what they will do. */
  arrives?: { issue: number; what: string };
}

export const VIEWS: ViewEntry[] = [
  { id: 'build', label: 'Build' },
  { id: 'data', label: 'Data' },
  { id: 'train', label: 'Train' },
  { id: 'runs', label: 'Runs' },
  { id: 'sweep', label: 'Sweeps' }, // issue 14
  { id: 'inspect', label: 'Inspect' }, // issue 8
  { id: 'distill', label: 'Distill' }, // issue 9
  { id: 'playground', label: 'Playground' }, // issue 13
  { id: 'export', label: 'Export' },
  { id: 'diagnostics', label: 'GPU diagnostics' },
];

const THEME_KEY = 'statelab.theme';

function initialTheme(): Theme {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export const useAppStore = defineStore('app', () => {
  const view = ref<ViewId>('build');
  const info = ref<AppInfo | null>(null);
  const workspace = ref<WorkspaceInfo | null>(null);
  const hostProblem = ref<string | null>(null);
  /** A short message about something the window could not do (an unsupported dropped file, …). */
  const notice = ref<string | null>(null);
  const theme = ref<Theme>(initialTheme());
  const editorRequest = ref<{ name: EditorRequest; seq: number } | null>(null);

  watch(
    theme,
    (t) => {
      document.documentElement.dataset.theme = t;
      localStorage.setItem(THEME_KEY, t);
    },
    { immediate: true },
  );

  async function loadInfo(): Promise<void> {
    try {
      info.value = await lab.appInfo();
      workspace.value = await lab.workspace();
    } catch (error) {
      hostProblem.value = `The host did not answer: ${(error as Error).message}`;
    }
  }

  async function chooseWorkspace(): Promise<void> {
    try {
      const next = await lab.chooseWorkspace();
      if (next) workspace.value = next;
    } catch (error) {
      notice.value = (error as Error).message;
    }
  }

  async function openRecent(path: string): Promise<void> {
    try {
      workspace.value = await lab.openRecentWorkspace(path);
    } catch (error) {
      notice.value = (error as Error).message;
    }
  }

  function requestEditor(name: EditorRequest): void {
    view.value = 'build';
    editorRequest.value = { name, seq: (editorRequest.value?.seq ?? 0) + 1 };
  }

  function toggleTheme(): void {
    theme.value = theme.value === 'dark' ? 'light' : 'dark';
  }

  return {
    view,
    info,
    workspace,
    hostProblem,
    notice,
    theme,
    editorRequest,
    loadInfo,
    chooseWorkspace,
    openRecent,
    requestEditor,
    toggleTheme,
  };
});
