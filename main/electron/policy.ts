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
