import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CsvParser,
  DatasetError,
  decodeUtf8,
  findInvalidUtf8,
  readCsvColumn,
  readDataset,
  readJsonlField,
  readParquetColumn,
  readTextFile,
  type CsvRecord,
} from '../../main/host/datasets/index.js';

const dir = mkdtempSync(join(tmpdir(), 'statelab-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${fileCount++}-${name}`);
  writeFileSync(path, content);
  return path;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const parquetFixture = new URL('../fixtures/data/texts.parquet', import.meta.url).pathname;

describe('streaming UTF-8 decoding', () => {
  const text = 'aé€🦀\uFEFFz — 日本語';
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(text)]); // with a leading BOM

  it('decodes the same text for every chunk size, characters split across chunks included', async () => {
    for (let size = 1; size <= 9; size++) {
      expect((await collect(decodeUtf8(chunked(bytes, size), 'x.txt'))).join('')).toBe(text);
    }
  });

  it('drops a BOM only at the start of the file, keeping U+FEFF inside the text', async () => {
    const decoded = (await collect(decodeUtf8(chunked(bytes, 3), 'x.txt'))).join('');
    expect(decoded.startsWith('a')).toBe(true);
    expect(decoded.includes('\uFEFF')).toBe(true);
  });

  it('reports the file and exact byte offset of invalid UTF-8, whatever the chunk size', async () => {
    // 0xe9 is "é" in Latin-1: a UTF-8 lead byte followed here by "t", not a continuation byte.
    const latin1 = new Uint8Array([...utf8('x'.repeat(1000) + '€ caf'), 0xe9, ...utf8('t ok')]);
    for (const size of [1, 2, 3, 7, 64, 4096]) {
      await expect(collect(decodeUtf8(chunked(latin1, size), 'latin1.txt'))).rejects.toThrow(
        'latin1.txt: is not UTF-8 text: invalid byte sequence at byte offset 1007 (0xe9)',
      );
    }
  });

  it('reports a file that ends inside a multi-byte character', async () => {
    const cut = utf8('ab🦀').slice(0, 4); // "ab" + 2 of the crab's 4 bytes
    await expect(collect(decodeUtf8(chunked(cut, 1), 'cut.txt'))).rejects.toThrow(
      /cut.txt: .*ends inside a multi-byte character that starts at byte offset 2/,
    );
  });

  it('finds overlongs, surrogates, values past U+10FFFF and stray continuation bytes', () => {
    expect(findInvalidUtf8(utf8('ok 日本 🦀'))).toBeNull();
    expect(findInvalidUtf8(new Uint8Array([0x41, 0xc0, 0x80]))).toEqual({ offset: 1, incomplete: false });
    expect(findInvalidUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toEqual({ offset: 0, incomplete: false });
    expect(findInvalidUtf8(new Uint8Array([0x41, 0x41, 0xf4, 0x90, 0x80, 0x80]))).toEqual({
      offset: 2,
      incomplete: false,
    });
    expect(findInvalidUtf8(new Uint8Array([0x41, 0x80]))).toEqual({ offset: 1, incomplete: false });
    expect(findInvalidUtf8(new Uint8Array([0x41, 0xe2, 0x82]))).toEqual({ offset: 1, incomplete: true });
  });
});

describe('text files', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `line ${i}: ${'é🦀'.repeat(i % 5)} end`);
  const content = lines.join('\n') + '\n';

  it('streams a file larger than the read chunk in line-aligned pieces that rebuild it exactly', async () => {
    const path = file('big.txt', content);
    expect(utf8(content).length).toBeGreaterThan(20 * 256);
    const chunks = await collect(readTextFile(path, { chunkBytes: 256 }));
    expect(chunks.length).toBeGreaterThan(20);
    expect(chunks.join('')).toBe(content);
    for (const chunk of chunks) {
      expect(chunk.endsWith('\n')).toBe(true);
      expect(utf8(chunk).length).toBeLessThanOrEqual(2 * 256);
    }
  });

  it('reads the file while it is consumed, not all at once (text appended after the first chunk appears)', async () => {
    const path = file('growing.txt', 'first line\n'.repeat(100));
    const reader = readTextFile(path, { chunkBytes: 64 });
    const first = await reader.next();
    expect(first.value).toMatch(/^first line\n/);
    appendFileSync(path, 'appended later\n');
    const rest = await collect(reader);
    expect((first.value + rest.join('')).endsWith('appended later\n')).toBe(true);
  });

  it('names a missing file and a non-UTF-8 file with its byte offset', async () => {
    await expect(collect(readTextFile(join(dir, 'nope.txt')))).rejects.toThrow(
      /nope.txt: cannot read \(no such file\)/,
    );
    const path = file('bad.txt', new Uint8Array([...utf8('a'.repeat(300)), 0xff, 0x0a]));
    await expect(collect(readTextFile(path, { chunkBytes: 128 }))).rejects.toThrow(
      new RegExp(`${path}: is not UTF-8 text: invalid byte sequence at byte offset 300 \\(0xff\\)`),
    );
  });
});

describe('JSONL', () => {
  it('yields the named field of each line, skipping blank lines and null values', async () => {
    const path = file(
      'docs.jsonl',
      '{"text":"one","id":1}\r\n\n{"id":2,"text":"two\\nlines 🦀"}\n{"text":null}\n{"text":"three"}',
    );
    expect(await collect(readJsonlField(path, 'text', { chunkBytes: 5 }))).toEqual(['one', 'two\nlines 🦀', 'three']);
  });

  it('names file:line for a malformed line', async () => {
    const path = file('broken.jsonl', '{"text":"ok"}\n{"text":"fine"}\n{"text": "unterminated}\n');
    await expect(collect(readJsonlField(path, 'text'))).rejects.toThrow(new RegExp(`${path}:3: malformed JSON`));
  });

  it('names the missing field and lists the fields the line has', async () => {
    const path = file('fields.jsonl', '{"text":"ok"}\n{"body":"x","id":7}\n');
    await expect(collect(readJsonlField(path, 'text'))).rejects.toThrow(
      `${path}:2: no field "text" (fields: "body", "id")`,
    );
  });

  it('refuses a line that is not an object, or a field that is not text', async () => {
    await expect(collect(readJsonlField(file('arr.jsonl', '[1,2]\n'), 'text'))).rejects.toThrow(
      /:1: expected a JSON object, got an array/,
    );
    await expect(collect(readJsonlField(file('num.jsonl', '{"text":5}\n'), 'text'))).rejects.toThrow(
      /:1: field "text" is number, not text/,
    );
  });
});

describe('CSV', () => {
  const csv =
    'id,text,note\r\n' +
    '1,plain,a\r\n' +
    '2,"quoted, with comma",b\r\n' +
    '3,"say ""hi""",c\n' +
    '4,"multi\nline\r\nfield",d\n' +
    '\n' +
    '5,,e\n' +
    '6,"",f\n' +
    '7,unquoted "inner" quote,g\r' +
    '8,last,"h"';

  const expected = [
    'plain',
    'quoted, with comma',
    'say "hi"',
    'multi\nline\r\nfield',
    '',
    '',
    'unquoted "inner" quote',
    'last',
  ];

  it('reads a named column with RFC 4180 quoting, escaped quotes, multiline fields and any line ending', async () => {
    expect(await collect(readCsvColumn(file('t.csv', csv), 'text', { chunkBytes: 7 }))).toEqual(expected);
  });

  it('parses identically however the text is split into chunks', () => {
    const whole = new CsvParser('t.csv');
    const all = [...whole.push(csv), ...whole.end()];
    for (const size of [1, 2, 3, 5]) {
      const parser = new CsvParser('t.csv');
      const records: CsvRecord[] = [];
      for (let i = 0; i < csv.length; i += size) records.push(...parser.push(csv.slice(i, i + size)));
      records.push(...parser.end());
      expect(records).toEqual(all);
    }
    expect(all.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 8, 9, 10, 11, 12]);
  });

  it('names the missing column and lists the header', async () => {
    await expect(collect(readCsvColumn(file('cols.csv', 'id,body\n1,x\n'), 'text'))).rejects.toThrow(
      /cols.csv: no column "text" in the header \(columns: "id", "body"\)/,
    );
  });

  it('reports an unterminated quote, text after a closing quote, and a short row with their lines', async () => {
    await expect(collect(readCsvColumn(file('open.csv', 'text\n"never closed\nmore\n'), 'text'))).rejects.toThrow(
      /open.csv: unterminated quoted field: the quote opened in the record starting on line 2 never closes/,
    );
    await expect(collect(readCsvColumn(file('after.csv', 'text\n"a"b\n'), 'text'))).rejects.toThrow(
      /after.csv:2: unexpected "b" after the closing quote of field 1/,
    );
    await expect(collect(readCsvColumn(file('short.csv', 'id,text\n1,a\n2\n'), 'text'))).rejects.toThrow(
      /short.csv:3: row has 1 field, but column "text" is field 2/,
    );
  });

  it('reads tab-separated files through readDataset', async () => {
    const path = file('t.tsv', 'text\tid\n"a\tb"\t1\nc\t2\n');
    expect(await collect(readDataset({ path }))).toEqual(['a\tb', 'c']);
  });
});

describe('Parquet', () => {
  it('reads a text column across row groups in order, skipping nulls', async () => {
    expect(await collect(readParquetColumn(parquetFixture, 'text'))).toEqual([
      'The first row.',
      'Zweite Zeile — mit Umlauten: äöü ß',
      '第三行',
      'row with "quotes", commas, and\na newline',
      'emoji 🦀',
      'seventh',
      'eighth row is in the second group',
      'ninth row starts the third group',
      'tenth and last',
    ]);
  });

  it('names the missing column and lists the columns', async () => {
    await expect(collect(readParquetColumn(parquetFixture, 'body'))).rejects.toThrow(
      /texts.parquet: no column "body" \(columns: "id", "title", "text"\)/,
    );
  });

  it('refuses a column that does not hold text, and a file that is not Parquet', async () => {
    await expect(collect(readParquetColumn(parquetFixture, 'id'))).rejects.toThrow(
      /column "id" holds number values \(row 0\), not text/,
    );
    const fake = file('fake.parquet', 'this is not parquet at all');
    await expect(collect(readParquetColumn(fake, 'text'))).rejects.toThrow(
      new RegExp(`${fake}: is not a readable Parquet file`),
    );
  });

  // The fuzz suite's find: a data page whose definition-level run header claims 2^30 values makes
  // hyparquet fill an array of that length in one synchronous loop, then abort V8 ("invalid size error").
  // The file is written here from the fixture: the first text page is a v2 data page whose header ends
  // with definition_levels_byte_length 2, repetition_levels_byte_length 0 and two stops (15 04 15 00 00 00);
  // its uncompressed level bytes follow, and get a 5-byte varint run header (0x7fffffff → 2^30 zeros).
  it('refuses a page that claims 2^30 values, in bounded time, without taking the process down', async () => {
    const bytes = new Uint8Array(readFileSync(parquetFixture));
    const textChunk = 100; // the row group 0 "text" column chunk starts at byte 100 (hyparquet's metadata)
    const end = Buffer.from(bytes).indexOf(Buffer.from([0x15, 0x04, 0x15, 0x00, 0x00, 0x00]), textChunk) + 6;
    expect(end).toBeGreaterThan(textChunk);
    bytes.set([0xfe, 0xff, 0xff, 0xff, 0x0f], end);
    const path = file('huge-run.parquet', bytes);
    const started = performance.now();
    await expect(collect(readDataset({ path, parquetDeadlineMs: 1500 }))).rejects.toThrow(
      new RegExp(`${path}: cannot read rows 0–3: .*taken as corrupt`),
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    // The reader still works afterwards (the decoder was its own process).
    expect((await collect(readDataset({ path: parquetFixture }))).length).toBe(9);
  });
});

describe('readDataset', () => {
  it('picks the reader from the extension and defaults the field to "text"', async () => {
    expect(await collect(readDataset({ path: file('a.jsonl', '{"text":"j"}\n') }))).toEqual(['j']);
    expect(await collect(readDataset({ path: file('a.csv', 'text\nc\n') }))).toEqual(['c']);
    expect((await collect(readDataset({ path: parquetFixture }))).length).toBe(9);
    expect(await collect(readDataset({ path: file('a.md', '# t\n') }))).toEqual(['# t\n']);
  });

  it('refuses an empty dataset, naming the file', async () => {
    const empty = file('empty.txt', '');
    await expect(collect(readDataset({ path: empty }))).rejects.toThrow(
      `${empty}: dataset is empty (the file has no text)`,
    );
    const nulls = file('nulls.jsonl', '{"text":null}\n\n');
    await expect(collect(readDataset({ path: nulls }))).rejects.toThrow(
      /dataset is empty \(no text in jsonl field "text"\)/,
    );
    const header = file('header.csv', 'text\n');
    await expect(collect(readDataset({ path: header }))).rejects.toThrow(/dataset is empty/);
  });

  it('refuses an unknown extension unless the format is named', async () => {
    const path = file('data.bin', 'hello');
    await expect(collect(readDataset({ path }))).rejects.toThrow(/cannot tell the format from the extension "bin"/);
    expect(await collect(readDataset({ path, format: 'txt' }))).toEqual(['hello']);
  });

  it('throws DatasetError (not a crash) for a directory', async () => {
    await expect(collect(readDataset({ path: dir, format: 'txt' }))).rejects.toBeInstanceOf(DatasetError);
    await expect(collect(readDataset({ path: dir, format: 'txt' }))).rejects.toThrow(
      /cannot read \(not a regular file\)/,
    );
  });
});
