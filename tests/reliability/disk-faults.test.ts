// A full disk and a read-only folder during a run, injected at the file-system calls the run folder uses
// (this machine runs tests as root, so chmod cannot make a folder read-only for them). The run stops with
// an error naming the file and the cause, every checkpoint saved before stays loadable, no temporary file
// is left, and the run resumes once there is room again.

import fs, { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FileWriteError, writeFileAtomic } from '../../main/host/atomic-file.js';
import { RunStore } from '../../main/host/runs/run-store.js';
import { resumeRun, trainRun } from '../../main/host/train-run.js';
import { tinyRequest } from './tiny-run.js';

const root = mkdtempSync(join(tmpdir(), 'statelab-disk-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const original = { openSync: fs.openSync, writeSync: fs.writeSync, appendFileSync: fs.appendFileSync };
afterEach(() => {
  Object.assign(fs, original);
  syncBuiltinESMExports();
});

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  // Node's own messages name no file (`ENOSPC: no space left on device, write`): neither does this one.
  return Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall, path });
}

/** From now on, opening or appending to files whose path matches `pattern` fails with `code`. */
function failWrites(pattern: RegExp, code: 'ENOSPC' | 'EROFS' | 'EACCES', when: () => boolean = () => true): void {
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    if (pattern.test(String(path)) && when()) throw errno(code, 'open', String(path));
    return (original.openSync as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  fs.appendFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (pattern.test(String(path)) && when()) throw errno(code, 'write', String(path));
    return (original.appendFileSync as (...a: unknown[]) => void)(path, ...rest);
  }) as typeof fs.appendFileSync;
  syncBuiltinESMExports();
}

function healDisk(): void {
  Object.assign(fs, original);
  syncBuiltinESMExports();
}

describe('disk full and read-only folders', () => {
  it('writeFileAtomic: a failed write names the file and the cause, keeps the old file, leaves no temporary', () => {
    const dir = join(root, 'atomic');
    fs.mkdirSync(dir);
    const path = join(dir, 'run.json');
    writeFileAtomic(path, 'old');
    let calls = 0;
    fs.writeSync = ((fd: number, buffer: Uint8Array, offset?: number, length?: number) => {
      if (++calls === 1) {
        (original.writeSync as (...a: unknown[]) => number)(fd, buffer, offset ?? 0, Math.floor((length ?? 2) / 2));
        throw errno('ENOSPC', 'write', path);
      }
      return (original.writeSync as (...a: unknown[]) => number)(fd, buffer, offset, length);
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
    expect(() => writeFileAtomic(path, 'new contents')).toThrow(FileWriteError);
    healDisk();
    fs.writeSync = ((..._args: unknown[]) => {
      throw errno('ENOSPC', 'write', path);
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
    expect(() => writeFileAtomic(path, 'new contents')).toThrow(
      `cannot write ${path}: the disk is full (ENOSPC); the file is unchanged`,
    );
    healDisk();
    expect(fs.readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['run.json']);
    failWrites(/run\.json/, 'EROFS');
    expect(() => writeFileAtomic(path, 'x')).toThrow(/the file system is read-only \(EROFS\)/);
    failWrites(/run\.json/, 'EACCES');
    expect(() => writeFileAtomic(path, 'x')).toThrow(/permission denied \(EACCES\)/);
  });

  it('disk full at the third checkpoint: the run fails naming the file; checkpoints 3 and 6 load; resume finishes', async () => {
    const runsDir = join(root, 'full');
    let checkpoints = 0;
    failWrites(/checkpoints[\\/]\.step-.*\.tmp$/, 'ENOSPC', () => ++checkpoints > 4); // 2 files per checkpoint
    const error = await trainRun(tinyRequest(runsDir, { name: 'full' })).then(
      () => null,
      (e: unknown) => e as Error,
    );
    healDisk();
    expect(error).toBeInstanceOf(FileWriteError);
    expect(error!.message).toMatch(/cannot write .*step-0000009\.optim\.safetensors: the disk is full \(ENOSPC\)/);
    const [run] = new RunStore(runsDir).list();
    expect(run.info()).toMatchObject({ status: 'failed', message: error!.message });
    expect(run.checkpointSteps()).toEqual([3, 6]);
    expect(run.loadCheckpoint(6).state.step).toBe(6);
    expect(readdirSync(join(run.dir, 'checkpoints')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const { outcome } = await resumeRun(run.dir, runsDir, {});
    expect(outcome.status).toBe('completed');
    expect(run.metrics().map((r) => r.step)).toEqual([...Array(12).keys()]);
  });

  it('metrics log on a disk that fills up: the run stops naming metrics.jsonl; what was saved stays readable', async () => {
    const runsDir = join(root, 'full-metrics');
    let rows = 0;
    failWrites(/metrics\.jsonl$/, 'ENOSPC', () => ++rows > 5);
    const error = await trainRun(tinyRequest(runsDir, { name: 'metrics' })).then(
      () => null,
      (e: unknown) => e as Error,
    );
    healDisk();
    expect(error).toBeInstanceOf(FileWriteError);
    expect(error?.message).toMatch(/cannot write .*metrics\.jsonl: the disk is full \(ENOSPC\)/);
    const [run] = new RunStore(runsDir).list();
    expect(run.metrics().map((r) => r.step)).toEqual([0, 1, 2, 3, 4]);
    expect(run.info().status).toBe('failed');
    expect(run.loadCheckpoint().step).toBe(3);
  });

  it('a read-only runs folder refuses to start a run, with the folder in the message', async () => {
    const runsDir = join(root, 'readonly');
    fs.mkdirSync(runsDir);
    failWrites(/readonly[\\/].*/, 'EROFS');
    const error = await trainRun(tinyRequest(runsDir, { name: 'ro' })).then(
      () => null,
      (e: unknown) => e as Error,
    );
    healDisk();
    expect(error).toBeInstanceOf(FileWriteError);
    expect(error!.message).toMatch(/cannot write .*readonly.*: the file system is read-only \(EROFS\)/);
  });
});
