// Serves the built renderer from `statelab://app/` instead of file:// (Electron's security checklist:
// a custom protocol gives the page a real origin, so CSP 'self', module workers and sender checks work).

import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { contentSecurityPolicyHeader } from '../host/content-security-policy.js';
import { contentType, resolveStaticFile } from '../host/static-files.js';
import { APP_HOST, APP_SCHEME } from './policy.js';

/** Must run before `app` is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ]);
}

export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const file = url.host === APP_HOST ? resolveStaticFile(rendererDir, url.pathname) : null;
    // Every response carries the policy, error pages included.
    const headers = { 'Content-Security-Policy': contentSecurityPolicyHeader(), 'X-Content-Type-Options': 'nosniff' };
    if (!file) return new Response('not found', { status: 404, headers: { ...headers, 'Content-Type': 'text/plain' } });
    return new Response(await readFile(file), { headers: { ...headers, 'Content-Type': contentType(file) } });
  });
}
