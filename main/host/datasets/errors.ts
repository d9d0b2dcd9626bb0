// Dataset errors always start with the file (and the line, where there is one) so the user can go and
// look: "corpus.jsonl:17: malformed JSON (...)".

export class DatasetError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'DatasetError';
  }
}

export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file';
  if (e?.code === 'EISDIR') return 'is a directory, not a file';
  if (e?.code === 'EACCES') return 'permission denied';
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}
