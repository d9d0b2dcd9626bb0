// The Electron security checklist, shown on the real glue (main/electron/main.ts) run against a recording
// fake of `electron` (the binary cannot be downloaded here): sandbox and context isolation, the CSP on
// every page, navigation / redirects / pop-ups / webviews blocked for every web contents, permissions
// denied, IPC from foreign senders and with bad arguments refused, and file access confined to the
// workspace — `../`, absolute paths and symbolic links out of the workspace are refused by name.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lockDownContents } from '../../main/electron/policy.js';
import type { LabReply } from '../../shared/lab-api.js';

type Handler = (event: unknown, ...args: unknown[]) => Promise<LabReply>;
type Listener = (event: { preventDefault(): void }, url: string) => void;
type HeadersListener = (
  details: { url: string; responseHeaders?: Record<string, string[]> },
  callback: (response: { responseHeaders: Record<string, string[]> }) => void,
) => void;

const fake = vi.hoisted(() => ({
  sandboxEnabled: false,
  handlers: new Map<string, Handler>(),
  windows: [] as { options: Record<string, unknown>; url: string; listeners: Map<string, Listener> }[],
  appListeners: new Map<string, (...args: unknown[]) => void>(),
  protocolHandler: null as null | ((request: { url: string }) => Promise<Response>),
  permissionRequest: null as null | ((contents: unknown, permission: string, grant: (ok: boolean) => void) => void),
  permissionCheck: null as null | ((contents: unknown, permission: string) => boolean),
  devicePermission: null as null | ((details: unknown) => boolean),
  headersListener: null as null | HeadersListener,
  openHandler: null as null | ((details: { url: string }) => { action: string }),
  opened: [] as string[],
  home: '',
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static getAllWindows = (): unknown[] => fake.windows;
    readonly listeners = new Map<string, Listener>();
    readonly webContents = {
      setWindowOpenHandler: (handler: (details: { url: string }) => { action: string }) => (fake.openHandler = handler),
      on: (name: string, listener: Listener) => this.listeners.set(name, listener),
      send: () => {},
    };
    url = '';
    constructor(readonly options: Record<string, unknown>) {
      fake.windows.push(this as never);
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
      commandLine: { appendSwitch: () => {} },
      enableSandbox: () => (fake.sandboxEnabled = true),
      isPackaged: false, // no ELECTRON_RENDERER_URL here, so no dev server is trusted either
      whenReady: () => Promise.resolve(),
      requestSingleInstanceLock: () => true,
      on: (name: string, listener: (...args: unknown[]) => void) => fake.appListeners.set(name, listener),
      getVersion: () => '0.1.0-test',
      getAppPath: () => process.cwd(),
      getPath: (name: string) => join(fake.home, name),
      quit: () => {},
      exit: (code: number) => {
        throw new Error(`app.exit(${code})`);
      },
    },
    BrowserWindow,
    ipcMain: { handle: (channel: string, handler: Handler) => fake.handlers.set(channel, handler) },
    protocol: {
      registerSchemesAsPrivileged: () => {},
      handle: (_scheme: string, handler: (request: { url: string }) => Promise<Response>) =>
        (fake.protocolHandler = handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h: typeof fake.permissionRequest) => (fake.permissionRequest = h),
        setPermissionCheckHandler: (h: typeof fake.permissionCheck) => (fake.permissionCheck = h),
        setDevicePermissionHandler: (h: typeof fake.devicePermission) => (fake.devicePermission = h),
        webRequest: { onHeadersReceived: (h: HeadersListener) => (fake.headersListener = h) },
      },
    },
    shell: { openExternal: (url: string) => (fake.opened.push(url), Promise.resolve()) },
    Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: () => {} },
    dialog: {
      showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
      showMessageBoxSync: () => 1,
      showErrorBox: () => {},
    },
  };
});

const appFrame = { url: 'statelab://app/index.html', parent: null };
let workspace: string;
let outside: string;

function invoke(method: string, senderFrame: unknown, ...args: unknown[]): Promise<LabReply> {
  const handler = fake.handlers.get(`lab:${method}`);
  if (!handler) throw new Error(`no IPC handler for ${method}`);
  return handler({ senderFrame }, ...args);
}

function fakeContents() {
  const listeners = new Map<string, Listener>();
  let openHandler: ((details: { url: string }) => { action: string }) | null = null;
  return {
    listeners,
    open: (url: string) => openHandler!({ url }),
    setWindowOpenHandler: (h: (details: { url: string }) => { action: 'deny' }) => (openHandler = h),
    on: (name: string, listener: Listener) => listeners.set(name, listener),
  };
}

/** Whether a navigation-type event for `url` was cancelled. */
function cancels(listener: Listener | undefined, url: string): boolean {
  let prevented = false;
  listener!({ preventDefault: () => (prevented = true) }, url);
  return prevented;
}

beforeAll(async () => {
  fake.home = mkdtempSync(join(tmpdir(), 'statelab-sec-home-'));
  workspace = join(fake.home, 'documents', 'StateLab');
  outside = mkdtempSync(join(tmpdir(), 'statelab-outside-'));
  writeFileSync(join(outside, 'secret.json'), '{"format":"statelab-graph","version":2}');
  writeFileSync(join(outside, 'secret.txt'), 'SECRET');
  mkdirSync(join(outside, 'run'));
  writeFileSync(join(outside, 'run', 'run.json'), '{"id":"x"}');
  await import('../../main/electron/main.js');
  await vi.waitFor(() => expect(fake.windows).toHaveLength(1));
  // Links planted inside the workspace that point out of it.
  mkdirSync(join(workspace, 'data'), { recursive: true });
  symlinkSync(join(outside, 'secret.json'), join(workspace, 'graphs', 'linked.json'));
  symlinkSync(join(outside, 'secret.txt'), join(workspace, 'data', 'linked.txt'));
  symlinkSync(join(outside, 'run'), join(workspace, 'runs', 'linked-run'));
});

afterAll(() => {
  rmSync(fake.home, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('Electron security checklist', () => {
  it('renderers are sandboxed and isolated, with no Node, no webview tag and web security on', () => {
    expect(fake.sandboxEnabled).toBe(true); // app.enableSandbox(): every renderer, not only this window
    expect(fake.windows[0].options.webPreferences).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
    });
    expect(fake.windows[0].url).toBe('statelab://app/index.html');
  });

  it('every page carries the CSP: the app protocol sends it, other responses get it imposed', async () => {
    // (No renderer is built beside the test's main.ts, so this is the protocol's 404 page: it has the policy too.)
    for (const url of ['statelab://app/index.html', 'statelab://elsewhere/']) {
      const page = await fake.protocolHandler!({ url });
      expect(page.headers.get('content-security-policy'), url).toMatch(/default-src 'none'; script-src 'self'/);
      expect(page.headers.get('content-security-policy'), url).toMatch(/frame-ancestors 'none'/);
    }
    let headers: Record<string, string[]> = {};
    fake.headersListener!(
      {
        url: 'http://localhost:5173/',
        responseHeaders: { 'content-security-policy': ['script-src *'], 'X-Other': ['1'] },
      },
      (response) => (headers = response.responseHeaders),
    );
    expect(headers['Content-Security-Policy']).toEqual([expect.stringMatching(/script-src 'self'/)]);
    expect(headers['content-security-policy']).toBeUndefined(); // a weaker policy from the server is dropped
    expect(headers['X-Other']).toEqual(['1']);
  });

  it('the app protocol serves nothing outside the renderer folder or another host', async () => {
    for (const url of [
      'statelab://app/../../../etc/passwd',
      'statelab://app/%2e%2e/%2e%2e/etc/passwd',
      'statelab://other/index.html',
      'statelab://app/%00',
    ]) {
      expect((await fake.protocolHandler!({ url })).status, url).toBe(404);
    }
  });

  it('navigation, redirects, frame navigation, pop-ups and webviews are blocked for the window', () => {
    const listeners = fake.windows[0].listeners;
    for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate']) {
      expect(cancels(listeners.get(event), 'https://evil.example/'), event).toBe(true);
      expect(cancels(listeners.get(event), 'file:///etc/passwd'), event).toBe(true);
      expect(cancels(listeners.get(event), 'statelab://app/index.html'), event).toBe(false);
    }
    expect(cancels(listeners.get('will-attach-webview'), '')).toBe(true);
    fake.opened.length = 0;
    for (const url of [
      'https://example.com/docs',
      'http://example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
    ]) {
      expect(fake.openHandler!({ url })).toEqual({ action: 'deny' });
    }
    expect(fake.opened).toEqual(['https://example.com/docs']); // only https goes to the system browser
  });

  it('the same lock-down applies to every web contents created later', () => {
    const created = fake.appListeners.get('web-contents-created')!;
    const contents = fakeContents();
    created({}, contents);
    expect(contents.open('https://evil.example/')).toEqual({ action: 'deny' });
    expect(cancels(contents.listeners.get('will-navigate'), 'https://evil.example/')).toBe(true);
    expect(cancels(contents.listeners.get('will-attach-webview'), '')).toBe(true);
    // And lockDownContents is what it applies (a direct check of the policy function).
    const direct = fakeContents();
    lockDownContents(direct, { openExternal: () => {} });
    expect(cancels(direct.listeners.get('will-redirect'), 'http://127.0.0.1:1/')).toBe(true);
  });

  it('every permission request and check is denied', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'hid', 'serial', 'usb']) {
      let granted: boolean | undefined;
      fake.permissionRequest!(null, permission, (ok) => (granted = ok));
      expect(granted, permission).toBe(false);
      expect(fake.permissionCheck!(null, permission), permission).toBe(false);
    }
    expect(fake.devicePermission!({ deviceType: 'usb' })).toBe(false);
  });

  it('IPC from any other sender is refused, whatever the method', async () => {
    const strangers = [
      null,
      { url: 'https://evil.example/', parent: null },
      { url: 'file:///tmp/page.html', parent: null },
      { url: 'statelab://other/index.html', parent: null },
      { url: 'http://localhost:5173/', parent: null }, // a dev-server origin in a packaged app
      { url: 'statelab://app/index.html', parent: appFrame },
    ];
    for (const frame of strangers) {
      for (const method of ['appInfo', 'listGraphs', 'saveGraph']) {
        const reply = await invoke(method, frame, 'x', '{}');
        expect(reply, `${method} ${JSON.stringify(frame)}`).toMatchObject({
          error: { code: 'bad-arguments', message: expect.stringMatching(/untrusted sender/) },
        });
      }
    }
  });

  it('IPC arguments are checked: paths, traversal and wrong types are refused by name', async () => {
    const refused: [string, unknown[]][] = [
      ['readGraph', ['../../etc/passwd']],
      ['readGraph', ['/etc/passwd']],
      ['readGraph', ['..']],
      ['saveGraph', ['../escape', '{}']],
      ['saveGraph', ['C:\\Windows\\x', '{}']],
      ['importDataFile', ['../evil.txt', new Uint8Array(1)]],
      ['importDataFile', ['/tmp/evil.txt', new Uint8Array(1)]],
      ['importDataFile', ['ok.txt', 'not bytes']],
      ['previewData', [{ kind: 'file', name: '../../etc/passwd.txt', tokenizer: 'byte', validationFraction: 0.1 }]],
      ['readRun', ['../../outside']],
      ['readRun', ['/etc']],
      ['exportDownload', ['../x', 0, 'hf']],
      ['readText', [{ toString: 'lighthouse' }]],
      ['appInfo', ['extra']],
    ];
    for (const [method, args] of refused) {
      const reply = await invoke(method, appFrame, ...args);
      expect(reply, `${method} ${JSON.stringify(args)}`).toMatchObject({
        error: { code: 'bad-arguments', message: expect.stringContaining(method) },
      });
    }
    // A workspace path the page names is only accepted if the user opened it before.
    expect(await invoke('openRecentWorkspace', appFrame, outside)).toMatchObject({
      error: { code: 'bad-arguments', message: expect.stringMatching(/not a recent workspace/) },
    });
  });

  it('symbolic links out of the workspace are refused (graph, data file, run folder) and hidden from lists', async () => {
    expect(await invoke('readGraph', appFrame, 'linked')).toMatchObject({
      error: { code: 'bad-arguments', message: expect.stringMatching(/link that leads out of the workspace/) },
    });
    expect(await invoke('saveGraph', appFrame, 'linked', '{"format":"statelab-graph","version":2}')).toMatchObject({
      error: { code: 'bad-arguments' },
    });
    expect(
      await invoke('previewData', appFrame, {
        kind: 'file',
        name: 'linked.txt',
        tokenizer: 'byte',
        validationFraction: 0.1,
      }),
    ).toMatchObject({ error: { message: expect.stringMatching(/link that leads out of the workspace/) } });
    expect(await invoke('readRun', appFrame, 'linked-run')).toMatchObject({
      error: { message: expect.stringMatching(/link that leads out of the workspace/) },
    });
    const lists = await Promise.all(['listGraphs', 'listDataFiles', 'listRuns'].map((m) => invoke(m, appFrame)));
    expect(JSON.stringify(lists)).not.toMatch(/linked/);
    for (const list of lists) expect(list).toHaveProperty('result');
    // A link that stays inside the workspace is fine.
    writeFileSync(join(workspace, 'data', 'real.txt'), 'hello there, a small text');
    symlinkSync(join(workspace, 'data', 'real.txt'), join(workspace, 'data', 'alias.txt'));
    const alias = await invoke('previewData', appFrame, {
      kind: 'file',
      name: 'alias.txt',
      tokenizer: 'byte',
      validationFraction: 0.1,
    });
    expect(alias).toHaveProperty('result.trainTokens');
  });
});
