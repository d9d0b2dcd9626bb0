// Shared setup of the Chromium UI tests: the built renderer served in browser mode over a fresh
// workspace, Debian's Chromium with SwiftShader WebGPU, and collectors for page errors and screenshots.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { startWebServer, type WebServer } from '../../main/web/server.js';
import { ensureRendererBuilt } from './build-renderer.js';

export const RESULTS = fileURLToPath(new URL('../../test-results', import.meta.url));

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface UiHarness {
  server: WebServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  workspaceDir: string;
  /** Page errors, console errors and CSP violations seen so far. */
  problems: string[];
  close(): Promise<void>;
}

export async function startUi(options: { viewport?: { width: number; height: number } } = {}): Promise<UiHarness> {
  const rendererDir = await ensureRendererBuilt();
  const workspaceDir = mkdtempSync(join(tmpdir(), 'statelab-ui-ws-'));
  const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir });
  const server = await startWebServer({ service, rendererDir });
  // launch() gives every run a fresh temporary profile (user-data-dir).
  const browser = await chromium.launch({
    executablePath: process.env.STATELAB_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1400, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}\n${error.stack ?? ''}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  mkdirSync(RESULTS, { recursive: true });
  return {
    server,
    browser,
    context,
    page,
    workspaceDir,
    problems,
    async close() {
      await browser.close();
      await server.close();
      rmSync(workspaceDir, { recursive: true, force: true });
    },
  };
}

/** Centre of an element on the page. */
export async function centerOf(page: Page, selector: string): Promise<{ x: number; y: number }> {
  const box = await page.locator(selector).first().boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}
