// Writes that never leave a half-written file: write a temporary sibling, fsync it, rename it over the
// target (atomic on POSIX and NTFS), then fsync the directory so the rename itself survives a crash.

import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** A write that failed (disk full, read-only folder, no permission); the target file is unchanged. */
export class FileWriteError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${describeWriteError(cause)}; the file is unchanged`, { cause });
    this.name = 'FileWriteError';
  }
}

function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return 'the disk is full (ENOSPC)';
  if (code === 'EDQUOT') return 'the disk quota is exhausted (EDQUOT)';
  if (code === 'EROFS') return 'the file system is read-only (EROFS)';
  if (code === 'EACCES' || code === 'EPERM')
    return `permission denied (${code}): the folder is read-only for this user`;
  if (code === 'ENOENT') return 'its folder does not exist (ENOENT)';
  return (error as Error)?.message ?? String(error);
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fd: number;
  try {
    fd = openSync(temp, 'w');
  } catch (error) {
    throw new FileWriteError(path, (error as NodeJS.ErrnoException).code, error);
  }
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, path);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(temp);
    } catch {
      // the temporary file may not exist; the original error is what matters
    }
    throw new FileWriteError(path, (error as NodeJS.ErrnoException).code, error);
  }
  syncDirectory(dirname(path));
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms (Windows) cannot open directories; the rename is still atomic there.
  }
}
