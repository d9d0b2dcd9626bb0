// The graph a new document starts from: the smallest model that validates (tokens → embedding → norm →
// tied LM head), ready for mixers and blocks to be dropped in between.

import { GRAPH_FORMAT, GRAPH_VERSION, type GraphDoc } from '../../../shared/graph/schema';

export function emptyGraph(name = 'Untitled'): GraphDoc {
  return {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    name,
    model: { d_model: 64, vocab_size: 256 },
    nodes: [
      { id: 'tokens', kind: 'tokens' },
      { id: 'embeddings', kind: 'embedding' },
      { id: 'norm', kind: 'norm' },
      { id: 'lm_head', kind: 'lm_head', params: { tied: true } },
    ],
    edges: [
      { from: 'tokens.ids', to: 'embeddings.ids' },
      { from: 'embeddings.y', to: 'norm.x' },
      { from: 'norm.y', to: 'lm_head.x' },
    ],
  };
}
