// The one contract between the renderer and the host. The renderer only ever sees a `LabApi`, built by
// `createLabClient` over a transport: the Electron preload's bridge (one IPC channel `lab:<method>` per
// method) or the browser-mode HTTP client (`POST /api/<method>` with body `{"args": [...]}`). Both answer
// a `LabReply`, so error codes survive either transport. The host validates every call with
// `LAB_API_ARGUMENTS` before a service method runs: arguments are checked in one place for both.
// Later issues add runs, datasets and workspaces here.

export type LabMode = 'electron' | 'browser';

export interface AppInfo {
  name: string;
  version: string;
  /** How the renderer reaches the host: Electron IPC or the browser-mode HTTP server. */
  mode: LabMode;
  /** `process.platform` of the host (linux, darwin, win32). */
  platform: string;
  /** Runtime versions of the host (node, and electron/chrome in Electron mode). */
  versions: Record<string, string>;
}

export interface BundledText {
  /** Stable identifier: the file name without `.txt` (`lighthouse`). */
  id: string;
  /** A human-readable title (the first line of the text). */
  title: string;
  bytes: number;
}

export interface LabApi {
  appInfo(): Promise<AppInfo>;
  /** The plain-text corpora shipped in `assets/text/`. */
  listTexts(): Promise<BundledText[]>;
  /** The full contents of one bundled text. */
  readText(id: string): Promise<string>;
}

export type LabMethod = keyof LabApi;

/** Why a call failed, independent of the transport (HTTP status or IPC rejection). */
export type LabErrorCode = 'bad-arguments' | 'unknown-method' | 'not-found' | 'internal';

export class LabApiError extends Error {
  constructor(
    readonly code: LabErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LabApiError';
  }
}

/** The prefix of every IPC channel: `lab:<method>`. */
export const IPC_PREFIX = 'lab:';

// ---------------------------------------------------------------- argument validation

function expectCount(method: string, args: unknown[], names: string[]): void {
  if (args.length !== names.length) {
    const expected = names.length === 0 ? 'no arguments' : `${names.length} (${names.join(', ')})`;
    throw new LabApiError('bad-arguments', `${method}: expected ${expected}, got ${args.length}`);
  }
}

const TEXT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function textId(method: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || !TEXT_ID.test(value)) {
    throw new LabApiError(
      'bad-arguments',
      `${method}: ${name} must be a text id (lower-case letters, digits, "-" or "_", at most 64 characters), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

type ArgumentCheck<M extends LabMethod> = (args: unknown[]) => Parameters<LabApi[M]>;

/** Per method: checks untrusted arguments and returns them typed, or throws a `bad-arguments` error. */
export const LAB_API_ARGUMENTS: { [M in LabMethod]: ArgumentCheck<M> } = {
  appInfo: (args) => {
    expectCount('appInfo', args, []);
    return [];
  },
  listTexts: (args) => {
    expectCount('listTexts', args, []);
    return [];
  },
  readText: (args) => {
    expectCount('readText', args, ['id']);
    return [textId('readText', 'id', args[0])];
  },
};

export const LAB_METHODS = Object.keys(LAB_API_ARGUMENTS) as LabMethod[];

export function isLabMethod(name: string): name is LabMethod {
  return Object.prototype.hasOwnProperty.call(LAB_API_ARGUMENTS, name);
}

// ---------------------------------------------------------------- transports

/** What a transport carries back: a result, or an error that the client rethrows as `LabApiError`. */
export type LabReply<T = unknown> = { result: T } | { error: { code: LabErrorCode; message: string } };

export type LabTransport = (method: LabMethod, args: unknown[]) => Promise<LabReply>;

/** The shape of the preload bridge (`window.lab` in Electron): one function per method, replies as data. */
export type LabBridge = { [M in LabMethod]: (...args: Parameters<LabApi[M]>) => Promise<LabReply> };

export function createLabClient(transport: LabTransport): LabApi {
  const client: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of LAB_METHODS) {
    client[method] = async (...args) => {
      const reply = await transport(method, args);
      if ('error' in reply) throw new LabApiError(reply.error.code, reply.error.message);
      return reply.result;
    };
  }
  return client as unknown as LabApi;
}
