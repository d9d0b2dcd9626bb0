// Keeping file access inside the workspace. Names from the page are already plain file names, but a
// folder or file in the workspace may be a symbolic link (a workspace unpacked from an archive, a cloned
// repository, another local user's doing): a link that resolves outside the workspace is refused, so
// the page can never read or write through it. The workspace root itself may be a link (its real
// location is what counts).

import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { LabApiError } from '../../../shared/lab-api.js';

/** The real path of `path`, following links; for a path that does not exist yet, of its nearest existing parent. */
function realPath(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(path);
  return parent === path ? path : join(realPath(parent), basename(path));
}

/** True when `path` (links followed) lies inside `root` (links followed). */
export function isInside(root: string, path: string): boolean {
  const realRoot = realPath(root);
  const real = realPath(path);
  return real === realRoot || real.startsWith(realRoot + sep);
}

/** `path`, or a `bad-arguments` error when a link takes it outside `root`. */
export function confined(root: string, path: string, what: string): string {
  if (!isInside(root, path)) {
    throw new LabApiError('bad-arguments', `${what} is a link that leads out of the workspace: refused`);
  }
  return path;
}
