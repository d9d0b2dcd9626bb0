// Browser mode's lock: loopback only, a per-launch secret turned into an HttpOnly SameSite=Strict session
// cookie, this server's Host on every request and its Origin on every API call. Each refused action is
// shown refused: another local user or process without the secret, a web page the user visits
// (cross-site fetch, a simple form post, DNS rebinding), and a session of another launch.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { startWebServer, type WebServer } from '../../main/web/server.js';
import type { LabApi } from '../../shared/lab-api.js';

let server: WebServer;
let other: WebServer;
let dir: string;
let service: LabApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'statelab-web-sec-'));
  const rendererDir = join(dir, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>StateLab</title>');
  service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir: join(dir, 'ws') });
  server = await startWebServer({ service, rendererDir });
  other = await startWebServer({ service, rendererDir });
});
afterAll(async () => {
  await server?.close();
  await other?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request (fetch would rewrite Host and refuse to set Origin/Cookie headers as a browser does). */
function raw(
  target: WebServer,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: target.port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const api = (target: WebServer, headers: Record<string, string>, body = '{"args":[]}') =>
  raw(target, '/api/appInfo', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
const own = (target: WebServer) => ({ Cookie: target.sessionCookie, Origin: target.origin.slice(0, -1) });

describe('browser mode: loopback, per-launch secret, matching Origin', () => {
  it('binds 127.0.0.1 only: other addresses are refused before listening', async () => {
    for (const host of ['0.0.0.0', '::', '::1', 'localhost', '10.0.0.2']) {
      await expect(startWebServer({ service, rendererDir: dir, host: host as '127.0.0.1' })).rejects.toThrow(
        /127\.0\.0\.1 only/,
      );
    }
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('the launch address holds a fresh secret each launch and sets an HttpOnly SameSite=Strict cookie', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/launch\/[A-Za-z0-9_-]{43}$/);
    expect(other.url.split('/launch/')[1]).not.toBe(server.url.split('/launch/')[1]);
    const launched = await raw(server, `${new URL(server.url).pathname}?debug`);
    expect(launched.status).toBe(303);
    expect(launched.headers.location).toBe('/?debug'); // the rest of the query survives the redirect
    const cookie = String(launched.headers['set-cookie']);
    expect(cookie).toContain(server.sessionCookie);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(server.url.split('/launch/')[1]); // the secret itself is never the cookie
  });

  it('refuses a wrong or missing launch secret', async () => {
    const secret = server.url.split('/launch/')[1];
    for (const path of ['/launch/', '/launch/guess', `/launch/${secret.slice(0, -1)}`, `/launch/${secret}x`]) {
      const reply = await raw(server, path);
      expect(reply.status, path).toBe(403);
      expect(reply.headers['set-cookie']).toBeUndefined();
      expect(reply.body).toMatch(/wrong launch secret/);
    }
    expect((await raw(server, new URL(server.url).pathname, { method: 'POST' })).status).toBe(405);
  });

  it('without the session cookie, pages and API calls are refused (another local user or process)', async () => {
    for (const path of ['/', '/index.html', '/assets/x.js']) {
      const reply = await raw(server, path);
      expect(reply.status, path).toBe(401);
      expect(reply.body).toMatch(/open the launch address/);
    }
    const noCookie = await api(server, { Origin: server.origin.slice(0, -1) });
    expect(noCookie.status).toBe(401);
    expect((await api(server, { ...own(server), Cookie: 'statelab-session-1=forged' })).status).toBe(401);
    // The session of another launch (another port) opens nothing here.
    expect((await api(server, { ...own(server), Cookie: other.sessionCookie })).status).toBe(401);
    expect((await api(server, own(server))).status).toBe(200);
  });

  it("API calls need this server's Origin: a missing, foreign or null Origin is refused", async () => {
    const { Cookie } = own(server);
    const cases: Record<string, string>[] = [
      {},
      { Origin: 'http://evil.example' },
      { Origin: 'null' },
      { Origin: other.origin.slice(0, -1) },
    ];
    for (const headers of cases) {
      const reply = await api(server, { Cookie, ...headers });
      expect(reply.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(reply.body).error.message).toMatch(/Origin/);
    }
  });

  it('a web page cannot post a simple form (no JSON) nor reach it through DNS rebinding', async () => {
    const form = await api(server, { ...own(server), 'Content-Type': 'application/x-www-form-urlencoded' }, 'args=1');
    expect(form.status).toBe(415);
    const plain = await api(server, { ...own(server), 'Content-Type': 'text/plain' });
    expect(plain.status).toBe(415);
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`]) {
      const rebound = await raw(server, '/api/appInfo', {
        method: 'POST',
        headers: { ...own(server), Host: host, 'Content-Type': 'application/json' },
        body: '{"args":[]}',
      });
      expect(rebound.status, host).toBe(403);
    }
    // No CORS grant: a preflight gets no Access-Control-Allow-* headers.
    const preflight = await raw(server, '/api/appInfo', {
      method: 'OPTIONS',
      headers: { ...own(server), 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(405);
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('every page carries the CSP and is refused to frames', async () => {
    const page = await raw(server, '/', { headers: { Cookie: server.sessionCookie } });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(
      /default-src 'none'.*script-src 'self'.*frame-ancestors 'none'/,
    );
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });
});
