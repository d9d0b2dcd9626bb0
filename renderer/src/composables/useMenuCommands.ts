// The desktop app's menu, and graph files the system opens with the app, acting on the page's stores —
// the same actions as the toolbar and the keyboard. The menu shows its shortcuts without registering them,
// so the app-wide ones (new, open, switch view) are handled here; browsers keep some of them for
// themselves (Ctrl+N, Ctrl+1…), which is why the toolbar and the side bar offer the same actions.

import { onBeforeUnmount, onMounted } from 'vue';
import type { MenuCommand } from '../../../shared/lab-api';
import { VIEWS, useAppStore, type ViewId } from '../stores/app';
import { useGraphFilesStore } from '../stores/graph-files';
import { useGraphStore } from '../stores/graph';

export function useMenuCommands(): void {
  const app = useAppStore();
  const graph = useGraphStore();
  const files = useGraphFilesStore();

  function run(c: MenuCommand): void {
    switch (c.command) {
      case 'new-graph':
        app.view = 'build';
        return void files.newGraph();
      case 'templates':
      case 'shortcuts':
      case 'fit-view':
      case 'open-graph':
        return app.requestEditor(c.command);
      case 'save':
        return void files.save();
      case 'save-as':
        return void files.saveAs();
      case 'choose-workspace':
        return void app.chooseWorkspace();
      case 'undo':
        return graph.undo();
      case 'redo':
        return graph.redo();
      case 'duplicate':
        return graph.duplicateSelection();
      case 'delete':
        return graph.deleteSelection();
      case 'select-all':
        return graph.selectAll();
      case 'toggle-theme':
        return app.toggleTheme();
      case 'view':
        if (VIEWS.some((v) => v.id === c.view)) app.view = c.view as ViewId;
        return;
      case 'open-file':
        app.view = 'build';
        return void files.openNamedText(c.text, c.name);
    }
  }

  window.labMenu?.on(run);

  const SHOWN_VIEWS: ViewId[] = ['build', 'data', 'train', 'runs', 'export', 'diagnostics'];
  function onKey(event: KeyboardEvent): void {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey || event.defaultPrevented) return;
    const key = event.key.toLowerCase();
    if (key === 'n') run({ command: 'new-graph' });
    else if (key === 'o') run({ command: 'open-graph' });
    else if (/^[1-6]$/.test(key)) run({ command: 'view', view: SHOWN_VIEWS[Number(key) - 1] });
    else return;
    event.preventDefault();
  }
  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}
