// The host side of the LabApi: a plain Node object that the Electron IPC glue and the browser-mode
// HTTP server both expose, and that tests call directly. `invokeLab` is the single entry for untrusted
// calls: it checks the method name and the arguments before any service code runs.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LAB_API_ARGUMENTS,
  LabApiError,
  isLabMethod,
  type AppInfo,
  type LabApi,
  type LabMode,
  type LabReply,
} from '../../shared/lab-api.js';
import { listBundledTexts, readBundledText } from './bundled-texts.js';

/** `assets/` of a source checkout (the packaged app passes its resources folder instead). */
export const SOURCE_ASSETS_DIR = fileURLToPath(new URL('../../assets', import.meta.url));

export interface LabServiceOptions {
  mode: LabMode;
  /** The folder holding `text/` (bundled corpora). */
  assetsDir: string;
  /** The app's version; defaults to package.json's. */
  version?: string;
  /** Extra runtime versions to report (Electron adds electron and chrome). */
  versions?: Record<string, string>;
}

export function createLabService(options: LabServiceOptions): LabApi {
  const textDir = join(options.assetsDir, 'text');
  const info: AppInfo = {
    name: 'StateLab',
    version: options.version ?? packageVersion(),
    mode: options.mode,
    platform: process.platform,
    versions: { node: process.versions.node, ...options.versions },
  };
  return {
    appInfo: async () => structuredClone(info),
    listTexts: async () => listBundledTexts(textDir),
    readText: async (id) => readBundledText(textDir, id),
  };
}

/** Validates an untrusted call (from IPC or HTTP) and runs it; throws `LabApiError` on bad input. */
export async function invokeLab(service: LabApi, method: string, args: unknown): Promise<unknown> {
  if (!isLabMethod(method)) throw new LabApiError('unknown-method', `unknown LabApi method "${method}"`);
  if (!Array.isArray(args)) throw new LabApiError('bad-arguments', `${method}: arguments must be an array`);
  const checked = LAB_API_ARGUMENTS[method](args);
  const call = service[method] as (...a: unknown[]) => Promise<unknown>;
  return call.apply(service, checked);
}

/** `invokeLab` as data: every failure becomes an error reply (unexpected ones as `internal`). */
export async function callLab(service: LabApi, method: string, args: unknown): Promise<LabReply> {
  try {
    return { result: await invokeLab(service, method, args) };
  } catch (error) {
    if (error instanceof LabApiError) return { error: { code: error.code, message: error.message } };
    return { error: { code: 'internal', message: `${method} failed: ${(error as Error).message}` } };
  }
}

function packageVersion(): string {
  const path = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
