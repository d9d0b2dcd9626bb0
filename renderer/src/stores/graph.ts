// The graph being edited: the shared schema's JSON document, the container open on the canvas (the top
// level or a block), the selection, and the undo history. Every change goes through `run(command)`, so
// undo/redo, copy/paste and autosave all see the same edits; Vue Flow only renders what is here.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import type { GraphDoc, GraphEdge, ParamValue } from '../../../shared/graph/schema';
import { analyzeGraph } from '../graph/analysis';
import { missingPositions } from '../graph/auto-layout';
import * as ops from '../graph/doc-ops';
import { copyFragment, parseFragment, pasteFragment, type GraphFragment } from '../graph/fragment';
import { History, type Command } from '../graph/history';
import { kindSpec } from '../graph/palette';
import { emptyGraph } from '../graph/starter';

export type Point = ops.Point;

export const useGraphStore = defineStore('graph', () => {
  const doc = shallowRef<GraphDoc>(withLayout(emptyGraph()));
  /** The document as last saved or opened: the graph has unsaved changes exactly when `doc` differs. */
  const savedDoc = shallowRef<GraphDoc>(doc.value);
  const block = ref<ops.BlockRef>(null);
  const selection = ref<string[]>([]);
  const selectedEdges = ref<GraphEdge[]>([]);
  const notice = ref<{ kind: 'info' | 'error'; text: string } | null>(null);
  const history = shallowRef(new History());
  /** In-app clipboard: used when the system clipboard is not readable (no permission, other platform). */
  let clipboard: GraphFragment | null = null;
  let pasteCount = 0;

  const analysis = computed(() => analyzeGraph(doc.value));
  const dirty = computed(() => doc.value !== savedDoc.value);
  const current = computed(() => ops.container(doc.value, block.value));
  const blockNames = computed(() => Object.keys(doc.value.blocks ?? {}));
  const undoLabel = computed(() => history.value.undoLabel);
  const redoLabel = computed(() => history.value.redoLabel);

  function run(command: Command): boolean {
    let next: GraphDoc;
    try {
      next = history.value.execute(doc.value, command);
    } catch (error) {
      notice.value = { kind: 'error', text: `${command.label}: ${(error as Error).message}` };
      return false;
    }
    if (next === doc.value) return false;
    doc.value = next;
    triggerRef(history);
    notice.value = null;
    dropStaleSelection();
    return true;
  }

  function edit(label: string, apply: (d: GraphDoc) => GraphDoc): boolean {
    return run({ label, apply });
  }

  function undo(): void {
    const previous = history.value.undo();
    if (previous) restore(previous);
  }

  function redo(): void {
    const next = history.value.redo();
    if (next) restore(next);
  }

  function restore(next: GraphDoc): void {
    doc.value = next;
    if (block.value !== null && !next.blocks?.[block.value]) block.value = null;
    triggerRef(history);
    dropStaleSelection();
  }

  function dropStaleSelection(): void {
    const ids = new Set(current.value.nodes.map((n) => n.id));
    selection.value = selection.value.filter((id) => ids.has(id));
    selectedEdges.value = [];
  }

  /** Replaces the whole document (open, template, new): a fresh history and a clean "saved" state. */
  function load(next: GraphDoc): void {
    doc.value = withLayout(next);
    savedDoc.value = doc.value;
    block.value = null;
    selection.value = [];
    selectedEdges.value = [];
    history.value = new History();
    notice.value = null;
  }

  function markSaved(): void {
    savedDoc.value = doc.value;
  }

  // ---------------------------------------------------------------- edits (one command each)

  function addNode(kind: string, at: Point): string | null {
    const spec = kindSpec(kind);
    let id: string | null = null;
    edit(`Add ${spec?.title ?? kind}`, (d) => {
      const out = ops.addNode(d, block.value, kind, at);
      id = out.id;
      return out.doc;
    });
    if (id) selection.value = [id];
    return id;
  }

  /**
   * Adds a node and wires it to the port a dragged wire came from, as one command: an output (`side`
   * 'source') feeds the new node's first input of the same type; an input is fed by its first matching output.
   */
  function addConnected(
    kind: string,
    at: Point,
    end: { nodeId: string; port: string; side: 'source' | 'target' },
  ): void {
    const spec = kindSpec(kind);
    let id = '';
    const ok = edit(`Add ${spec?.title ?? kind} and connect it`, (d) => {
      const added = ops.addNode(d, block.value, kind, at);
      id = added.id;
      const fromType = portTypeOf(d, end);
      if (end.side === 'source') {
        const port = spec?.inputs.find((p) => p.type === fromType);
        if (!port) throw new Error(`${spec?.title ?? kind} has no input of type ${fromType}`);
        return ops.connect(added.doc, block.value, `${end.nodeId}.${end.port}`, `${id}.${port.name}`);
      }
      const port = spec?.outputs.find((p) => p.type === fromType);
      if (!port) throw new Error(`${spec?.title ?? kind} has no output of type ${fromType}`);
      return ops.connect(added.doc, block.value, `${id}.${port.name}`, `${end.nodeId}.${end.port}`);
    });
    if (ok) selection.value = [id];
  }

  function portTypeOf(d: GraphDoc, end: { nodeId: string; port: string; side: 'source' | 'target' }) {
    const kind = ops.container(d, block.value).nodes.find((n) => n.id === end.nodeId)?.kind;
    const spec = kind ? kindSpec(kind) : undefined;
    return (end.side === 'source' ? spec?.outputs : spec?.inputs)?.find((p) => p.name === end.port)?.type;
  }

  function deleteSelection(): void {
    const nodes = [...selection.value];
    const edges = [...selectedEdges.value];
    if (!nodes.length && !edges.length) return;
    const what = [nodes.length && plural(nodes.length, 'node'), edges.length && plural(edges.length, 'wire')];
    edit(`Delete ${what.filter(Boolean).join(' and ')}`, (d) => ops.removeItems(d, block.value, nodes, edges));
  }

  function connect(from: string, to: string): void {
    edit(`Connect ${from} → ${to}`, (d) => ops.connect(d, block.value, from, to));
  }

  function setParam(nodeId: string, name: string, value: ParamValue | undefined): void {
    edit(`Set ${nodeId}.${name}`, (d) => ops.setParam(d, block.value, nodeId, name, value));
  }

  function renameNode(from: string, to: string): boolean {
    const ok = edit(`Rename ${from} to ${to}`, (d) => ops.renameNode(d, block.value, from, to));
    if (ok) selection.value = [to];
    return ok;
  }

  function moveNodes(positions: Record<string, Point>): void {
    const count = Object.keys(positions).length;
    edit(count === 1 ? `Move ${Object.keys(positions)[0]}` : `Move ${count} nodes`, (d) =>
      ops.moveNodes(d, block.value, positions),
    );
  }

  function setModel(key: 'd_model' | 'vocab_size', value: number): void {
    edit(`Set ${key} to ${value}`, (d) => ops.setModel(d, key, value));
  }

  function setInfo(key: 'name' | 'description', value: string): void {
    edit(`Set graph ${key}`, (d) => ops.setInfo(d, key, value));
  }

  function addBlock(name: string): boolean {
    const ok = edit(`Add block ${name}`, (d) => ops.addBlock(d, name));
    if (ok) openBlock(name);
    return ok;
  }

  function removeBlock(name: string): void {
    if (block.value === name) openBlock(null);
    edit(`Delete block ${name}`, (d) => ops.removeBlock(d, name));
  }

  /** Top level only (Repeat nodes live there): the selection becomes a block run by a Repeat node. */
  function groupSelection(name: string): boolean {
    if (block.value !== null) {
      notice.value = { kind: 'error', text: 'Group into block works on the model level (blocks cannot nest).' };
      return false;
    }
    const ids = [...selection.value];
    let repeatId = '';
    const ok = edit(`Group ${plural(ids.length, 'node')} into block ${name}`, (d) => {
      const out = ops.groupIntoBlock(d, ids, name);
      repeatId = out.repeatId;
      return out.doc;
    });
    if (ok) selection.value = [repeatId];
    return ok;
  }

  function openBlock(name: ops.BlockRef): void {
    if (name !== null && !doc.value.blocks?.[name]) return;
    block.value = name;
    selection.value = [];
    selectedEdges.value = [];
  }

  // ---------------------------------------------------------------- clipboard

  /** The selection as fragment JSON (what Ctrl+C puts on the clipboard), or null when nothing is selected. */
  function copySelection(): string | null {
    const fragment = copyFragment(doc.value, block.value, selection.value);
    if (!fragment) return null;
    clipboard = fragment;
    pasteCount = 0;
    return JSON.stringify(fragment);
  }

  /** Pastes fragment JSON (or the in-app clipboard when `text` is not a fragment) at `at`. */
  function paste(text: string | null, at?: Point): boolean {
    const fragment = (text ? parseFragment(text) : null) ?? clipboard;
    if (!fragment) return false;
    pasteCount++;
    const anchor = at ?? { x: 40 * pasteCount, y: 40 * pasteCount };
    let ids: string[] = [];
    const ok = edit(`Paste ${plural(fragment.nodes.length, 'node')}`, (d) => {
      const out = pasteFragment(d, block.value, fragment, anchor);
      ids = out.ids;
      return out.doc;
    });
    if (ok) selection.value = ids;
    return ok;
  }

  function duplicateSelection(): void {
    const fragment = copyFragment(doc.value, block.value, selection.value);
    if (!fragment) return;
    const first = doc.value.layout?.[ops.layoutKey(block.value, selection.value[0])] ?? { x: 0, y: 0 };
    const origin = Object.entries(fragment.layout).find(([id]) => id === selection.value[0])?.[1] ?? { x: 0, y: 0 };
    let ids: string[] = [];
    const ok = edit(`Duplicate ${plural(fragment.nodes.length, 'node')}`, (d) => {
      const out = pasteFragment(d, block.value, fragment, { x: first.x - origin.x + 40, y: first.y - origin.y + 60 });
      ids = out.ids;
      return out.doc;
    });
    if (ok) selection.value = ids;
  }

  function selectAll(): void {
    selection.value = current.value.nodes.map((n) => n.id);
  }

  return {
    doc,
    savedDoc,
    block,
    selection,
    selectedEdges,
    notice,
    analysis,
    dirty,
    current,
    blockNames,
    undoLabel,
    redoLabel,
    run,
    undo,
    redo,
    load,
    markSaved,
    addNode,
    addConnected,
    deleteSelection,
    connect,
    setParam,
    renameNode,
    moveNodes,
    setModel,
    setInfo,
    addBlock,
    removeBlock,
    groupSelection,
    openBlock,
    copySelection,
    paste,
    duplicateSelection,
    selectAll,
  };
});

/** Fills in positions for nodes that have none, in every container. */
export function withLayout(doc: GraphDoc): GraphDoc {
  let out = doc;
  for (const name of [null, ...Object.keys(doc.blocks ?? {})]) {
    const placed = missingPositions(out, name);
    if (Object.keys(placed).length) out = ops.moveNodes(out, name, placed);
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
