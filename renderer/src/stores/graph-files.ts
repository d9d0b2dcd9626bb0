// Where the edited graph comes from and goes to: templates, graph files in the workspace, files the user
// picks or drops, and an autosave in local storage. Nothing replaces a graph with unsaved changes without
// asking; a file that does not parse is refused with its error and the current graph stays as it was.

import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { parseGraph, serializeGraph, upgradeGraph } from '../../../shared/graph/parse';
import type { GraphDoc } from '../../../shared/graph/schema';
import { GRAPH_NAME, type GraphFileInfo, type TemplateInfo } from '../../../shared/lab-api';
import { emptyGraph } from '../graph/starter';
import { lab } from '../lab';
import { useDialogStore } from './dialog';
import { useGraphStore } from './graph';

const AUTOSAVE_KEY = 'statelab.autosave.v1';

interface Autosave {
  text: string;
  fileName: string | null;
  origin: string;
  savedAt: string;
}

export const useGraphFilesStore = defineStore('graph-files', () => {
  const graph = useGraphStore();
  const dialog = useDialogStore();
  /** The workspace file the graph is saved to (`graphs/<name>.json`), null until saved. */
  const fileName = ref<string | null>(null);
  /** Where the graph came from, for the title bar: "template GLA", "file model.json", "new". */
  const origin = ref('new graph');
  const templates = ref<TemplateInfo[]>([]);
  const graphs = ref<GraphFileInfo[]>([]);
  const busy = ref(false);

  async function refreshLists(): Promise<void> {
    try {
      [templates.value, graphs.value] = await Promise.all([lab.listTemplates(), lab.listGraphs()]);
    } catch (error) {
      graph.notice = { kind: 'error', text: `Could not list templates and graphs: ${(error as Error).message}` };
    }
  }

  /** True when it is fine to replace the current graph (saved, or the user chose to save or discard). */
  async function guard(action: string): Promise<boolean> {
    if (!graph.dirty) return true;
    const answer = await dialog.ask({
      title: 'Unsaved changes',
      message: `"${graph.doc.name}" has changes that are not saved. Save them before you ${action}?`,
      buttons: [
        { id: 'cancel', label: 'Cancel' },
        { id: 'discard', label: 'Discard changes' },
        { id: 'save', label: 'Save', primary: true },
      ],
    });
    if (answer.button === 'discard') return true;
    if (answer.button === 'save') return save();
    return false;
  }

  function adopt(doc: GraphDoc, name: string | null, from: string): void {
    graph.load(doc);
    fileName.value = name;
    origin.value = from;
    localStorage.removeItem(AUTOSAVE_KEY);
  }

  /** Parses and opens graph text; on failure the current graph is kept and the error shown. */
  function openText(text: string, source: string, name: string | null, from: string): boolean {
    let doc: GraphDoc;
    try {
      doc = parseGraph(text, source);
    } catch (error) {
      graph.notice = { kind: 'error', text: `Could not open ${source}: ${(error as Error).message}` };
      return false;
    }
    adopt(doc, name, from);
    return true;
  }

  async function newGraph(): Promise<void> {
    if (await guard('start a new graph')) adopt(emptyGraph(), null, 'new graph');
  }

  async function openTemplate(id: string): Promise<boolean> {
    if (!(await guard('open a template'))) return false;
    try {
      const text = await lab.readTemplate(id);
      const name = templates.value.find((t) => t.id === id)?.name ?? id;
      return openText(text, `template ${id}`, null, `template ${name}`);
    } catch (error) {
      graph.notice = { kind: 'error', text: `Could not read template ${id}: ${(error as Error).message}` };
      return false;
    }
  }

  async function openWorkspaceGraph(name: string): Promise<boolean> {
    if (!(await guard(`open ${name}`))) return false;
    try {
      return openText(await lab.readGraph(name), `${name}.json`, name, `workspace ${name}.json`);
    } catch (error) {
      graph.notice = { kind: 'error', text: `Could not read ${name}.json: ${(error as Error).message}` };
      return false;
    }
  }

  /** A file the user picked or dropped: opened as an unsaved copy (Save puts it in the workspace). */
  async function openFile(file: File): Promise<boolean> {
    if (!(await guard(`open ${file.name}`))) return false;
    return openText(await file.text(), file.name, null, `file ${file.name}`);
  }

  /** Graph text the system handed to the app (a file opened with StateLab). */
  async function openNamedText(text: string, name: string): Promise<boolean> {
    if (!(await guard(`open ${name}`))) return false;
    return openText(text, name, null, `file ${name}`);
  }

  /** A graph from elsewhere (a run's graph.json), opened as a new unsaved document. */
  async function openDoc(raw: unknown, from: string): Promise<boolean> {
    if (!(await guard(`open ${from}`))) return false;
    try {
      adopt(upgradeGraph(raw, from), null, from);
      graph.doc = { ...graph.doc }; // a copy of the source: unsaved until the user saves it
      return true;
    } catch (error) {
      graph.notice = { kind: 'error', text: `Could not open ${from}: ${(error as Error).message}` };
      return false;
    }
  }

  async function save(): Promise<boolean> {
    if (!fileName.value) return saveAs();
    return write(fileName.value);
  }

  async function saveAs(): Promise<boolean> {
    const suggested = (graph.doc.name || 'graph').replace(/[^A-Za-z0-9 _().-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
    const name = await dialog.prompt('Save graph', 'Save the graph in the workspace folder graphs/ as:', {
      label: 'File name (.json is added)',
      value: suggested || 'graph',
      pattern: GRAPH_NAME,
      hint: 'letters, digits, space, _ . - ( ) — at most 80 characters',
    });
    if (!name) return false;
    await refreshLists();
    if (name !== fileName.value && graphs.value.some((g) => g.name === name)) {
      const overwrite = await dialog.confirm(
        'Replace file?',
        `graphs/${name}.json already exists. Replace it?`,
        'Replace',
      );
      if (!overwrite) return false;
    }
    return write(name);
  }

  async function write(name: string): Promise<boolean> {
    busy.value = true;
    const saving = graph.doc;
    try {
      await lab.saveGraph(name, serializeGraph(saving));
      if (graph.doc === saving) graph.markSaved();
      else graph.savedDoc = saving; // edits made while saving stay unsaved
      fileName.value = name;
      origin.value = `workspace ${name}.json`;
      graph.notice = { kind: 'info', text: `Saved graphs/${name}.json` };
      localStorage.removeItem(AUTOSAVE_KEY);
      void refreshLists();
      return true;
    } catch (error) {
      graph.notice = { kind: 'error', text: `Could not save ${name}.json: ${(error as Error).message}` };
      return false;
    } finally {
      busy.value = false;
    }
  }

  // ---------------------------------------------------------------- autosave

  let timer: ReturnType<typeof setTimeout> | null = null;
  watch(
    () => graph.doc,
    () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(autosaveNow, 600);
    },
  );

  function autosaveNow(): void {
    timer = null;
    try {
      if (!graph.dirty) {
        localStorage.removeItem(AUTOSAVE_KEY);
        return;
      }
      const entry: Autosave = {
        text: serializeGraph(graph.doc),
        fileName: fileName.value,
        origin: origin.value,
        savedAt: new Date().toISOString(),
      };
      localStorage.setItem(AUTOSAVE_KEY, JSON.stringify(entry));
    } catch {
      // Storage full or unavailable: autosave is a convenience, the explicit save still works.
    }
  }

  /** On start: offers the graph that was being edited when the app last closed with unsaved changes. */
  async function offerAutosave(): Promise<void> {
    let entry: Autosave;
    try {
      const raw = localStorage.getItem(AUTOSAVE_KEY);
      if (!raw) return;
      entry = JSON.parse(raw) as Autosave;
    } catch {
      return;
    }
    const restore = await dialog.confirm(
      'Restore unsaved graph?',
      `StateLab closed with unsaved changes to "${entry.origin}" (autosaved ${new Date(entry.savedAt).toLocaleString()}). Restore them?`,
      'Restore',
    );
    if (!restore) {
      localStorage.removeItem(AUTOSAVE_KEY);
      return;
    }
    if (openText(entry.text, 'the autosave', entry.fileName, entry.origin)) {
      graph.savedDoc = emptyGraph(); // restored edits are unsaved until saved again
    }
  }

  return {
    fileName,
    origin,
    templates,
    graphs,
    busy,
    refreshLists,
    guard,
    newGraph,
    openTemplate,
    openWorkspaceGraph,
    openFile,
    openDoc,
    openText,
    openNamedText,
    save,
    saveAs,
    offerAutosave,
    autosaveNow,
  };
});
