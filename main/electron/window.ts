// The main window: secure defaults spelled out (contextIsolation, sandbox, no Node in the page), the
// preload bridge, and no navigation or pop-ups away from the app.

import { BrowserWindow, shell } from 'electron';
import { APP_ENTRY, isAppUrl, isExternalLink } from './policy.js';

export interface WindowOptions {
  preloadPath: string;
  /** electron-vite's dev server URL while developing; the app protocol otherwise. */
  devUrl?: string;
}

export function createMainWindow(options: WindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'StateLab',
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
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, options.devUrl)) event.preventDefault();
  });
  void window.loadURL(options.devUrl ?? APP_ENTRY);
  return window;
}
