// The host side of the LabApi without any transport: the service, the one validating entry point
// (`callLab`), the shared client that both the preload bridge and the HTTP client go through, and the
// Electron trust policy and static-file resolution that the glue relies on.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLabClient, LabApiError, LAB_METHODS } from '../../shared/lab-api.js';
import { contentSecurityPolicy, contentSecurityPolicyHeader } from '../../main/host/content-security-policy.js';
import { callLab, createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { resolveStaticFile } from '../../main/host/static-files.js';
import { APP_ENTRY, isAppUrl, isExternalLink } from '../../main/electron/policy.js';

const service = createLabService({ mode: 'electron', assetsDir: SOURCE_ASSETS_DIR, versions: { electron: '45.4.1' } });
// The same path an Electron call takes, minus IPC: bridge → callLab → reply → client.
const client = createLabClient((method, args) => callLab(service, method, args));

describe('LabApi host service', () => {
  it('reports the app and its mode', async () => {
    const info = await client.appInfo();
    expect(info).toMatchObject({ name: 'StateLab', mode: 'electron', versions: { electron: '45.4.1' } });
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('lists and reads the bundled texts', async () => {
    const texts = await client.listTexts();
    const lighthouse = texts.find((t) => t.id === 'lighthouse');
    expect(lighthouse).toMatchObject({ title: 'The Keeper of the North Light' });
    const text = await client.readText('lighthouse');
    expect(new TextEncoder().encode(text).length).toBe(lighthouse!.bytes);
  });

  it('turns bad input into LabApiErrors with codes that survive the transport', async () => {
    await expect(client.readText('../../package')).rejects.toMatchObject({ code: 'bad-arguments' });
    await expect(client.readText('missing')).rejects.toMatchObject({ code: 'not-found' });
    await expect(client.readText('missing')).rejects.toBeInstanceOf(LabApiError);
    expect(await callLab(service, 'deleteEverything', [])).toMatchObject({ error: { code: 'unknown-method' } });
    expect(await callLab(service, 'readText', 'lighthouse')).toMatchObject({ error: { code: 'bad-arguments' } });
    expect(await callLab(service, 'listTexts', [1])).toMatchObject({ error: { code: 'bad-arguments' } });
  });

  it('reports an unreadable assets folder as an internal error with its path', async () => {
    const broken = createLabService({ mode: 'browser', assetsDir: '/nonexistent/assets' });
    const reply = await callLab(broken, 'listTexts', []);
    expect(reply).toMatchObject({ error: { code: 'internal' } });
    expect('error' in reply && reply.error.message).toMatch(/\/nonexistent\/assets\/text/);
  });

  it('validates every method it exposes', () => {
    expect([...LAB_METHODS].sort()).toEqual(['appInfo', 'listTexts', 'readText']);
  });
});

describe('Electron trust policy', () => {
  it('trusts only the app protocol (and the dev server when given)', () => {
    expect(isAppUrl(APP_ENTRY)).toBe(true);
    expect(isAppUrl('statelab://app/assets/x.js')).toBe(true);
    expect(isAppUrl('statelab://evil/index.html')).toBe(false);
    expect(isAppUrl('file:///etc/passwd')).toBe(false);
    expect(isAppUrl('https://example.com/')).toBe(false);
    expect(isAppUrl('http://localhost:5173/')).toBe(false);
    expect(isAppUrl('http://localhost:5173/src/x.ts', 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
  });

  it('hands only https links to the system browser', () => {
    expect(isExternalLink('https://github.com/')).toBe(true);
    expect(isExternalLink('http://example.com/')).toBe(false);
    expect(isExternalLink('file:///bin/sh')).toBe(false);
    expect(isExternalLink('javascript:alert(1)')).toBe(false);
  });

  it('keeps the CSP strict: own scripts only, no eval or inline script, no remote hosts', () => {
    for (const policy of [contentSecurityPolicy(), contentSecurityPolicyHeader()]) {
      expect(policy).toMatch(/default-src 'none'/);
      expect(policy).toMatch(/script-src 'self';/);
      expect(policy).not.toMatch(/unsafe-eval|unsafe-inline|https?:|\*/);
    }
    expect(contentSecurityPolicyHeader()).toMatch(/frame-ancestors 'none'/);
  });
});

describe('static files', () => {
  const root = mkdtempSync(join(tmpdir(), 'statelab-static-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '');
  writeFileSync(join(root, 'assets', 'a.js'), '');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('maps paths inside the root and nothing outside it', () => {
    expect(resolveStaticFile(root, '/')).toBe(join(root, 'index.html'));
    expect(resolveStaticFile(root, '/assets/a.js?v=1')).toBe(join(root, 'assets', 'a.js'));
    expect(resolveStaticFile(root, '/assets/../index.html')).toBe(join(root, 'index.html'));
    for (const path of [
      '/../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/%2e%2e%2f%2e%2e%2fx',
      '/%E0%A4%A',
      '/a%00b',
    ]) {
      expect(resolveStaticFile(root, path), path).toBeNull();
    }
    expect(resolveStaticFile(root, '/missing.js')).toBeNull();
  });
});
