// The node catalogue: the built-in structural kinds plus one `mixer.<kind>` per registered mixer. The
// editor's palette, the validator and the compiler all read this one list.

import { makeCatalogue, type Catalogue, type NodeKindSpec } from '../../shared/graph/catalogue.js';
import type { ResolvedNode, WidthCheck } from '../../shared/graph/validate.js';
import { mixerFactory, registeredMixers } from '../nn/mixer.js';
import '../nn/mixers/index.js';

export const MIXER_PREFIX = 'mixer.';

export function mixerKindSpecs(): NodeKindSpec[] {
  return registeredMixers().map((f) => ({
    kind: `${MIXER_PREFIX}${f.kind}`,
    title: f.title,
    category: 'mixer',
    description: f.description,
    inputs: [{ name: 'x', type: 'hidden' }],
    outputs: [{ name: 'y', type: 'hidden' }],
    params: f.options,
  }));
}

export function nodeCatalogue(): Catalogue {
  return makeCatalogue(mixerKindSpecs());
}

/** Lets each mixer reject a width it cannot take (heads that do not divide, …) during validation. */
export const mixerWidthCheck: WidthCheck = (node: ResolvedNode, width: number) => {
  if (!node.spec.kind.startsWith(MIXER_PREFIX)) return null;
  try {
    mixerFactory(node.spec.kind.slice(MIXER_PREFIX.length)).create(width, node.params);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
};
