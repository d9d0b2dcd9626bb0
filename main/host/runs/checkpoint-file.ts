// Checkpoints as safetensors: named float32 tensors plus a string metadata map. The byte-level format
// (header, dtypes, validation) lives in shared/formats/safetensors.ts; this adapts it to the trainer's
// name → {shape, data} maps.

import { decodeSafetensors, encodeSafetensors } from '../../../shared/formats/safetensors.js';

export type TensorMap = Map<string, { shape: readonly number[]; data: Float32Array }>;

export function encodeCheckpoint(tensors: TensorMap, metadata: Record<string, string>): Uint8Array {
  return encodeSafetensors(
    [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: [...t.shape], data: t.data })),
    metadata,
  );
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): { tensors: TensorMap; metadata: Record<string, string> } {
  const file = decodeSafetensors(bytes, source);
  const tensors: TensorMap = new Map();
  for (const t of file.tensors) {
    if (t.dtype !== 'F32') throw new Error(`${source}: tensor "${t.name}" is ${t.dtype}; checkpoints hold F32`);
    tensors.set(t.name, { shape: t.shape, data: t.data as Float32Array });
  }
  return { tensors, metadata: file.metadata };
}
