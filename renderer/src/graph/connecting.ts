// While a wire is being dragged, every card needs to know the port type at its loose end to mark its own
// ports as compatible or not: shared through provide/inject instead of rebuilding every node.

import type { InjectionKey, Ref } from 'vue';
import type { PortType } from '../../../shared/graph/catalogue';

export interface Connecting {
  nodeId: string;
  /** The side the drag started from: 'source' (an output) looks for inputs of the same type. */
  from: 'source' | 'target';
  type: PortType | undefined;
}

export const CONNECTING: InjectionKey<Ref<Connecting | null>> = Symbol('connecting');

/** Opens a block from a Repeat card (double-click or its button). */
export const OPEN_BLOCK: InjectionKey<(name: string) => void> = Symbol('open-block');

/** The drag-and-drop type a palette entry carries (its value is the node kind). */
export const KIND_MIME = 'application/x-statelab-kind';
