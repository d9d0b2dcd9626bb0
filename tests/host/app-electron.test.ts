// The Electron glue without the Electron binary (it cannot be downloaded here): `electron` is replaced
// by a recording fake, main/electron/main.ts runs against it, and the test checks what the glue asked
// for — WebGPU switches, secure window preferences, one validated IPC channel per LabApi method that
// refuses foreign senders, navigation and permission lock-down, the menu and its commands, the question
// before closing with unsaved changes, the workspace and its dialogs, and graph files opened by the system.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LabReply, MenuCommand } from '../../shared/lab-api.js';
import { graphPathsFromArgv, readGraphFile } from '../../main/electron/open-files.js';

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
  menu: [] as MenuItemConstructorOptions[],
  sent: [] as [string, MenuCommand][],
  home: '',
  pickedFolder: null as string | null,
  messageBoxAnswer: 1,
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static getAllWindows = (): unknown[] => electron.windows;
    readonly listeners = new Map<string, WebContentsListener>();
    readonly webContents = {
      setWindowOpenHandler: (handler: (details: { url: string }) => { action: string }) =>
        (electron.openHandler = handler),
      on: (name: string, listener: WebContentsListener) => this.listeners.set(name, listener),
      send: (channel: string, command: MenuCommand) => electron.sent.push([channel, command]),
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
      getPath: (name: string) => join(electron.home, name),
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
        setPermissionCheckHandler: () => {},
        setDevicePermissionHandler: () => {},
        webRequest: { onHeadersReceived: () => {} },
      },
    },
    shell: { openExternal: () => Promise.resolve() },
    Menu: {
      buildFromTemplate: (template: MenuItemConstructorOptions[]) => template,
      setApplicationMenu: (menu: MenuItemConstructorOptions[]) => (electron.menu = menu),
    },
    dialog: {
      showOpenDialog: async () => ({ canceled: !electron.pickedFolder, filePaths: [electron.pickedFolder] }),
      showMessageBoxSync: () => electron.messageBoxAnswer,
      showErrorBox: () => {},
    },
  };
});

const appFrame = { url: 'statelab://app/index.html', parent: null };

function invoke(method: string, senderFrame: unknown, ...args: unknown[]): Promise<LabReply> {
  const handler = electron.handlers.get(`lab:${method}`);
  if (!handler) throw new Error(`no IPC handler for ${method}`);
  return handler({ senderFrame }, ...args);
}

beforeAll(async () => {
  electron.home = mkdtempSync(join(tmpdir(), 'statelab-electron-home-'));
  await import('../../main/electron/main.js');
  await vi.waitFor(() => expect(electron.windows).toHaveLength(1));
});

afterAll(() => rmSync(electron.home, { recursive: true, force: true }));

function menuItem(menu: string, label: string): MenuItemConstructorOptions {
  const submenu = electron.menu.find((m) => m.label === menu)?.submenu as MenuItemConstructorOptions[];
  const found = submenu?.find((i) => i.label === label);
  if (!found) throw new Error(`no menu item ${menu} → ${label}`);
  return found;
}

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

  it('opens the last workspace (else Documents/StateLab) and picks others with the system dialog', async () => {
    const info = await invoke('workspace', appFrame);
    expect(info).toMatchObject({ result: { path: join(electron.home, 'documents', 'StateLab'), dialogs: true } });
    electron.pickedFolder = join(electron.home, 'elsewhere');
    expect(await invoke('chooseWorkspace', appFrame)).toMatchObject({ result: { path: electron.pickedFolder } });
    electron.pickedFolder = null;
    expect(await invoke('chooseWorkspace', appFrame)).toEqual({ result: null });
  });

  it('installs a menu whose items send commands to the page once it has loaded', () => {
    expect(electron.menu.map((m) => m.label)).toEqual(expect.arrayContaining(['File', 'Edit', 'View', 'Help']));
    const save = menuItem('File', 'Save');
    expect(save).toMatchObject({ accelerator: 'CmdOrCtrl+S', registerAccelerator: false });
    (save.click as () => void)();
    expect(electron.sent).toEqual([]); // queued until the page has loaded
    electron.windows[0].listeners.get('did-finish-load')!({ preventDefault() {} }, '');
    (menuItem('View', 'Train').click as () => void)();
    expect(electron.sent).toEqual([
      ['lab:menu', { command: 'save' }],
      ['lab:menu', { command: 'view', view: 'train' }],
    ]);
    const edit = electron.menu.find((m) => m.label === 'Edit')!.submenu as MenuItemConstructorOptions[];
    expect(edit.filter((i) => i.role).map((i) => i.role)).toEqual(['cut', 'copy', 'paste']);
  });

  it('asks before closing a window whose page has unsaved changes', () => {
    const listener = electron.windows[0].listeners.get('will-prevent-unload')!;
    let allowed = false;
    electron.messageBoxAnswer = 1; // Cancel
    listener({ preventDefault: () => (allowed = true) }, '');
    expect(allowed).toBe(false);
    electron.messageBoxAnswer = 0; // Close anyway
    listener({ preventDefault: () => (allowed = true) }, '');
    expect(allowed).toBe(true);
  });
});

describe('graph files opened by the system', () => {
  it('takes existing graph files from a command line and reads them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'statelab-argv-'));
    writeFileSync(join(dir, 'model.statelab'), '{"format":"statelab-graph"}');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const argv = ['/opt/StateLab/statelab', '--no-sandbox', 'model.statelab', 'notes.txt', 'missing.json'];
    const paths = graphPathsFromArgv(argv, dir);
    expect(paths).toEqual([join(dir, 'model.statelab')]);
    expect(readGraphFile(paths[0])).toEqual({ name: 'model.statelab', text: '{"format":"statelab-graph"}' });
    expect(() => readGraphFile(dir)).toThrow(/not a file/);
    rmSync(dir, { recursive: true, force: true });
  });
});
