// A trainer checkpoint as the two safetensors files of a run folder (main/host/runs/run-store.ts): the
// model tensors with their step, and the optimizer moments with the trainer state as JSON metadata. The
// host decodes both, checks them against the run's graph and writes them exactly as the CLI would.

import type { Checkpoint } from '../../../gpu/train/trainer';
import { encodeSafetensors } from '../../../shared/formats/safetensors';

export function encodeCheckpointFiles(checkpoint: Checkpoint): { model: Uint8Array; optimizer: Uint8Array } {
  const entries = (tensors: Checkpoint['params']) =>
    [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: [...t.shape], data: t.data }));
  return {
    model: encodeSafetensors(entries(checkpoint.params), { format: 'pt', step: String(checkpoint.step) }),
    optimizer: encodeSafetensors(entries(checkpoint.optimizer), { trainer_state: JSON.stringify(checkpoint.state) }),
  };
}
