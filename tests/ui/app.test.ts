// The app as a new user meets it, in Debian's Chromium (browser mode, SwiftShader WebGPU): it loads,
// the GPU diagnostics name the software adapter and warn about it, and the Train view trains a very
// small tiny-model config in its Worker while the loss curve is drawn and falls. Screenshots go to
// test-results/ (look at them).

import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';
import { startWebServer, type WebServer } from '../../main/web/server.js';
import { ensureRendererBuilt } from './build-renderer.js';

const RESULTS = fileURLToPath(new URL('../../test-results', import.meta.url));
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: WebServer;
let browser: Browser;
let page: Page;
const pageProblems: string[] = [];

beforeAll(async () => {
  const rendererDir = await ensureRendererBuilt();
  const service = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR });
  server = await startWebServer({ service, rendererDir });
  // launch() gives every run a fresh temporary profile (user-data-dir).
  browser = await chromium.launch({
    executablePath: process.env.STATELAB_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(`console: ${message.text()}`);
  });
  mkdirSync(RESULTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The vertices of the longest line ECharts drew in the loss chart (SVG renderer): the loss series. */
async function drawnLossLine(): Promise<{ x: number; y: number }[]> {
  const paths = await page
    .locator('[data-testid="loss-chart"] svg path')
    .evaluateAll((elements) => elements.map((element) => element.getAttribute('d') ?? ''));
  const lines = paths.map((d) => {
    const numbers = (d.match(/-?\d*\.?\d+(?:e-?\d+)?/gi) ?? []).map(Number);
    const vertices = [];
    for (let i = 0; i + 1 < numbers.length; i += 2) vertices.push({ x: numbers[i], y: numbers[i + 1] });
    return vertices;
  });
  return lines.reduce((longest, line) => (line.length > longest.length ? line : longest), []);
}

describe('StateLab in Chromium (browser mode)', () => {
  it('loads with its navigation and honest placeholders', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.locator('[data-nav]').count()).toBe(6);
    await expect.poll(() => page.locator('.app-info').textContent()).toMatch(/browser mode/);
    await page.click('[data-nav="build"]');
    expect(await page.locator('.coming-soon').textContent()).toMatch(/arrives with issue 7/);
  });

  it('diagnostics name the SwiftShader adapter and flag it as software', async () => {
    await page.click('[data-nav="diagnostics"]');
    await page.waitForSelector('[data-testid="adapter-kind"]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid="adapter"]')).toMatch(/swiftshader/i);
    expect(await page.textContent('[data-testid="adapter-kind"]')).toBe('software (CPU)');
    expect(await page.textContent('[data-testid="software-warning"]')).toMatch(/software adapter/);
    expect(await page.textContent('[data-testid="limits"]')).toMatch(/maxStorageBufferBindingSize\s*\d/);
    await page.screenshot({ path: `${RESULTS}/ui-diagnostics.png`, fullPage: true });
  });

  it('trains a small tiny model in the Worker and draws a falling loss curve', async () => {
    const steps = 16;
    await page.click('[data-nav="train"]');
    await expect.poll(() => page.locator('[data-setting="text"] option').count()).toBeGreaterThan(0);
    const settings = { dModel: 16, layers: 1, mlpHidden: 32, convKernel: 2, batch: 4, seqLen: 16, steps, lr: 0.02 };
    for (const [key, value] of Object.entries(settings)) await page.fill(`[data-setting="${key}"]`, String(value));
    await page.click('[data-action="start"]');
    const status = page.locator('[data-testid="train-status"]');
    await expect
      .poll(() => status.getAttribute('data-status'), { timeout: 180_000, interval: 500 })
      .toMatch(/completed|failed/);
    expect(await page.locator('[data-testid="train-error"]').count(), await page.content()).toBe(0);
    expect(await status.getAttribute('data-status')).toBe('completed');

    expect(await page.getAttribute('[data-testid="loss-chart"]', 'data-points')).toBe(String(steps));
    const line = await drawnLossLine();
    expect(line).toHaveLength(steps);
    // Screen y grows downwards: a falling loss is drawn lower and lower.
    const meanY = (points: { y: number }[]): number => points.reduce((s, p) => s + p.y, 0) / points.length;
    expect(meanY(line.slice(-4))).toBeGreaterThan(meanY(line.slice(0, 4)) + 20);
    const finalLoss = Number(await page.textContent('[data-testid="readout-loss"]'));
    expect(finalLoss).toBeLessThan(Math.log(256) - 0.5); // below the uniform byte guess, ln 256 ≈ 5.55
    expect(await page.textContent('[data-testid="readout-step"]')).toBe(`${steps} / ${steps}`);
    expect(Number((await page.textContent('[data-testid="readout-tps"]'))!.replace(/,/g, ''))).toBeGreaterThan(0);
    await page.screenshot({ path: `${RESULTS}/ui-train.png`, fullPage: true });
  }, 240_000);

  it('stops a longer run on request, keeping the curve so far', async () => {
    await page.fill('[data-setting="steps"]', '500');
    await page.click('[data-action="start"]');
    const chart = page.locator('[data-testid="loss-chart"]');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 120_000 })
      .toBeGreaterThan(1);
    await page.click('[data-action="stop"]');
    const status = page.locator('[data-testid="train-status"]');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('stopped');
    const drawn = Number(await chart.getAttribute('data-points'));
    expect(drawn).toBeGreaterThan(1);
    expect(drawn).toBeLessThan(500);
    expect(await page.isEnabled('[data-action="start"]')).toBe(true);
  }, 240_000);

  it('logged no page errors and no CSP violations', () => {
    expect(pageProblems).toEqual([]);
  });
});
