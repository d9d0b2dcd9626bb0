// Reads a file as a stream of byte chunks of at most `chunkBytes`: the only way dataset readers touch
// the disk, so no reader ever holds more than a chunk (plus what it is assembling) in memory.

import { open, stat } from 'node:fs/promises';
import { DatasetError, describeFsError } from './errors.js';

export const DEFAULT_CHUNK_BYTES = 1 << 20;

export async function* readByteChunks(path: string, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1)
    throw new DatasetError(path, `chunk size ${chunkBytes} must be a positive integer`);
  let handle;
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
    if (isFile) handle = await open(path, 'r');
  } catch (error) {
    throw new DatasetError(path, `cannot read (${describeFsError(error)})`);
  }
  if (!handle) throw new DatasetError(path, 'cannot read (not a regular file)');
  try {
    for (;;) {
      // A fresh buffer per read: the consumer may keep the previous chunk while this one is read.
      const buffer = new Uint8Array(chunkBytes);
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield bytesRead === chunkBytes ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
