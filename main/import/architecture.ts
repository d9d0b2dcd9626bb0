// What an architecture mapper returns, and the config fields every mapper refuses: settings that change
// the computation in ways StateLab's graph cannot express. A config that sets one to anything but its
// neutral value stops the import with the field and the value — never an approximate teacher.

import type { GraphDoc } from '../../shared/graph/schema.js';
import type { TensorMap } from '../host/runs/checkpoint-file.js';
import type { ConfigReader } from './config.js';

export interface Teacher {
  modelType: 'llama' | 'gpt2';
  graph: GraphDoc;
  /** StateLab parameter names → float32 tensors, complete for the graph. */
  params: TensorMap;
  /** Longest sequence the model was built for (max_position_embeddings / n_positions). */
  maxPositions: number;
}

const isFalse = (v: unknown) => v === false;
const isZero = (v: unknown) => v === 0;
const never = () => false;

const UNSUPPORTED: [field: string, ok: (value: unknown) => boolean, why: string][] = [
  ['sliding_window', never, 'sliding-window attention is not imported'],
  ['use_sliding_window', isFalse, 'sliding-window attention is not imported'],
  [
    'layer_types',
    (v) => Array.isArray(v) && v.every((t) => t === 'full_attention'),
    'every layer must be full attention',
  ],
  ['attention_chunk_size', never, 'chunked attention is not imported'],
  ['num_local_experts', isZero, 'mixture-of-experts layers are not imported'],
  ['num_experts', isZero, 'mixture-of-experts layers are not imported'],
  ['n_routed_experts', isZero, 'mixture-of-experts layers are not imported'],
  ['alibi', isFalse, 'ALiBi position biases are not imported'],
  ['use_alibi', isFalse, 'ALiBi position biases are not imported'],
  ['parallel_attn', isFalse, 'parallel attention/MLP residuals are not imported'],
  ['use_parallel_residual', isFalse, 'parallel attention/MLP residuals are not imported'],
  ['qk_layernorm', isFalse, 'norms on queries and keys are not imported'],
  ['use_qk_norm', isFalse, 'norms on queries and keys are not imported'],
  ['attn_logit_softcapping', never, 'logit soft-capping is not imported'],
  ['final_logit_softcapping', never, 'logit soft-capping is not imported'],
  ['add_cross_attention', isFalse, 'decoder-only models are imported'],
  ['is_encoder_decoder', isFalse, 'decoder-only models are imported'],
];

export function refuseUnsupportedFields(c: ConfigReader): void {
  for (const [field, ok, why] of UNSUPPORTED) c.refuse(field, ok, why);
}

/** `architectures` (when given) must name only the classes the mapper reproduces. */
export function checkArchitectures(c: ConfigReader, allowed: string[]): void {
  c.refuse(
    'architectures',
    (v) => Array.isArray(v) && v.every((a) => allowed.includes(a)),
    `importable: ${allowed.join(', ')}`,
  );
}
