// Undo/redo as commands. A command turns the current document into the next one; the history keeps
// both sides (documents are immutable, so this shares structure and costs little) and one entry per
// user action. A command that changes nothing leaves no entry. Whether the graph has unsaved changes
// is "is the current document the one last saved", which stays right through any undo/redo sequence.

import type { GraphDoc } from '../../../shared/graph/schema';

export interface Command {
  /** What the user did, shown in the Edit menu and tooltips ("Add Gated MLP", "Delete 3 nodes"). */
  label: string;
  apply(doc: GraphDoc): GraphDoc;
}

interface Entry {
  label: string;
  before: GraphDoc;
  after: GraphDoc;
}

export class History {
  private past: Entry[] = [];
  private future: Entry[] = [];

  constructor(private readonly limit = 500) {}

  /** Runs `command` on `doc`; returns the new document (the same object when nothing changed). */
  execute(doc: GraphDoc, command: Command): GraphDoc {
    const after = command.apply(doc);
    if (after === doc) return doc;
    this.past.push({ label: command.label, before: doc, after });
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
    return after;
  }

  undo(): GraphDoc | null {
    const entry = this.past.pop();
    if (!entry) return null;
    this.future.push(entry);
    return entry.before;
  }

  redo(): GraphDoc | null {
    const entry = this.future.pop();
    if (!entry) return null;
    this.past.push(entry);
    return entry.after;
  }

  get undoLabel(): string | null {
    return this.past.at(-1)?.label ?? null;
  }

  get redoLabel(): string | null {
    return this.future.at(-1)?.label ?? null;
  }

  clear(): void {
    this.past = [];
    this.future = [];
  }
}
