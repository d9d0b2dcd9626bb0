import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BatchSampler,
  HEADER_BYTES,
  openTokenCache,
  openTokenStore,
  readDataset,
  saveTokenizerFile,
  TokenCacheWriter,
  type TokenSource,
  type TokenStoreOptions,
} from '../../main/host/datasets/index.js';
import { defaultDataMemoryBytes, openDataSource } from '../../main/host/data-source.js';
import { ByteTokenizer, trainBpe } from '../../shared/tokenizers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'statelab-token-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CHILD = new URL('./helpers/token-cache-child.ts', import.meta.url).pathname;

const all = (s: TokenSource) => Array.from(s.read(0, s.length));
const corpus = (lines: number, salt = '') =>
  Array.from(
    { length: lines },
    (_, i) => `${salt}line ${i}: the lamp turns ${i % 7} times — ü ${'~'.repeat(i % 5)}\n`,
  ).join('');

function storeOptions(path: string, cacheDir: string, extra: TokenStoreOptions = {}): TokenStoreOptions {
  const s = statSync(path);
  return {
    validationFraction: 0.1,
    source: path,
    cacheDir,
    fingerprint: { path, size: s.size, mtimeMs: s.mtimeMs },
    memoryBudgetBytes: 4096, // 1024 tokens: every corpus here is larger
    ...extra,
  };
}

describe('token cache files', () => {
  it.each([
    ['uint16', 300, 2],
    ['int32', 70_000, 4],
  ] as const)('a %s cache reads back exactly the tokens written, at any offset', (dtype, vocab, width) => {
    const ids = Int32Array.from({ length: 300_000 }, (_, i) => (i * 7919 + (i >> 3)) % vocab);
    const path = join(dir, `ids-${dtype}.bin`);
    const fingerprint = { case: dtype };
    const writer = new TokenCacheWriter(path, vocab, fingerprint);
    for (let i = 0; i < ids.length; i += 1000) writer.append(ids.subarray(i, i + 1000));
    expect(writer.finish()).toMatchObject({ dtype, tokens: ids.length, vocabSize: vocab });
    expect(statSync(path).size).toBe(HEADER_BYTES + ids.length * width);
    const cache = openTokenCache(path, fingerprint)!;
    const tail = cache.range(1000, ids.length - 1000);
    for (const offset of [0, 1, 4095, 123_457, tail.length - 17]) {
      expect(Array.from(tail.read(offset, 17))).toEqual(Array.from(ids.subarray(1000 + offset, 1000 + offset + 17)));
    }
    expect(() => tail.read(tail.length - 5, 6)).toThrow(/outside 0\.\.299000/);
    tail.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('token store: tokens larger than the memory budget', () => {
  const text = corpus(600);
  const path = join(dir, 'lamp.txt');
  writeFileSync(path, text);
  const tokenizer = new ByteTokenizer();
  const texts = () => readDataset({ path, chunkBytes: 1000 });

  it('spill to the disk cache with the same train/validation tokens and batches as in memory, and are reused', async () => {
    const cacheDir = join(dir, 'cache-same');
    const memory = await openTokenStore(texts, tokenizer, { validationFraction: 0.1, source: path });
    expect(memory.cacheFile).toBeNull();
    const logs: string[] = [];
    const disk = await openTokenStore(texts, tokenizer, storeOptions(path, cacheDir, { onLog: (m) => logs.push(m) }));
    expect(disk.cacheFile).toMatch(/cache-same\/[0-9a-f]{32}\.bin$/);
    expect(disk.reused).toBe(false);
    expect(logs[0]).toMatch(/exceed the 4 KiB memory budget; writing the token cache/);
    const bytes = Array.from(new TextEncoder().encode(text));
    expect(all(memory.train).concat(all(memory.validation))).toEqual(bytes);
    expect(all(disk.train)).toEqual(all(memory.train));
    expect(all(disk.validation)).toEqual(all(memory.validation));
    const shape = { batch: 5, seqLen: 40, seed: 9 };
    const [a, b] = [new BatchSampler(memory.train, shape), new BatchSampler(disk.train, shape)];
    for (let i = 0; i < 20; i++) expect(b.next().windows).toEqual(a.next().windows);
    expect(b.position()).toEqual(a.position());

    const again = await openTokenStore(texts, tokenizer, storeOptions(path, cacheDir));
    expect([again.reused, again.cacheFile]).toEqual([true, disk.cacheFile]);
    expect(all(again.train)).toEqual(all(memory.train));
    // The split is not part of the cache: another validation fraction reuses it too.
    const other = await openTokenStore(texts, tokenizer, storeOptions(path, cacheDir, { validationFraction: 0.25 }));
    expect([other.reused, other.validation.length]).toEqual([true, Math.round(bytes.length * 0.25)]);
    for (const s of [disk, again, other]) s.close();
  });

  it('a damaged, truncated, foreign or stale cache is detected, named, and rebuilt', async () => {
    const cacheDir = join(dir, 'cache-bad');
    const first = await openTokenStore(texts, tokenizer, storeOptions(path, cacheDir));
    first.close();
    const file = first.cacheFile!;
    const expected = all(first.train);
    const reopen = async () => {
      const logs: string[] = [];
      const store = await openTokenStore(
        texts,
        tokenizer,
        storeOptions(path, cacheDir, { onLog: (m) => logs.push(m) }),
      );
      store.close();
      expect(all(store.train)).toEqual(expected);
      return { reused: store.reused, log: logs[0] };
    };
    const poke = (position: number, byte: number) => {
      const fd = openSync(file, 'r+');
      writeSync(fd, Uint8Array.of(byte), 0, 1, position);
      closeSync(fd);
    };

    poke(HEADER_BYTES + 1234, 0xff); // one flipped token
    expect(await reopen()).toEqual({
      reused: false,
      log: expect.stringMatching(/fails its checksum.*damaged; tokenizing again/),
    });
    expect((await reopen()).reused).toBe(true); // the rebuilt cache is trusted again

    truncateSync(file, statSync(file).size - 2);
    expect((await reopen()).log).toMatch(
      new RegExp(`${file}: token cache is \\d+ bytes but its header says .*truncated`),
    );

    poke(3, 0x00); // the magic line
    expect((await reopen()).log).toMatch(/is not a StateLab token cache \(bad or missing header\)/);

    // A cache made from another source under this key's name (copied by hand, or a hash collision).
    const foreignDir = join(dir, 'cache-foreign');
    const foreign = new TokenCacheWriter(join(foreignDir, 'x.bin'), 256, { path: 'elsewhere.txt' });
    foreign.append(Int32Array.of(1, 2, 3));
    foreign.finish();
    copyFileSync(join(foreignDir, 'x.bin'), file);
    expect((await reopen()).log).toMatch(/made from another file version or tokenizer \(stale\)/);

    // An edited source file: new size and mtime, so a new cache with the new text, never the old tokens.
    const edited = join(dir, 'edited.txt');
    writeFileSync(edited, text);
    const before = await openTokenStore(() => readDataset({ path: edited }), tokenizer, storeOptions(edited, cacheDir));
    writeFileSync(edited, corpus(600, 'v2 '));
    const after = await openTokenStore(() => readDataset({ path: edited }), tokenizer, storeOptions(edited, cacheDir));
    expect(after.reused).toBe(false);
    expect(after.cacheFile).not.toBe(before.cacheFile);
    expect(all(after.train).slice(0, 3)).toEqual([118, 50, 32]); // "v2 "
    // …and the old version's cache is deleted (it can never match again); the lamp.txt cache stays.
    expect(existsSync(before.cacheFile!)).toBe(false);
    expect(existsSync(file)).toBe(true);
    before.close();
    after.close();
  });

  it('a tokenization that fails midway leaves neither a cache nor a temporary file', async () => {
    const cacheDir = join(dir, 'cache-fail');
    async function* failing() {
      for await (const t of texts()) yield t; // past the budget: the cache file is being written
      throw new Error('disk unplugged');
    }
    await expect(openTokenStore(failing, tokenizer, storeOptions(path, cacheDir))).rejects.toThrow('disk unplugged');
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('a tokenization killed by SIGKILL leaves only a temporary file, never trusted, removed by the next build', async () => {
    const cacheDir = join(dir, 'cache-killed');
    const big = join(dir, 'big-kill.txt');
    const block = corpus(2000);
    writeFileSync(big, block.repeat(Math.ceil((24 << 20) / block.length))); // ~24 MB: ~1 s to tokenize
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, big, cacheDir, String(1 << 20)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let killing = false;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const temp = /via ([^)]+)\)/.exec(out)?.[1];
        if (temp && !killing) {
          killing = true;
          // Kill once tokens are landing in the temporary file: a cache half written.
          const waitForData = () =>
            statSync(temp).size > HEADER_BYTES || Date.now() - seen > 2000
              ? (child.kill('SIGKILL'), resolve())
              : setTimeout(waitForData, 5);
          const seen = Date.now();
          waitForData();
        }
      });
      child.on('exit', () => reject(new Error(`child exited before writing the cache: ${out}`)));
    });
    await new Promise((r) => child.on('exit', r));
    const left = readdirSync(cacheDir);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^\\.[0-9a-f]{32}\\.bin\\.${child.pid}\\.\\d+\\.tmp$`));
    expect(statSync(join(cacheDir, left[0])).size).toBeGreaterThan(HEADER_BYTES); // tokens, but no header

    const data = await openDataSource(
      { kind: 'text', path: big, tokenizer: 'byte', validationFraction: 0.01 },
      { vocabSize: 256, batch: 4, seqLen: 64, seed: 3 },
      { cacheDir, memoryBudgetBytes: 1 << 20 },
    );
    expect(readdirSync(cacheDir)).toEqual([data.cacheFile!.slice(cacheDir.length + 1)]);
    const memory = await openDataSource(
      { kind: 'text', path: big, tokenizer: 'byte', validationFraction: 0.01 },
      { vocabSize: 256, batch: 4, seqLen: 64, seed: 3 },
    );
    for (let i = 0; i < 5; i++) expect(data.train.next().inputs).toEqual(memory.train.next().inputs);
    data.close();
  }, 60_000);

  it('memory: a 200 MB file streams through a 16 MiB budget holding a fraction of its tokens', async () => {
    const huge = join(dir, 'huge.txt');
    const block = Buffer.from(corpus(20_000));
    const fd = openSync(huge, 'w');
    let size = 0;
    while (size < 200 << 20) size += writeSync(fd, block);
    closeSync(fd);
    const cacheDir = join(dir, 'cache-huge');
    mkdirSync(cacheDir);
    // A small V8 heap as well: the stream must not keep its text or token garbage alive.
    const run = () =>
      new Promise<Record<string, number | string>>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--max-old-space-size=64', '--import', 'tsx', CHILD, huge, cacheDir, String(16 << 20), '2000'],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`exit ${code}: ${out}`)),
        );
      });
    const built = await run();
    const reused = await run();
    const tokensMiB = (size * 4) / 2 ** 20;
    const line = (what: string, r: Record<string, number | string>) =>
      `${what}: ${(size / 2 ** 20).toFixed(0)} MiB file, budget 16 MiB (in memory its tokens alone would be ` +
      `${tokensMiB.toFixed(0)} MiB): peak RSS ${(r.peakRssMiB as number).toFixed(0)} MiB ` +
      `(+${((r.peakRssMiB as number) - (r.baseRssMiB as number)).toFixed(0)} MiB over the idle process), ` +
      `open ${(r.openSeconds as number).toFixed(1)} s (${(size / 2 ** 20 / (r.openSeconds as number)).toFixed(0)} MB/s), ` +
      `2000 batches of 16×257 in ${((r.sampleSeconds as number) * 1000).toFixed(0)} ms`;
    console.log(line('token cache, first run (tokenize + write)', built));
    console.log(line('token cache, second run (verify + reuse)', reused));
    for (const r of [built, reused]) {
      // Beyond the 16 MiB of tokens the stream holds read chunks, encoded arrays and GC slack (measured
      // ~100 MiB); holding the tokens in memory would add 800 MiB on top (measured peak: 1.7 GiB).
      expect((r.peakRssMiB as number) - (r.baseRssMiB as number)).toBeLessThan(200);
      expect(r.cacheFile).toMatch(/\.bin$/);
    }
    expect(reused.checksum).toBe(built.checksum);
    expect(statSync(built.cacheFile as string).size).toBe(HEADER_BYTES + 2 * size); // uint16 tokens
  }, 60_000);
});

describe('openDataSource with a token cache', () => {
  const jsonl = join(dir, 'records.jsonl');
  writeFileSync(
    jsonl,
    Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `record ${i}: ${'ab cd '.repeat(i % 6)}✓` })).join(
      '\n',
    ),
  );
  const shape = { vocabSize: 1000, batch: 3, seqLen: 24, seed: 4 };

  it('JSONL records with end-of-text separators: the disk cache gives the in-memory batches', async () => {
    const tokenizerPath = join(dir, 'records-tokenizer.json');
    saveTokenizerFile(
      tokenizerPath,
      await trainBpe(['record ab cd ✓ '.repeat(20)], { vocabSize: 270, specials: ['<|endoftext|>'] }),
    );
    const spec = { kind: 'text' as const, path: jsonl, tokenizer: tokenizerPath, validationFraction: 0.2 };
    const memory = await openDataSource(spec, shape);
    const disk = await openDataSource(spec, shape, { cacheDir: join(dir, 'cache-jsonl'), memoryBudgetBytes: 1024 });
    expect([memory.cacheFile, disk.cacheFile]).toEqual([undefined, expect.stringMatching(/\.bin$/)]);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const [a, b] = [memory.train.next(), disk.train.next()];
      expect([Array.from(b.inputs), Array.from(b.targets)]).toEqual([Array.from(a.inputs), Array.from(a.targets)]);
      seen.push(...a.inputs);
    }
    const separator = memory.tokenizer!.specialTokens.find((t) => t.content === '<|endoftext|>')!.id;
    expect(seen).toContain(separator); // the separators are part of what the cache holds
    expect(disk.train.position()).toEqual(memory.train.position());
    expect(disk.validation(3)).toEqual(memory.validation(3));
    disk.close();
  });

  it('BPE on a dataset larger than the budget is trained on the budget’s worth of text, and says so', async () => {
    const logs: string[] = [];
    const data = await openDataSource({ kind: 'text', path: jsonl, tokenizer: 'bpe:280' }, shape, {
      cacheDir: join(dir, 'cache-bpe'),
      memoryBudgetBytes: 2000,
      onLog: (m) => logs.push(m),
    });
    expect(logs[0]).toMatch(/records\.jsonl: BPE trained on the first 1000 characters \(the data memory budget\)/);
    expect(data.cacheFile).toMatch(/\.bin$/);
    data.close();
  });

  it('STATELAB_DATA_MEMORY_MB sets the default budget; a bad value is refused by name', () => {
    const saved = process.env.STATELAB_DATA_MEMORY_MB;
    try {
      process.env.STATELAB_DATA_MEMORY_MB = '2.5';
      expect(defaultDataMemoryBytes()).toBe(2.5 * 2 ** 20);
      process.env.STATELAB_DATA_MEMORY_MB = 'lots';
      expect(() => defaultDataMemoryBytes()).toThrow('STATELAB_DATA_MEMORY_MB=lots: must be a positive number of MiB');
      delete process.env.STATELAB_DATA_MEMORY_MB;
      expect(defaultDataMemoryBytes()).toBeLessThanOrEqual(2 ** 30);
    } finally {
      if (saved === undefined) delete process.env.STATELAB_DATA_MEMORY_MB;
      else process.env.STATELAB_DATA_MEMORY_MB = saved;
    }
  });
});
