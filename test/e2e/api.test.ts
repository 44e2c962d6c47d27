/**
 * The programmatic API (`copy` from the built dist/index.js): a tree
 * copied with typed events and result, a refusal as a PcopyError, and an AbortSignal mid-copy.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copy, displayPath, osPath, PcopyError, type CopyEvent, type CopyResult } from '../../dist/index.js';
import { workersOf } from '../helpers/proc.js';
import { build, diffTrees, findTemps, hashFile, listEntries, read, snapshot, tempPerTest, writeFile } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-feat-api-');

afterEach(() => {
  delete process.env.PCOPY_TEST_DELAY_MS;
});

describe('copy()', () => {
  it('copies a tree, emits typed progress / entry-done / failed / skipped events and resolves to a result', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'a.txt': 'alpha\n', 'skip.tmp': 'excluded\n', sub: { 'b.txt': 'bravo\n', 'blocked': 'file in SRC\n' } });
    writeFile(path.join(src, 'sub', 'big.bin'), 300_000);
    fs.symlinkSync('a.txt', path.join(src, 'link'));
    expect(spawnSync('mkfifo', [path.join(src, 'pipe')]).status).toBe(0);
    const dest = path.join(tmp(), 'dest');
    // A non-empty directory where SRC has a file is never deleted: that entry fails.
    build(dest, { sub: { blocked: { 'keep.txt': 'keep\n' } } });

    const events: CopyEvent[] = [];
    const result: CopyResult = await copy(src, dest, { workers: 2, chunkSize: 4096, exclude: ['*.tmp'], onEvent: (e) => events.push(e) });

    expect(result).toMatchObject({
      source: src,
      destination: dest,
      dryRun: false,
      filesCopied: 3,
      filesSame: 0,
      symlinks: 1,
      bytesCopied: 6 + 6 + 300_000,
      interrupted: false,
      skipped: [{ path: 'pipe', reason: 'fifo' }],
    });
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ path: 'sub/blocked', error: { code: 'NOT_EMPTY' } });
    expect(result.elapsedMs).toBeGreaterThan(0);

    const progress = events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
    expect(progress.length).toBeGreaterThan(0);
    const last = progress.at(-1)!;
    // At the end everything found is accounted for (failed entries count as done, so a bar ends full).
    expect(last.bytesFound).toBeGreaterThanOrEqual(300_012 + 'file in SRC\n'.length);
    expect(last.bytesDone).toBe(last.bytesFound);
    expect(last).toMatchObject({ scanning: false, totalsKnown: true, entriesFound: 5, entriesDone: 5 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.bytesDone).toBeGreaterThanOrEqual(progress[i - 1]!.bytesDone);

    const done = events.flatMap((e) => (e.type === 'entry-done' ? [`${e.kind}:${e.path}:${e.outcome}`] : []));
    expect(done.sort()).toEqual(['dir:sub:same', 'file:a.txt:copied', 'file:sub/b.txt:copied', 'file:sub/big.bin:copied', 'link:link:copied'].sort());
    const failed = events.flatMap((e) => (e.type === 'failed' ? [e.failure] : []));
    expect(failed).toEqual(result.failures);
    const skipped = events.flatMap((e) => (e.type === 'skipped' ? [e.entry] : []));
    expect(skipped).toEqual([{ path: 'pipe', reason: 'fifo' }]);

    expect(listEntries(dest, { files: true })).toEqual(['a.txt', 'sub/b.txt', 'sub/big.bin', 'sub/blocked/keep.txt']);
    expect(hashFile(path.join(dest, 'sub', 'big.bin'))).toBe(hashFile(path.join(src, 'sub', 'big.bin')));
    expect(fs.readlinkSync(path.join(dest, 'link'))).toBe('a.txt');
    expect(read(path.join(dest, 'sub', 'blocked', 'keep.txt'))).toBe('keep\n');
  });

  it('a second call with the same options finds everything unchanged', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'a.txt': 'a\n', d: { 'b.txt': 'b\n' } });
    const dest = path.join(tmp(), 'dest');
    expect((await copy(src, dest)).filesCopied).toBe(2);
    const again = await copy(src, dest);
    expect(again).toMatchObject({ filesCopied: 0, filesSame: 2, failures: [], interrupted: false });
    expect(diffTrees(snapshot(src, { withRoot: true }), snapshot(dest, { withRoot: true }))).toEqual([]);
  });

  it.each([
    ['DEST inside SRC', (src: string) => path.join(src, 'inner', 'dest')],
    ['SRC missing', (src: string) => path.join(path.dirname(src), 'dest')],
  ])('a refusal (%s) rejects with a PcopyError of code PREFLIGHT and writes nothing', async (what, destOf) => {
    const src = path.join(tmp(), 'src');
    if (what === 'SRC missing') fs.mkdirSync(tmp(), { recursive: true });
    else build(src, { 'a.txt': 'a\n' });
    const before = snapshot(tmp(), { withRoot: false });
    const dest = destOf(src);
    const err = await copy(what === 'SRC missing' ? path.join(tmp(), 'nope') : src, dest).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PcopyError);
    expect(err).toBeInstanceOf(Error);
    expect((err as PcopyError).code).toBe('PREFLIGHT');
    expect((err as PcopyError).message.length).toBeGreaterThan(0);
    expect(fs.existsSync(dest)).toBe(false);
    expect(snapshot(tmp(), { withRoot: false })).toEqual(before);
  });

  it('takes SRC and DEST as Buffers; names that are not UTF-8 come back as strings osPath and displayPath turn back', async () => {
    const latin1 = (p: string): Buffer => Buffer.from(p, 'latin1');
    const src = latin1(path.join(tmp(), 's\xe9'));
    const dest = latin1(path.join(tmp(), 'd\xe9'));
    fs.mkdirSync(Buffer.concat([src, latin1('/r\xe9p')]), { recursive: true });
    fs.writeFileSync(Buffer.concat([src, latin1('/r\xe9p/caf\xe9')]), 'latin-1\n');
    const events: CopyEvent[] = [];
    const result = await copy(src, dest, { onEvent: (e) => events.push(e) });
    expect(result).toMatchObject({ filesCopied: 1, dirs: 2, failures: [] });
    expect(fs.readFileSync(Buffer.concat([dest, latin1('/r\xe9p/caf\xe9')]), 'utf8')).toBe('latin-1\n');
    const file = events.flatMap((e) => (e.type === 'entry-done' && e.kind === 'file' ? [e.path] : []));
    expect(file).toHaveLength(1);
    expect(osPath(file[0]!)).toEqual(latin1('r\xe9p/caf\xe9'));
    expect(displayPath(file[0]!)).toBe('r\\xe9p/caf\\xe9');
    expect(osPath(result.source)).toEqual(src);
  });

  it('an AbortSignal aborted mid-copy resolves with interrupted: true and leaves no temp files', async () => {
    // 10 ms after each 4 KiB chunk: 2.5 s a file, and the abort comes after the first 64 KiB.
    process.env.PCOPY_TEST_DELAY_MS = '10';
    const src = path.join(tmp(), 'src');
    for (let i = 0; i < 6; i++) writeFile(path.join(src, `d${i % 2}`, `f${i}.bin`), 1024 * 1024);
    const dest = path.join(tmp(), 'dest');
    const controller = new AbortController();
    let abortedAt = -1;
    const result = await copy(src, dest, {
      workers: 2,
      chunkSize: 4096,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.progress.bytesDone > 64 * 1024 && abortedAt < 0) {
          abortedAt = e.progress.bytesDone;
          controller.abort();
        }
      },
    });
    expect(abortedAt).toBeGreaterThan(0);
    expect(result.interrupted).toBe(true);
    expect(result.filesCopied).toBeLessThan(6);
    expect(findTemps(dest)).toEqual([]);
    // Whatever arrived is complete (atomic per file).
    for (const rel of listEntries(dest, { files: true })) expect(hashFile(path.join(dest, rel)), rel).toBe(hashFile(path.join(src, rel)));
  });
});

describe('copy(): bad input and throwing listeners', () => {
  it.each([
    ['exclude as a string', { exclude: '*.txt' }],
    ['an unknown overwrite mode', { overwrite: 'bogus' }],
    ['preserve as a word', { preserve: 'none' }],
    ['modifyWindow as a string', { modifyWindow: '2' }],
    ['dryRun as a string', { dryRun: 'yes' }],
    ['onEvent that is not a function', { onEvent: 5 }],
  ])('%s: rejects with a PcopyError before anything is written or forked', async (_name, options) => {
    const src = path.join(tmp(), 'src');
    build(src, { 'a.txt': 'a\n' });
    const dest = path.join(tmp(), 'dest');
    await expect(copy(src, dest, options as never)).rejects.toBeInstanceOf(PcopyError);
    expect(fs.existsSync(dest)).toBe(false);
    expect(workersOf(process.pid)).toEqual([]);
  });

  it('a source that is neither a string nor a Buffer is refused as a PcopyError', async () => {
    await expect(copy(42 as never, path.join(tmp(), 'dest'))).rejects.toBeInstanceOf(PcopyError);
  });

  it('a listener that throws stops the run: copy rejects with its error, no worker is left, no temp file', async () => {
    process.env.PCOPY_TEST_DELAY_MS = '2';
    const src = path.join(tmp(), 'src');
    for (let i = 0; i < 200; i++) writeFile(path.join(src, `d${i % 4}`, `f${i}`), 3000);
    const dest = path.join(tmp(), 'dest');
    let seen = 0;
    const boom = new Error('listener failed');
    await expect(
      copy(src, dest, {
        workers: 2,
        chunkSize: 1024,
        onEvent: (e) => {
          if (e.type === 'entry-done' && e.kind === 'file' && ++seen === 20) throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(workersOf(process.pid)).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
    // Whatever arrived is complete (atomic per file).
    for (const rel of listEntries(dest, { files: true })) expect(hashFile(path.join(dest, rel)), rel).toBe(hashFile(path.join(src, rel)));
  });
});

