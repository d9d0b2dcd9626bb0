// Electron main process: thin glue. It enables WebGPU on Linux, locks the security policy, serves the
// renderer from the app protocol, wires the host services to IPC and opens the window. Everything
// with logic lives in main/host (plain Node, tested directly and through browser mode).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, session } from 'electron';
import { createLabService } from '../host/lab-service.js';
import { registerAppScheme, serveRenderer } from './app-protocol.js';
import { registerLabIpc } from './ipc.js';
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

function openWindow(): void {
  mainWindow = createMainWindow({ preloadPath: join(here, '../preload/index.cjs'), devUrl });
  mainWindow.on('closed', () => (mainWindow = null));
}

async function start(): Promise<void> {
  await app.whenReady();
  // The app asks for no permissions (camera, notifications, …): refuse every request.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, grant) => grant(false));
  serveRenderer(join(here, '../renderer'));
  const assetsDir = app.isPackaged ? join(process.resourcesPath, 'assets') : join(app.getAppPath(), 'assets');
  const service = createLabService({
    mode: 'electron',
    assetsDir,
    version: app.getVersion(),
    versions: { electron: process.versions.electron, chrome: process.versions.chrome },
  });
  registerLabIpc(service, devUrl);
  openWindow();
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow();
  });
  start().catch((error: Error) => {
    console.error(`StateLab failed to start: ${error.stack ?? error.message}`);
    app.exit(1);
  });
}
