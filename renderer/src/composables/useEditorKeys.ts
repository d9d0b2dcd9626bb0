// Editor shortcuts. Keys typed into a text field belong to that field (its own undo included): graph
// undo never swallows text editing. Copy and paste go through the clipboard events, so they reach the
// system clipboard (and other windows) without a permission; where a paste event never arrives (no
// system clipboard), the in-app clipboard is used.

import { onBeforeUnmount, onMounted } from 'vue';
import { useGraphFilesStore } from '../stores/graph-files';
import { useGraphStore, type Point } from '../stores/graph';

export const SHORTCUTS = [
  { keys: 'Ctrl+Z', action: 'Undo' },
  { keys: 'Ctrl+Shift+Z / Ctrl+Y', action: 'Redo' },
  { keys: 'Ctrl+C / Ctrl+X / Ctrl+V', action: 'Copy, cut, paste the selected nodes (as JSON)' },
  { keys: 'Ctrl+D', action: 'Duplicate the selection' },
  { keys: 'Delete / Backspace', action: 'Delete the selected nodes and wires' },
  { keys: 'Ctrl+A', action: 'Select every node of the open container' },
  { keys: 'Ctrl+G', action: 'Group the selection into a block (model level)' },
  { keys: 'Ctrl+G', action: 'Group the selection into a block (model level)' },
  { keys: 'Shift+drag', action: 'Box select' },
  { keys: 'Ctrl+click', action: 'Add to the selection' },
  { keys: 'Ctrl+S / Ctrl+Shift+S', action: 'Save / save as' },
  { keys: 'Ctrl+N / Ctrl+O', action: 'New graph / open a graph' },
  { keys: 'Ctrl+1 … Ctrl+6', action: 'Build, Data, Train, Runs, Export, GPU diagnostics (desktop app)' },
  { keys: 'F', action: 'Fit the view' },
  { keys: 'Escape', action: 'Clear the selection, close dialogs' },
  { keys: '?', action: 'This list' },
] as const;

export interface EditorKeyActions {
  /** Whether the editor is the visible view (shortcuts act only then). */
  active(): boolean;
  center(): Point;
  group(): void;
  fit(): void;
  help(): void;
  closeOverlays(): boolean;
}

function typingTarget(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function useEditorKeys(actions: EditorKeyActions) {
  const graph = useGraphStore();
  const files = useGraphFilesStore();
  let pastePending: ReturnType<typeof setTimeout> | null = null;

  function copy(cut = false): string | null {
    const text = graph.copySelection();
    if (text && cut) graph.deleteSelection();
    return text;
  }

  function pasteFromMenu(): void {
    // A toolbar click has no paste event: read the system clipboard when allowed, else the in-app one.
    const read = navigator.clipboard?.readText?.bind(navigator.clipboard);
    if (!read) return void graph.paste(null, actions.center());
    read().then(
      (text) => graph.paste(text, actions.center()) || graph.paste(null, actions.center()),
      () => graph.paste(null, actions.center()),
    );
  }

  function copyToSystem(): void {
    const text = copy();
    if (text) navigator.clipboard?.writeText?.(text).catch(() => {});
  }

  function onKey(event: KeyboardEvent): void {
    if (!actions.active() || typingTarget(event.target) || event.defaultPrevented) return;
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    const handled = () => event.preventDefault();
    if (mod && key === 'z' && !event.shiftKey) return (handled(), graph.undo());
    if (mod && ((key === 'z' && event.shiftKey) || key === 'y')) return (handled(), graph.redo());
    if (mod && key === 's') return (handled(), void (event.shiftKey ? files.saveAs() : files.save()));
    if (mod && key === 'd') return (handled(), graph.duplicateSelection());
    if (mod && key === 'a') return (handled(), graph.selectAll());
    if (mod && key === 'g') return (handled(), actions.group());
    if (mod && key === 'v') {
      // The browser fires a paste event next when it has a clipboard; otherwise use the in-app one.
      pastePending = setTimeout(() => {
        pastePending = null;
        graph.paste(null, actions.center());
      }, 80);
      return;
    }
    if (mod && (key === 'c' || key === 'x')) {
      copy(key === 'x');
      return; // the copy event that follows also puts it on the system clipboard
    }
    if (mod || event.altKey) return;
    if (key === 'delete' || key === 'backspace') return (handled(), graph.deleteSelection());
    if (key === 'escape') {
      if (!actions.closeOverlays()) graph.selection = [];
      return;
    }
    if (key === 'f') return (handled(), actions.fit());
    if (event.key === '?') return (handled(), actions.help());
  }

  function onCopy(event: ClipboardEvent): void {
    if (!actions.active() || typingTarget(event.target) || !graph.selection.length) return;
    const text = graph.copySelection();
    if (text && event.clipboardData) {
      event.clipboardData.setData('text/plain', text);
      event.preventDefault();
    }
  }

  function onPaste(event: ClipboardEvent): void {
    if (!actions.active() || typingTarget(event.target)) return;
    if (pastePending) clearTimeout(pastePending);
    pastePending = null;
    const text = event.clipboardData?.getData('text/plain') ?? null;
    if (graph.paste(text, actions.center())) event.preventDefault();
  }

  onMounted(() => {
    window.addEventListener('keydown', onKey);
    document.addEventListener('copy', onCopy);
    document.addEventListener('cut', onCopy);
    document.addEventListener('paste', onPaste);
  });
  onBeforeUnmount(() => {
    window.removeEventListener('keydown', onKey);
    document.removeEventListener('copy', onCopy);
    document.removeEventListener('cut', onCopy);
    document.removeEventListener('paste', onPaste);
  });

  return { copyToSystem, pasteFromMenu };
}
