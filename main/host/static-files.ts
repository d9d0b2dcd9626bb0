// Serving the built renderer (`out/renderer`) from disk, for the browser-mode server and Electron's
// app protocol alike. A request path is decoded, normalised and must stay inside the root folder;
// anything else is "not found", never a file elsewhere on disk.

import { existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Maps a URL path (`/assets/index-abc.js`, `/`) to a file inside `root`, or null when it escapes the
 * root, is malformed or does not exist. `/` and folders map to their `index.html`.
 */
export function resolveStaticFile(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split(/[?#]/, 1)[0]);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const base = resolve(root);
  let path = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  if (path !== base && !path.startsWith(base + sep)) return null;
  if (existsSync(path) && statSync(path).isDirectory()) path = resolve(path, 'index.html');
  return existsSync(path) && statSync(path).isFile() ? path : null;
}
