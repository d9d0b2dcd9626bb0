// Browser mode: the built renderer and the LabApi over HTTP on 127.0.0.1 only. `POST /api/<method>`
// with `{"args": [...]}` answers `{"result": …}` or `{"error": {"code", "message"}}`. It builds nothing:
// it serves `out/renderer` as it is. Bytes travel as `{"$bytes": base64}` both ways (shared `toWire`).
//
// Who may drive it: loopback is not a boundary (any local user, and any web page the user visits, can
// reach 127.0.0.1), so every launch makes a secret. `url` is the launch address `/launch/<secret>`: opening
// it sets an HttpOnly, SameSite=Strict session cookie and redirects to the app. Every other request needs
// that cookie; requests must name this server in Host (no DNS rebinding); API calls must also carry this
// server's Origin and be JSON (a cross-site page cannot send them: JSON needs a CORS preflight, which
// this server never grants, and its Origin would not match anyway).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BULK_METHODS, fromWire, isLabMethod, toWire, type LabApi, type LabErrorCode } from '../../shared/lab-api.js';
import { contentSecurityPolicyHeader } from '../host/content-security-policy.js';
import { callLab } from '../host/lab-service.js';
import { contentType, resolveStaticFile } from '../host/static-files.js';

export const LOOPBACK = '127.0.0.1';
const MAX_BODY_BYTES = 1 << 20;
/** Checkpoints (as base64) and metric batches may be large; V8 strings end near 512 MiB (Electron IPC has no such limit). */
const MAX_BULK_BODY_BYTES = 500 << 20;

export interface WebServerOptions {
  service: LabApi;
  /** The built renderer folder (`out/renderer`). */
  rendererDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Only the loopback address is accepted; anything else throws. */
  host?: typeof LOOPBACK;
}

export interface WebServer {
  /** The launch address with this run's secret (`http://127.0.0.1:PORT/launch/<secret>`): open it once. */
  url: string;
  /** `http://127.0.0.1:PORT/`, the app's origin (requests there need the session cookie). */
  origin: string;
  port: number;
  /** `name=value` of the session cookie, for a trusted non-browser client (tests, scripts) of this process. */
  sessionCookie: string;
  close(): Promise<void>;
}

const STATUS: Record<LabErrorCode, number> = {
  'bad-arguments': 400,
  'unknown-method': 404,
  'not-found': 404,
  unsupported: 501,
  internal: 500,
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': contentSecurityPolicyHeader(),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? LOOPBACK;
  if (host !== LOOPBACK) {
    throw new Error(`browser mode listens on ${LOOPBACK} only (asked for "${String(host)}")`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`browser mode: port must be an integer in 0..65535 (got ${port})`);
  }
  let boundPort = 0;
  const launchSecret = randomBytes(32).toString('base64url');
  const sessionToken = randomBytes(32).toString('base64url');
  // Cookies are per host, not per port: the port in the name keeps two servers' sessions apart.
  const cookieName = (): string => `statelab-session-${boundPort}`;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => sendError(response, 500, 'internal', error.message));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!isOwnHost(request.headers.host, boundPort)) {
      sendError(response, 403, 'bad-arguments', `Host "${request.headers.host ?? ''}" is not this server`);
      return;
    }
    const [path, query] = splitUrl(request.url ?? '/');
    if (path.startsWith('/launch/')) {
      launch(request, response, path.slice('/launch/'.length), query);
      return;
    }
    if (!sameSecret(readCookie(request.headers.cookie, cookieName()), sessionToken)) {
      sendError(
        response,
        401,
        'bad-arguments',
        "no StateLab session: open the launch address that `npm run web` printed (it holds this launch's secret)",
      );
      return;
    }
    if (path.startsWith('/api/')) await handleApi(request, response, path.slice('/api/'.length));
    else serveStatic(request, response, path);
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse, method: string): Promise<void> {
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      sendError(response, 405, 'bad-arguments', `${request.method} is not allowed: LabApi calls are POST`);
      return;
    }
    if (!isLabMethod(method)) {
      sendError(response, 404, 'unknown-method', `unknown LabApi method "${method}"`);
      return;
    }
    const origin = request.headers.origin;
    if (origin === undefined || !isOwnOrigin(origin, boundPort)) {
      sendError(
        response,
        403,
        'bad-arguments',
        origin === undefined
          ? "LabApi calls must carry this server's Origin header"
          : `cross-origin LabApi calls are refused (Origin ${origin})`,
      );
      return;
    }
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
      sendError(response, 415, 'bad-arguments', 'LabApi calls must send Content-Type: application/json');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(request, BULK_METHODS.has(method) ? MAX_BULK_BODY_BYTES : MAX_BODY_BYTES));
    } catch (error) {
      const status = error instanceof BodyTooLarge ? 413 : 400;
      sendError(response, status, 'bad-arguments', `request body: ${(error as Error).message}`);
      return;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      sendError(response, 400, 'bad-arguments', 'request body must be a JSON object {"args": [...]}');
      return;
    }
    let args: unknown;
    try {
      args = fromWire((body as { args?: unknown }).args ?? []);
    } catch (error) {
      sendError(response, 400, 'bad-arguments', `${method}: ${(error as Error).message}`);
      return;
    }
    const reply = await callLab(options.service, method, args);
    sendJson(response, 'error' in reply ? STATUS[reply.error.code] : 200, 'error' in reply ? reply : toWire(reply));
  }

  /** `/launch/<secret>`: a right secret sets the session cookie and goes to the app (keeping `?…`). */
  function launch(request: IncomingMessage, response: ServerResponse, secret: string, query: string): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendError(response, 405, 'bad-arguments', `${request.method} is not allowed here`);
      return;
    }
    if (!sameSecret(secret.replace(/\/$/, ''), launchSecret)) {
      sendError(response, 403, 'bad-arguments', 'wrong launch secret: use the address `npm run web` printed');
      return;
    }
    response.writeHead(303, {
      ...SECURITY_HEADERS,
      Location: `/${query}`,
      'Set-Cookie': `${cookieName()}=${sessionToken}; Path=/; HttpOnly; SameSite=Strict`,
      'Cache-Control': 'no-store',
    });
    response.end();
  }

  function serveStatic(request: IncomingMessage, response: ServerResponse, path: string): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendError(response, 405, 'bad-arguments', `${request.method} is not allowed here`);
      return;
    }
    const file = resolveStaticFile(options.rendererDir, path);
    if (!file) {
      sendError(response, 404, 'not-found', `no such file: ${path}`);
      return;
    }
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': contentType(file),
      'Cache-Control': file.endsWith('.html') ? 'no-cache' : 'public, max-age=3600',
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => resolve());
  });
  boundPort = (server.address() as AddressInfo).port;
  const origin = `http://${LOOPBACK}:${boundPort}/`;
  return {
    url: `${origin}launch/${launchSecret}`,
    origin,
    port: boundPort,
    sessionCookie: `${cookieName()}=${sessionToken}`,
    close: () => closeServer(server),
  };
}

function isOwnHost(hostHeader: string | undefined, port: number): boolean {
  return hostHeader === `${LOOPBACK}:${port}` || hostHeader === `localhost:${port}`;
}

function isOwnOrigin(origin: string, port: number): boolean {
  return origin === `http://${LOOPBACK}:${port}` || origin === `http://localhost:${port}`;
}

/** Path and query (`?…`, or ''). */
function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Constant-time comparison, so the secret cannot be guessed byte by byte from response times. */
function sameSecret(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is drained and dropped, so the 413 answer still reaches the client.
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > limit) reject(new BodyTooLarge(limit));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, status: number, code: LabErrorCode, message: string): void {
  sendJson(response, status, { error: { code, message } });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
