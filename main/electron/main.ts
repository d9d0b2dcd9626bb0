// Electron main process: thin glue. It enables WebGPU on Linux, locks the security policy, serves the
// renderer from the app protocol, wires the host services to IPC, installs the menu and opens the window.
// Everything with logic lives in main/host (plain Node, tested directly and through browser mode).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, Menu, session, shell } from 'electron';
import { MENU_CHANNEL, type MenuCommand } from '../../shared/lab-api.js';
import { RecentWorkspaces } from '../host/app/recent.js';
import { createLabService, type HostDialogs } from '../host/lab-service.js';
import { contentSecurityPolicy } from '../host/content-security-policy.js';
import { registerAppScheme, serveRenderer } from './app-protocol.js';
import { registerLabIpc } from './ipc.js';
import { menuTemplate } from './menu.js';
import { graphPathsFromArgv, readGraphFile } from './open-files.js';
import { grantsPermission, lockDownContents } from './policy.js';
import { createMainWindow } from './window.js';

// Chromium keeps WebGPU behind flags on most Linux setups (electron/electron#41763); both are needed.
if (process.platform === 'linux') {
  app.commandLine.appendSwitch('enable-unsafe-webgpu');
  app.commandLine.appendSwitch('enable-features', 'Vulkan');
}
app.enableSandbox();
registerAppScheme();

const here = fileURLToPath(new URL('.', import.meta.url)); // out/main/
const devUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
let mainWindow: BrowserWindow | null = null;
let pageReady = false;
/** Menu commands (and opened files) waiting for the page to load. */
const queued: MenuCommand[] = [];

function send(command: MenuCommand): void {
  if (mainWindow && pageReady) mainWindow.webContents.send(MENU_CHANNEL, command);
  else queued.push(command);
}

function openGraphFiles(paths: string[]): void {
  for (const path of paths) {
    try {
      send({ command: 'open-file', ...readGraphFile(path) });
    } catch (error) {
      dialog.showErrorBox('StateLab cannot open this file', (error as Error).message);
    }
  }
}

function openWindow(assetsDir: string): void {
  pageReady = false;
  mainWindow = createMainWindow({
    preloadPath: join(here, '../preload/index.cjs'),
    devUrl,
    icon: join(assetsDir, 'icon.png'),
  });
  mainWindow.webContents.on('did-finish-load', () => {
    pageReady = true;
    for (const command of queued.splice(0)) send(command);
  });
  mainWindow.on('closed', () => (mainWindow = null));
}

async function start(): Promise<void> {
  await app.whenReady();
  // The app asks for no permissions (camera, notifications, USB, …): refuse every request and check.
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, grant) => grant(grantsPermission(permission)));
  ses.setPermissionCheckHandler((_contents, permission) => grantsPermission(permission));
  ses.setDevicePermissionHandler(() => false);
  // Every page gets the CSP as a header too: the app protocol sets it itself; this covers the dev server.
  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-security-policy') delete headers[name];
    callback({
      responseHeaders: { ...headers, 'Content-Security-Policy': [contentSecurityPolicy({ dev: !!devUrl })] },
    });
  });
  serveRenderer(join(here, '../renderer'));
  const assetsDir = app.isPackaged ? join(process.resourcesPath, 'assets') : join(app.getAppPath(), 'assets');
  const settingsFile = join(app.getPath('userData'), 'settings.json');
  const dialogs: HostDialogs = {
    async chooseFolder(title) {
      const options = {
        title,
        properties: ['openDirectory', 'createDirectory'] as ('openDirectory' | 'createDirectory')[],
      };
      const result = mainWindow
        ? await dialog.showOpenDialog(mainWindow, options)
        : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
  };
  const service = createLabService({
    mode: 'electron',
    assetsDir,
    workspaceDir: new RecentWorkspaces(settingsFile).list()[0] ?? join(app.getPath('documents'), 'StateLab'),
    settingsFile,
    dialogs,
    version: app.getVersion(),
    versions: { electron: process.versions.electron, chrome: process.versions.chrome },
  });
  registerLabIpc(service, devUrl);
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      menuTemplate(send, { platform: process.platform, appName: 'StateLab', dev: !app.isPackaged }),
    ),
  );
  openWindow(assetsDir);
  openGraphFiles(graphPathsFromArgv(process.argv, process.cwd()));
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow(assetsDir);
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // A second launch (e.g. double-clicking a graph file) focuses this window and opens its files here.
  app.on('second-instance', (_event, argv, cwd) => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
    openGraphFiles(graphPathsFromArgv(argv, cwd));
  });
  app.on('open-file', (event, path) => {
    event.preventDefault();
    openGraphFiles([path]);
  });
  // Every web contents, not only the main window: nothing the page spawns may navigate away or pop up.
  app.on('web-contents-created', (_event, contents) => {
    lockDownContents(contents, { devUrl, openExternal: (url) => void shell.openExternal(url) });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  start().catch((error: Error) => {
    console.error(`StateLab failed to start: ${error.stack ?? error.message}`);
    app.exit(1);
  });
}
