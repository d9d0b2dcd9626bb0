// Which pages the app trusts, as plain functions (no Electron import) so tests can check them: only
// the app's own protocol origin, or the electron-vite dev server while developing, may call the host
// or be navigated to.

/** The privileged scheme the renderer is served from (`statelab://app/index.html`). */
export const APP_SCHEME = 'statelab';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/** True when `url` belongs to the app itself (or to the dev server `devUrl`, when one is given). */
export function isAppUrl(url: string, devUrl?: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST) return true;
  if (!devUrl) return false;
  try {
    return parsed.origin === new URL(devUrl).origin;
  } catch {
    return false;
  }
}

/** Links the app may hand to the system browser: plain https pages only. */
export function isExternalLink(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/** Permissions the app grants a page: none (no camera, microphone, notifications, geolocation, USB…). */
export function grantsPermission(_permission: string): boolean {
  return false;
}

/** The parts of `webContents` the lock-down touches (a structural type, so tests can pass a fake). */
export interface LockableContents {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: string, listener: (event: { preventDefault(): void }, url: string, ...rest: unknown[]) => void): unknown;
}

/**
 * Applied to every web contents the app creates (window, devtools, anything a page could spawn):
 * pop-ups are denied (https links go to the system browser), navigation and redirects away from the
 * app are cancelled, and <webview> tags are never attached.
 */
export function lockDownContents(
  contents: LockableContents,
  options: { devUrl?: string; openExternal: (url: string) => void },
): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) options.openExternal(url);
    return { action: 'deny' };
  });
  const stayInApp = (event: { preventDefault(): void }, url: string) => {
    if (!isAppUrl(url, options.devUrl)) event.preventDefault();
  };
  contents.on('will-navigate', stayInApp);
  contents.on('will-frame-navigate', (event, url) => stayInApp(event, typeof url === 'string' ? url : ''));
  contents.on('will-redirect', stayInApp);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}
