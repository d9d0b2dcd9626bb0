// The Electron glue without the Electron binary (it cannot be downloaded here): `electron` is replaced
// by a recording fake, main/electron/main.ts runs against it, and the test checks what the glue asked
// for — WebGPU switches, secure window preferences, one validated IPC channel per LabApi method that
// refuses foreign senders, navigation and permission lock-down.

import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LabReply } from '../../shared/lab-api.js';

type Handler = (event: unknown, ...args: unknown[]) => Promise<LabReply>;
type WebContentsListener = (event: { preventDefault(): void }, url: string) => void;

const electron = vi.hoisted(() => ({
  switches: [] as string[][],
  handlers: new Map<string, Handler>(),
  windows: [] as { options: Record<string, unknown>; url: string; listeners: Map<string, WebContentsListener> }[],
  schemes: [] as unknown[],
  protocolHandler: null as null | ((request: { url: string }) => Promise<Response>),
  permissionHandler: null as null | ((contents: unknown, permission: string, grant: (ok: boolean) => void) => void),
  openHandler: null as null | ((details: { url: string }) => { action: string }),
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static getAllWindows = (): unknown[] => electron.windows;
    readonly listeners = new Map<string, WebContentsListener>();
    readonly webContents = {
      setWindowOpenHandler: (handler: (details: { url: string }) => { action: string }) =>
        (electron.openHandler = handler),
      on: (name: string, listener: WebContentsListener) => this.listeners.set(name, listener),
    };
    url = '';
    constructor(readonly options: Record<string, unknown>) {
      electron.windows.push(this as never);
    }
    once(): void {}
    on(): void {}
    loadURL(url: string): Promise<void> {
      this.url = url;
      return Promise.resolve();
    }
  }
  return {
    app: {
      commandLine: { appendSwitch: (...args: string[]) => electron.switches.push(args) },
      enableSandbox: () => {},
      isPackaged: false,
      whenReady: () => Promise.resolve(),
      requestSingleInstanceLock: () => true,
      on: () => {},
      getVersion: () => '0.1.0-test',
      getAppPath: () => process.cwd(),
      quit: () => {},
      exit: (code: number) => {
        throw new Error(`app.exit(${code})`);
      },
    },
    BrowserWindow,
    ipcMain: { handle: (channel: string, handler: Handler) => electron.handlers.set(channel, handler) },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => electron.schemes.push(...schemes),
      handle: (_scheme: string, handler: (request: { url: string }) => Promise<Response>) =>
        (electron.protocolHandler = handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: typeof electron.permissionHandler) =>
          (electron.permissionHandler = handler),
      },
    },
    shell: { openExternal: () => Promise.resolve() },
  };
});

const appFrame = { url: 'statelab://app/index.html', parent: null };

function invoke(method: string, senderFrame: unknown, ...args: unknown[]): Promise<LabReply> {
  const handler = electron.handlers.get(`lab:${method}`);
  if (!handler) throw new Error(`no IPC handler for ${method}`);
  return handler({ senderFrame }, ...args);
}

beforeAll(async () => {
  await import('../../main/electron/main.js');
  await vi.waitFor(() => expect(electron.windows).toHaveLength(1));
});

describe('Electron main process glue', () => {
  it('enables WebGPU on Linux and registers the app scheme as secure', () => {
    if (process.platform === 'linux') {
      expect(electron.switches).toContainEqual(['enable-unsafe-webgpu']);
      expect(electron.switches).toContainEqual(['enable-features', 'Vulkan']);
    }
    expect(electron.schemes).toContainEqual(
      expect.objectContaining({ scheme: 'statelab', privileges: expect.objectContaining({ secure: true }) }),
    );
  });

  it('opens one window with secure preferences and the app protocol', () => {
    const [window] = electron.windows;
    expect(window.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      preload: expect.stringMatching(/preload[/\\]index\.cjs$/),
    });
    expect(window.url).toBe('statelab://app/index.html');
  });

  it('serves LabApi calls from the app page, validating their arguments', async () => {
    const info = await invoke('appInfo', appFrame);
    expect(info).toMatchObject({ result: { mode: 'electron', version: '0.1.0-test' } });
    const text = await invoke('readText', appFrame, 'lighthouse');
    expect('result' in text && String(text.result).startsWith('The Keeper')).toBe(true);
    expect(await invoke('readText', appFrame, 42)).toMatchObject({ error: { code: 'bad-arguments' } });
    expect(await invoke('readText', appFrame, '/etc/passwd')).toMatchObject({ error: { code: 'bad-arguments' } });
    expect(await invoke('appInfo', appFrame, 'extra')).toMatchObject({ error: { code: 'bad-arguments' } });
  });

  it('refuses calls from any other sender', async () => {
    const strangers = [
      null,
      { url: 'https://evil.example/', parent: null },
      { url: 'file:///tmp/page.html', parent: null },
      { url: 'statelab://app/index.html', parent: appFrame }, // an embedded frame
    ];
    for (const frame of strangers) {
      const reply = await invoke('readText', frame, 'lighthouse');
      expect(reply, JSON.stringify(frame)).toMatchObject({ error: { message: expect.stringMatching(/untrusted/) } });
    }
  });

  it('denies permissions, pop-ups, foreign navigation and other protocol hosts', async () => {
    let granted: boolean | undefined;
    electron.permissionHandler!(null, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
    expect(electron.openHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    let prevented = false;
    electron.windows[0].listeners.get('will-navigate')!({ preventDefault: () => (prevented = true) }, 'https://x.y/');
    expect(prevented).toBe(true);
    const foreign = await electron.protocolHandler!({ url: 'statelab://other/index.html' });
    expect(foreign.status).toBe(404);
  });
});
