// The host side of the LabApi without any transport: the service, the one validating entry point
// (`callLab`), the shared client that both the preload bridge and the HTTP client go through, and the
// Electron trust policy and static-file resolution that the glue relies on.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLabClient, fromWire, LabApiError, LAB_METHODS, toWire } from '../../shared/lab-api.js';
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

  it('validates every method it exposes', async () => {
    expect([...LAB_METHODS].sort()).toEqual([
      'analysisProgress',
      'appInfo',
      'appendMetrics',
      'chooseWorkspace',
      'createRun',
      'deletePromptSet',
      'distillChoices',
      'distillProgress',
      'exportCheckpoint',
      'exportDownload',
      'exportFormats',
      'finishRun',
      'importDataFile',
      'importSweepFile',
      'inspectRun',
      'listDataFiles',
      'listGraphs',
      'listPromptSets',
      'listRuns',
      'listSweeps',
      'listTemplates',
      'listTexts',
      'openRecentWorkspace',
      'playgroundModel',
      'previewData',
      'previewDistill',
      'readAnalysis',
      'readDistill',
      'readGraph',
      'readRun',
      'readSweep',
      'readTemplate',
      'readText',
      'readTokens',
      'resumeRun',
      'saveCheckpoint',
      'saveGraph',
      'savePromptSet',
      'startAnalysis',
      'startDistill',
      'startSweep',
      'stopDistill',
      'stopSweep',
      'sweepChart',
      'sweepCsv',
      'sweepProgress',
      'sweepResults',
      'workspace',
    ]);
    // Every method refuses a wrong argument count before any service code runs.
    for (const method of LAB_METHODS) {
      const reply = await callLab(
        service,
        method,
        Array.from({ length: 7 }, () => 'x'),
      );
      expect(reply, method).toMatchObject({ error: { code: 'bad-arguments' } });
    }
  });

  it('tokenizes a bundled text with the CLI dataset code: bytes, tail validation split', async () => {
    const text = await client.readText('lighthouse');
    const bytes = new TextEncoder().encode(text);
    const tokens = await client.readTokens({ kind: 'bundled-text', id: 'lighthouse', validationFraction: 0.1 });
    const train = new Int32Array(tokens.train.slice().buffer);
    const validation = new Int32Array(tokens.validation.slice().buffer);
    expect(tokens.vocabSize).toBe(256);
    expect(train.length + validation.length).toBe(bytes.length);
    expect(validation.length).toBe(Math.round(bytes.length * 0.1));
    expect([...train.subarray(0, 50)]).toEqual([...bytes.subarray(0, 50)]);
    expect([...validation.subarray(-20)]).toEqual([...bytes.subarray(-20)]);
    await expect(
      client.readTokens({ kind: 'bundled-text', id: 'lighthouse', validationFraction: 0.9 }),
    ).rejects.toMatchObject({ code: 'bad-arguments' });
    await expect(
      client.readTokens({ kind: 'file', name: 'x.txt', tokenizer: 'byte', validationFraction: 0.1 }),
    ).rejects.toMatchObject({ code: 'not-found', message: /no workspace/ });
  });

  it('without a workspace, workspace methods say so; without dialogs, dialog methods are unsupported', async () => {
    await expect(client.listGraphs()).rejects.toMatchObject({ code: 'not-found', message: /no workspace/ });
    await expect(client.chooseWorkspace()).rejects.toMatchObject({ code: 'unsupported' });
  });
});

describe('bytes on the wire', () => {
  it('base64 round-trips every length and byte value, matching Node', () => {
    for (const length of [0, 1, 2, 3, 4, 5, 255, 256, 257, 100_000]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 131 + length) & 255);
      const encoded = toWire({ nested: [bytes] }) as { nested: { $bytes: string }[] };
      expect(encoded.nested[0].$bytes).toBe(Buffer.from(bytes).toString('base64'));
      const decoded = fromWire(JSON.parse(JSON.stringify(encoded))) as { nested: Uint8Array[] };
      expect([...decoded.nested[0]]).toEqual([...bytes]);
    }
    expect(() => fromWire({ $bytes: 'abc' })).toThrow(/multiple of 4/);
    expect(() => fromWire({ $bytes: 'ab!=' })).toThrow(/invalid base64/);
    expect(fromWire({ $bytes: 1 })).toEqual({ $bytes: 1 });
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
