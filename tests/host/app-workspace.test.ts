// The workspace as the app sees it: graph files by name only (never a path), written temp-then-rename and
// only when they are graphs; recent workspaces; the template gallery's list.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGraph } from '../../shared/graph/parse.js';
import { createLabClient } from '../../shared/lab-api.js';
import { callLab, createLabService, SOURCE_ASSETS_DIR } from '../../main/host/lab-service.js';

const root = mkdtempSync(join(tmpdir(), 'statelab-ws-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function service(
  workspaceDir: string,
  extra: { settingsFile?: string; dialogs?: { chooseFolder(): Promise<string | null> } } = {},
) {
  const host = createLabService({ mode: 'browser', assetsDir: SOURCE_ASSETS_DIR, workspaceDir, ...extra });
  return { host, client: createLabClient((method, args) => callLab(host, method, args)) };
}

describe('workspace graphs', () => {
  const dir = join(root, 'ws1');
  const { client } = service(dir);

  it('creates the workspace folders and reports them', async () => {
    const info = await client.workspace();
    expect(info.path).toBe(dir);
    expect(existsSync(join(dir, 'graphs'))).toBe(true);
    expect(existsSync(join(dir, 'runs'))).toBe(true);
    expect(info.dialogs).toBe(false);
  });

  it('saves, lists and reads graphs by name, leaving no temporary files', async () => {
    const text = await client.readTemplate('gla');
    const saved = await client.saveGraph('my GLA (v2)', text);
    expect(saved).toMatchObject({ name: 'my GLA (v2)', bytes: text.length });
    expect(await client.readGraph('my GLA (v2)')).toBe(text);
    expect((await client.listGraphs()).map((g) => g.name)).toEqual(['my GLA (v2)']);
    expect(readdirSync(join(dir, 'graphs'))).toEqual(['my GLA (v2).json']);
    // Overwriting keeps the old file until the new one is complete (rename), and leaves no temporary.
    await client.saveGraph('my GLA (v2)', text.replace('"GLA"', '"GLA 2"'));
    expect(parseGraph(await client.readGraph('my GLA (v2)')).name).toBe('GLA 2');
    expect(readdirSync(join(dir, 'graphs'))).toEqual(['my GLA (v2).json']);
  });

  it('refuses names that are paths and text that is not a graph, writing nothing', async () => {
    for (const name of ['../escape', '/etc/passwd', 'a/b', '.hidden', '..', 'x'.repeat(81), 'C:\\x', '']) {
      await expect(client.saveGraph(name, '{}'), name).rejects.toMatchObject({ code: 'bad-arguments' });
      await expect(client.readGraph(name), name).rejects.toMatchObject({ code: 'bad-arguments' });
    }
    await expect(client.saveGraph('broken', '{"format": "statelab-graph", "version": 2')).rejects.toMatchObject({
      code: 'bad-arguments',
      message: /truncated/,
    });
    await expect(client.saveGraph('notagraph', '{"hello": 1}')).rejects.toMatchObject({ message: /format/ });
    expect(readdirSync(join(dir, 'graphs'))).toEqual(['my GLA (v2).json']);
    expect(existsSync(join(root, 'escape.json'))).toBe(false);
    await expect(client.readGraph('missing')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('lists every bundled template with its name and reads them', async () => {
    const templates = await client.listTemplates();
    expect(templates.length).toBeGreaterThanOrEqual(10);
    expect(templates.find((t) => t.id === 'gla')).toMatchObject({ name: 'GLA', description: /decay/ });
    for (const t of templates) expect(parseGraph(await client.readTemplate(t.id)).name).toBe(t.name);
    await expect(client.readTemplate('nope')).rejects.toMatchObject({ code: 'not-found' });
    await expect(client.readTemplate('../package')).rejects.toMatchObject({ code: 'bad-arguments' });
  });
});

describe('dataset files in the workspace', () => {
  const dir = join(root, 'ws-data');
  const { client } = service(dir);

  it('imports files by name into data/, lists them with their format, previews them', async () => {
    const text = 'hello world, hello data. '.repeat(40);
    const info = await client.importDataFile('notes.txt', new TextEncoder().encode(text));
    expect(info).toMatchObject({ name: 'notes.txt', bytes: text.length, format: 'txt' });
    expect(readdirSync(join(dir, 'data'))).toEqual(['notes.txt']);
    expect((await client.listDataFiles()).map((f) => f.name)).toEqual(['notes.txt']);
    const preview = await client.previewData({
      kind: 'file',
      name: 'notes.txt',
      tokenizer: 'char',
      validationFraction: 0.1,
    });
    expect(preview).toMatchObject({ tokenizer: 'char', trainTokens: text.length - 100, validationTokens: 100 });
    expect(preview.vocabSize).toBeGreaterThan(new Set(text).size - 1);
    expect(preview.sample.startsWith('hello world')).toBe(true);
  });

  it('refuses paths, unknown formats and missing files, writing nothing', async () => {
    const bytes = new Uint8Array([65]);
    for (const name of ['../x.txt', 'a/b.txt', '.hidden.txt', 'noext', 'x.txt/..']) {
      await expect(client.importDataFile(name, bytes), name).rejects.toMatchObject({ code: 'bad-arguments' });
    }
    await expect(client.importDataFile('weights.bin', bytes)).rejects.toMatchObject({ message: /extension/ });
    await expect(
      client.previewData({ kind: 'file', name: 'missing.txt', tokenizer: 'byte', validationFraction: 0.1 }),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(
      client.previewData({ kind: 'file', name: 'notes.txt', tokenizer: 'wordpiece', validationFraction: 0.1 }),
    ).rejects.toMatchObject({ code: 'bad-arguments' });
    expect(readdirSync(join(dir, 'data'))).toEqual(['notes.txt']);
    expect(existsSync(join(root, 'x.txt'))).toBe(false);
  });
});

describe('recent workspaces', () => {
  it('remembers opened workspaces and reopens only those', async () => {
    const settingsFile = join(root, 'settings', 'recent.json');
    const picks = [join(root, 'ws-a'), join(root, 'ws-b')];
    const dialogs = { chooseFolder: async () => picks.shift() ?? null };
    const { client } = service(join(root, 'ws-start'), { settingsFile, dialogs });
    expect((await client.workspace()).dialogs).toBe(true);
    await client.chooseWorkspace();
    const info = await client.chooseWorkspace();
    expect(info?.path).toBe(join(root, 'ws-b'));
    expect(info?.recent).toEqual([join(root, 'ws-b'), join(root, 'ws-a'), join(root, 'ws-start')]);
    expect(await client.chooseWorkspace()).toBeNull(); // cancelled dialog: nothing changes
    expect((await client.openRecentWorkspace(join(root, 'ws-a'))).path).toBe(join(root, 'ws-a'));
    await expect(client.openRecentWorkspace('/etc')).rejects.toMatchObject({ code: 'bad-arguments' });
    // A fresh host (the app restarted) reads the same list; a corrupted file means an empty history.
    const again = service(join(root, 'ws-start'), { settingsFile });
    expect((await again.client.workspace()).recent[0]).toBe(join(root, 'ws-start'));
    expect(JSON.parse(readFileSync(settingsFile, 'utf8')).recent).toContain(join(root, 'ws-b'));
    writeFileSync(settingsFile, '{broken');
    expect((await service(join(root, 'ws-c'), { settingsFile }).client.workspace()).recent).toEqual([
      join(root, 'ws-c'),
    ]);
  });
});
