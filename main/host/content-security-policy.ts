// The renderer's Content Security Policy: only the app's own scripts, workers, styles and API; no
// remote content, no eval, no inline scripts. WebGPU needs nothing extra. It is written into
// index.html at build time (so it holds under Electron's custom protocol and in browser mode alike)
// and also sent as a header by the browser-mode server and the Electron protocol handler.

const POLICY: Record<string, string> = {
  'default-src': "'none'",
  'script-src': "'self'",
  'worker-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data: blob:",
  'font-src': "'self'",
  'connect-src': "'self'",
  'base-uri': "'none'",
  'form-action': "'none'",
  'object-src': "'none'",
};

/** The development server (electron-vite dev) injects styles and talks to Vite over a WebSocket. */
const DEV_RELAXATIONS: Record<string, string> = {
  'style-src': "'self' 'unsafe-inline'",
  'connect-src': "'self' ws://localhost:* ws://127.0.0.1:*",
};

function render(policy: Record<string, string>): string {
  return Object.entries(policy)
    .map(([directive, value]) => `${directive} ${value}`)
    .join('; ');
}

/** For the `<meta http-equiv>` tag (frame-ancestors is not allowed there). */
export function contentSecurityPolicy(options: { dev?: boolean } = {}): string {
  return render(options.dev ? { ...POLICY, ...DEV_RELAXATIONS } : POLICY);
}

/** For HTTP response headers: the same policy plus a ban on being framed. */
export function contentSecurityPolicyHeader(): string {
  return render({ ...POLICY, 'frame-ancestors': "'none'" });
}
