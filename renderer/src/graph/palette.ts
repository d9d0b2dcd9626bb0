// The palette, generated from the node catalogue (`nodeCatalogue()`, itself generated from the engine's
// mixer registry): kinds grouped for people — mixers by family, then embeddings, norms, MLPs, blocks,
// heads. A kind the grouping does not know yet still appears, under its catalogue category.

import type { NodeKindSpec } from '../../../shared/graph/catalogue';
import { MIXER_PREFIX, nodeCatalogue } from '../../../gpu/graph/catalogue';
import { registeredMixers, type MixerFactory } from '../../../gpu/nn/mixer';
import type { BlockRef } from './doc-ops';

export const CATALOGUE = nodeCatalogue();

export interface PaletteGroup {
  id: string;
  title: string;
  kinds: NodeKindSpec[];
}

const FAMILY_TITLES: Record<MixerFactory['family'], string> = {
  'linear-diagonal': 'Mixers · diagonal recurrences',
  'linear-matrix': 'Mixers · matrix state (linear attention)',
  'delta-rule': 'Mixers · delta rule',
  attention: 'Mixers · attention',
  'nonlinear-rnn': 'Mixers · nonlinear RNNs',
  convolution: 'Mixers · convolutions',
};

/** Structural kinds by role; anything else falls back to its catalogue category. */
const ROLE: Record<string, string> = {
  tokens: 'Inputs & outputs',
  'block.input': 'Inputs & outputs',
  'block.output': 'Inputs & outputs',
  embedding: 'Embeddings',
  norm: 'Norms',
  mlp: 'MLPs',
  repeat: 'Blocks',
  add: 'Structure',
  linear: 'Structure',
  lm_head: 'Heads',
};

const ORDER = [
  'Inputs & outputs',
  'Embeddings',
  ...Object.values(FAMILY_TITLES),
  'Norms',
  'MLPs',
  'Structure',
  'Blocks',
  'Heads',
];

const familyOf = new Map(registeredMixers().map((m) => [`${MIXER_PREFIX}${m.kind}`, m.family]));

export function groupTitle(spec: NodeKindSpec): string {
  const family = familyOf.get(spec.kind);
  if (family) return FAMILY_TITLES[family];
  return ROLE[spec.kind] ?? spec.category;
}

/** Kinds allowed in this container, grouped and filtered by a search over kind, title and description. */
export function paletteGroups(block: BlockRef, query: string): PaletteGroup[] {
  const scope = block === null ? 'top' : 'block';
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const groups = new Map<string, NodeKindSpec[]>();
  for (const spec of CATALOGUE.values()) {
    if (spec.scope && spec.scope !== scope) continue;
    const haystack = `${spec.kind} ${spec.title} ${spec.description} ${groupTitle(spec)}`.toLowerCase();
    if (!words.every((w) => haystack.includes(w))) continue;
    const title = groupTitle(spec);
    groups.set(title, [...(groups.get(title) ?? []), spec]);
  }
  const rank = (title: string) => (ORDER.includes(title) ? ORDER.indexOf(title) : ORDER.length);
  return [...groups]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([title, kinds]) => ({
      id: title.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      title,
      kinds: kinds.sort((a, b) => a.title.localeCompare(b.title)),
    }));
}

export function kindSpec(kind: string): NodeKindSpec | undefined {
  return CATALOGUE.get(kind);
}
