// A trainer checkpoint as the two safetensors files of a run folder (main/host/runs/run-store.ts): the
// model tensors with their step, and the optimizer moments with the trainer state as JSON metadata. The
// host decodes both, checks them against the run's graph and writes them exactly as the CLI would.

import type { Checkpoint, TrainerState } from '../../../gpu/train/trainer';
import { decodeSafetensors, encodeSafetensors } from '../../../shared/formats/safetensors';

export function encodeCheckpointFiles(checkpoint: Checkpoint): { model: Uint8Array; optimizer: Uint8Array } {
  const entries = (tensors: Checkpoint['params']) =>
    [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: [...t.shape], data: t.data }));
  return {
    model: encodeSafetensors(entries(checkpoint.params), { format: 'pt', step: String(checkpoint.step) }),
    optimizer: encodeSafetensors(entries(checkpoint.optimizer), { trainer_state: JSON.stringify(checkpoint.state) }),
  };
}

/** The inverse of `encodeCheckpointFiles`: what the trainer's `resume` takes. */
export function decodeCheckpointFiles(model: Uint8Array, optimizer: Uint8Array): Checkpoint {
  const tensors = (bytes: Uint8Array, source: string) => {
    const file = decodeSafetensors(bytes, source);
    const map: Checkpoint['params'] = new Map();
    for (const t of file.tensors) {
      if (!(t.data instanceof Float32Array)) throw new Error(`${source}: tensor "${t.name}" is ${t.dtype}, not F32`);
      map.set(t.name, { shape: t.shape, data: t.data });
    }
    return { map, metadata: file.metadata };
  };
  const params = tensors(model, 'checkpoint model');
  const moments = tensors(optimizer, 'checkpoint optimizer');
  const stateJson = moments.metadata.trainer_state;
  if (!stateJson) throw new Error('checkpoint optimizer: missing trainer_state metadata');
  const state = JSON.parse(stateJson) as TrainerState;
  return { step: state.step, params: params.map, optimizer: moments.map, state };
}
