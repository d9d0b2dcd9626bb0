// The browser-mode server: the LabApi over HTTP on 127.0.0.1 only, with every argument checked, and
// the built renderer served without ever leaving its folder.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromWire, type LabApi } from '../../shared/lab-api.js';
import { createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { startWebServer, type WebServer } from '../../main/web/server.js';

let server: WebServer;
let rendererDir: string;
let service: LabApi;
let workspaceDir: string;

beforeAll(async () => {
  rendererDir = mkdtempSync(join(tmpdir(), 'statelab-renderer-'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>StateLab</title>');
  mkdirSync(join(rendererDir, 'assets'));
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  // A file next to the renderer folder that must never be served.
  writeFileSync(join(rendererDir, '..', `${rendererDir.split('/').pop()}-secret.txt`), 'SECRET-CONTENT');
  workspaceDir = mkdtempSync(join(tmpdir(), 'statelab-server-ws-'));
  service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
  server = await startWebServer({ service, rendererDir });
});

afterAll(async () => {
  await server?.close();
  rmSync(rendererDir, { recursive: true, force: true });
  rmSync(workspaceDir, { recursive: true, force: true });
  rmSync(`${rendererDir}-secret.txt`, { force: true });
});

function call(method: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.origin}api/${method}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Cookie: server.sessionCookie,
      Origin: server.origin.slice(0, -1),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A raw request, so paths and Host headers go out exactly as written (fetch would normalise them). */
function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path, headers: { Cookie: server.sessionCookie, ...headers } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 and refuses any other address', async () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR });
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'localhost']) {
      await expect(startWebServer({ service, rendererDir, host: host as '127.0.0.1' })).rejects.toThrow(
        /127\.0\.0\.1 only/,
      );
    }
  });

  it('answers LabApi calls with their results', async () => {
    const info = await call('appInfo', { args: [] });
    expect(info.status).toBe(200);
    const { result } = (await info.json()) as { result: { mode: string; name: string } };
    expect(result).toMatchObject({ name: 'StateLab', mode: 'browser' });

    const texts = (await (await call('listTexts', {})).json()) as { result: { id: string; bytes: number }[] };
    expect(texts.result.find((t) => t.id === 'lighthouse')?.bytes).toBeGreaterThan(1000);

    const text = (await (await call('readText', { args: ['lighthouse'] })).json()) as { result: string };
    expect(text.result.startsWith('The Keeper of the North Light')).toBe(true);
  });

  it('rejects bad arguments with 400 and a message naming the method', async () => {
    const cases: unknown[] = [
      { args: [] },
      { args: [42] },
      { args: ['../package'] },
      { args: ['lighthouse', 'extra'] },
      { args: ['Lighthouse'] },
      { args: 'lighthouse' },
      [1, 2],
    ];
    for (const body of cases) {
      const response = await call('readText', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('bad-arguments');
      expect(error.message).toMatch(/readText|request body/);
    }
    const extra = await call('appInfo', { args: [1] });
    expect(extra.status).toBe(400);
    expect(((await extra.json()) as { error: { message: string } }).error.message).toMatch(/appInfo: expected no/);
  });

  it('rejects malformed, oversized and non-JSON request bodies', async () => {
    expect((await call('appInfo', '{not json')).status).toBe(400);
    expect((await call('appInfo', { args: ['x'.repeat(2 << 20)] })).status).toBe(413);
    expect((await call('appInfo', '{"args": []}', { 'Content-Type': 'text/plain' })).status).toBe(415);
  });

  it('carries bytes as base64 both ways and allows bulk methods a larger body', async () => {
    const reply = (await (
      await call('readTokens', { args: [{ kind: 'bundled-text', id: 'lighthouse', validationFraction: 0.1 }] })
    ).json()) as {
      result: { train: { $bytes: string } };
    };
    expect(typeof reply.result.train.$bytes).toBe('string');
    const { result } = fromWire(reply) as { result: { train: Uint8Array } };
    const n = new TextEncoder().encode(await service.readText('lighthouse')).length;
    expect(result.train.byteLength).toBe(4 * (n - Math.round(n * 0.1)));
    expect(new Int32Array(result.train.slice().buffer)[0]).toBe('T'.charCodeAt(0));
    // Bytes where a method expects them: validated as bytes after decoding; garbage base64 is a 400.
    const bad = await call('saveCheckpoint', { args: ['run', { $bytes: '@@@@' }, { $bytes: '' }] });
    expect(bad.status).toBe(400);
    // A 3 MiB body is refused for ordinary methods, accepted (and validated) for bulk ones.
    const rows = Array.from({ length: 30_000 }, (_, i) => ({
      step: i,
      loss: 1,
      lr: 1,
      grad_norm: 1,
      tokens_per_s: 1,
      memory_bytes: 1,
      encode_ms: 1.234567,
    }));
    expect((await call('appendMetrics', { args: ['no-run', rows] })).status).toBe(404);
    expect((await call('readText', { args: ['x'.repeat(3 << 20)] })).status).toBe(413);
    expect((await call('chooseWorkspace', { args: [] })).status).toBe(501);
  });

  it('answers 404 for unknown methods and texts, 405 for other verbs', async () => {
    for (const method of ['nope', 'constructor', '__proto__', 'readText/..', 'toString']) {
      const response = await call(method, { args: [] });
      expect(response.status, method).toBe(404);
    }
    const missing = await call('readText', { args: ['no-such-text'] });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/lighthouse/);
    expect((await fetch(`${server.origin}api/appInfo`, { headers: { Cookie: server.sessionCookie } })).status).toBe(
      405,
    );
  });

  it('refuses requests for another host name or from another origin', async () => {
    expect((await raw('/', { Host: 'evil.example:80' })).status).toBe(403);
    const crossSite = await call('appInfo', { args: [] }, { Origin: 'http://evil.example' });
    expect(crossSite.status).toBe(403);
    expect((await call('appInfo', { args: [] }, { Origin: server.origin.slice(0, -1) })).status).toBe(200);
  });

  it('serves the renderer with a CSP and never a file outside its folder', async () => {
    const index = await fetch(server.origin, { headers: { Cookie: server.sessionCookie } });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const script = await fetch(`${server.origin}assets/app.js`, { headers: { Cookie: server.sessionCookie } });
    expect(await script.text()).toBe('console.log(1)');
    const secret = `${rendererDir.split('/').pop()}-secret.txt`;
    for (const path of [`/../${secret}`, `/%2e%2e/${secret}`, `/assets/..%2f..%2f${secret}`, '/%00', '/..%5c']) {
      const response = await raw(path);
      expect(response.status, path).toBe(404);
      expect(response.body).not.toContain('SECRET-CONTENT');
    }
  });
});
