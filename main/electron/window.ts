// The main window: secure defaults spelled out (contextIsolation, sandbox, no Node in the page), the
// preload bridge, no navigation or pop-ups away from the app, and a question before closing while the
// page reports unsaved changes (its beforeunload handler).

import { BrowserWindow, dialog, shell } from 'electron';
import { APP_ENTRY, lockDownContents } from './policy.js';

export interface WindowOptions {
  preloadPath: string;
  /** electron-vite's dev server URL while developing; the app protocol otherwise. */
  devUrl?: string;
  /** The window icon (Linux and Windows; macOS takes the bundle's). */
  icon?: string;
}

export function createMainWindow(options: WindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 1000,
    minHeight: 640,
    show: false,
    title: 'StateLab',
    icon: options.icon,
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  lockDownContents(window.webContents, { devUrl: options.devUrl, openExternal: (url) => void shell.openExternal(url) });
  // The page refuses to unload while the graph has unsaved changes or a run goes; ask the user.
  window.webContents.on('will-prevent-unload', (event) => {
    const choice = dialog.showMessageBoxSync(window, {
      type: 'question',
      buttons: ['Close anyway', 'Cancel'],
      defaultId: 1,
      cancelId: 1,
      title: 'Close StateLab?',
      message: 'The graph has unsaved changes, or a run is training.',
      detail:
        'Unsaved edits stay in the autosave and are offered again when StateLab starts; a run keeps its checkpoints and can be continued from the Runs view.',
    });
    if (choice === 0) event.preventDefault(); // preventDefault here lets the window close
  });
  void window.loadURL(options.devUrl ?? APP_ENTRY);
  return window;
}
