import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPolicy, copyRegularFile, copySymlink, type CopyContext, type CopyOutcome, type ReadStart } from '../../src/copy-file.js';
import { EntryFailure } from '../../src/errors.js';
import { resolveOptions } from '../../src/options.js';
import { micros, sourceStatOf, type SourceStat } from '../../src/metadata.js';
import { hashFile, ino, sha256, tempPerTest, writeFile } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-copyfile-');
const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;

interface Ctx extends CopyContext {
  chunks: number[];
}

function context(chunkSize: number, yieldEveryChunk = false): Ctx {
  const chunks: number[] = [];
  return {
    buffer: Buffer.alloc(chunkSize),
    // Keep everything, replace what differs by size or mtime: the CLI's defaults.
    policy: copyPolicy(resolveOptions(), isRoot, 0o022),
    yieldEveryChunk,
    uid: process.geteuid?.() ?? -1,
    gid: process.getegid?.() ?? -1,
    chunks,
    onBytes: (n: number) => chunks.push(n),
    onGrown: (n: number) => chunks.push(n),
  } as Ctx;
}

function statOf(file: string): SourceStat {
  return sourceStatOf(fs.lstatSync(file, { bigint: true }));
}

/** Sets a file's mtime to the nanosecond (Node's utimes only takes microseconds). */
function touchNs(file: string, seconds: string): void {
  const r = spawnSync('touch', ['-m', '-d', `@${seconds}`, file]);
  if (r.status !== 0) throw new Error(`touch failed: ${r.stderr}`);
}

/** Drives the generator to completion; returns its result and how often it yielded. */
function drive(gen: Generator<void, CopyOutcome>): { outcome: CopyOutcome; yields: number } {
  let yields = 0;
  for (;;) {
    const r = gen.next();
    if (r.done) return { outcome: r.value, yields };
    yields++;
  }
}

function catchEntryFailure(fn: () => unknown): EntryFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EntryFailure);
    return err as EntryFailure;
  }
  throw new Error('expected an EntryFailure');
}

/** src file, dest dir and the paths of one copy job. */
function setup(size: number, mode = 0o640): { src: string; dest: string; tmpFile: string; data: Buffer; destDir: string } {
  const src = path.join(tmp(), 'src', 'data.bin');
  const data = writeFile(src, size, { mode });
  const destDir = path.join(tmp(), 'dest');
  fs.mkdirSync(destDir, { recursive: true });
  return { src, dest: path.join(destDir, 'data.bin'), tmpFile: path.join(destDir, '.pcopy-1-abc-0.tmp'), data, destDir };
}

describe('copyRegularFile copies byte-exact at chunk edges', () => {
  const cases: Array<[number, number]> = [];
  for (const c of [1024, 65536]) for (const size of [0, 1, c - 1, c, c + 1, 3 * MiB + 12_345]) cases.push([c, size]);
  const modes = [0o644, 0o600, 0o755, 0o444, 0o640, 0o700];

  it.each(cases)('chunk %i, size %i', (c, size) => {
    const mode = modes[size % modes.length]!;
    const { src, dest, tmpFile, data, destDir } = setup(size, mode);
    if (isRoot) fs.chownSync(src, 1234, 5678);
    touchNs(src, '1600000000.123456789');
    const st = statOf(src);
    expect(st.mtimeNs % 1000n).toBe(789n); // the source really has sub-microsecond time
    const ctx = context(c, true);

    const { outcome, yields } = drive(copyRegularFile(src, dest, tmpFile, st, ctx));

    expect(outcome).toBe('copied');
    const got = fs.lstatSync(dest, { bigint: true }); // before reading it: a read may move its atime
    expect(hashFile(dest)).toBe(sha256(data));
    expect(got.isFile()).toBe(true);
    expect(Number(got.size)).toBe(size);
    expect(Number(got.mode) & 0o7777).toBe(mode);
    expect(got.mtimeNs).toBe(1_600_000_000_123_456_000n);
    expect(micros(got.atimeNs)).toBe(micros(st.atimeNs));
    if (isRoot) expect([Number(got.uid), Number(got.gid)]).toEqual([1234, 5678]);
    expect(fs.existsSync(tmpFile)).toBe(false);
    expect(fs.readdirSync(destDir)).toEqual(['data.bin']);
    // onBytes: every byte reported once, never more than a chunk at a time
    expect(ctx.chunks.reduce((a, b) => a + b, 0)).toBe(size);
    expect(Math.max(0, ...ctx.chunks)).toBeLessThanOrEqual(c);
    if (size >= 2 * c) expect(yields).toBeGreaterThanOrEqual(2);
  });

  it('yields at least every MiB without yieldEveryChunk', () => {
    const { src, dest, tmpFile, data } = setup(3 * MiB + 1);
    const { outcome, yields } = drive(copyRegularFile(src, dest, tmpFile, statOf(src), context(65536, false)));
    expect(outcome).toBe('copied');
    expect(yields).toBeGreaterThanOrEqual(2);
    expect(hashFile(dest)).toBe(sha256(data));
  });

  it('keeps setuid and setgid bits', () => {
    const { src, dest, tmpFile } = setup(5000, 0o6755);
    drive(copyRegularFile(src, dest, tmpFile, statOf(src), context(1024)));
    expect(fs.lstatSync(dest).mode & 0o7777).toBe(0o6755);
  });
});

describe('copyRegularFile over an existing destination', () => {
  it('quick check: same size and mtime → "same", file not rewritten (same inode, same bytes)', () => {
    const { src, dest, tmpFile, destDir } = setup(10_000, 0o644);
    touchNs(src, '1500000000.000001999');
    // Same size, same mtime to the microsecond, different bytes: the quick check trusts size+mtime.
    const other = writeFile(dest, 10_000, { mode: 0o644 });
    touchNs(dest, '1500000000.000001000');
    const before = ino(dest);
    const gen = copyRegularFile(src, dest, tmpFile, statOf(src), context(1024, true));
    const first = gen.next();
    expect(first).toEqual({ done: true, value: 'same' });
    expect(ino(dest)).toBe(before);
    expect(hashFile(dest)).toBe(sha256(other));
    expect(fs.readdirSync(destDir)).toEqual(['data.bin']);
  });

  it('quick check fixes a differing mode in place', () => {
    const { src, dest, tmpFile } = setup(100, 0o755);
    fs.copyFileSync(src, dest);
    fs.chmodSync(dest, 0o600);
    const t = fs.lstatSync(src);
    fs.utimesSync(dest, t.atime, t.mtime);
    touchNs(src, '1400000000.5');
    touchNs(dest, '1400000000.5');
    const before = ino(dest);
    expect(drive(copyRegularFile(src, dest, tmpFile, statOf(src), context(1024))).outcome).toBe('fixed');
    expect(ino(dest)).toBe(before);
    expect(fs.lstatSync(dest).mode & 0o7777).toBe(0o755);
  });

  it.each([
    ['a different size', (dest: string) => writeFile(dest, 9_999)],
    ['the same size but another mtime', (dest: string) => {
      writeFile(dest, 10_000);
      fs.utimesSync(dest, 1_000_000, 1_000_000);
    }],
  ])('replaces a stale file with %s', (_how, makeStale) => {
    const { src, dest, tmpFile, data, destDir } = setup(10_000);
    makeStale(dest);
    const before = ino(dest);
    expect(drive(copyRegularFile(src, dest, tmpFile, statOf(src), context(4096))).outcome).toBe('copied');
    expect(hashFile(dest)).toBe(sha256(data));
    expect(ino(dest)).not.toBe(before);
    expect(fs.readdirSync(destDir)).toEqual(['data.bin']);
  });

  it('replaces a symlink at the destination without writing through it', () => {
    const { src, dest, tmpFile, data } = setup(3000);
    const outside = path.join(tmp(), 'outside.txt');
    fs.writeFileSync(outside, 'outside\n');
    fs.symlinkSync(outside, dest);
    expect(drive(copyRegularFile(src, dest, tmpFile, statOf(src), context(1024))).outcome).toBe('copied');
    expect(fs.lstatSync(dest).isFile()).toBe(true);
    expect(hashFile(dest)).toBe(sha256(data));
    expect(fs.readFileSync(outside, 'utf8')).toBe('outside\n');
  });

  it('replaces an empty directory at the destination', () => {
    const { src, dest, tmpFile, data } = setup(3000);
    fs.mkdirSync(dest);
    expect(drive(copyRegularFile(src, dest, tmpFile, statOf(src), context(1024))).outcome).toBe('copied');
    expect(hashFile(dest)).toBe(sha256(data));
  });

  it('refuses to replace a non-empty directory: NOT_EMPTY, directory and its contents kept, no temp', () => {
    const { src, dest, tmpFile, destDir } = setup(3000);
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'keep.txt'), 'keep');
    const err = catchEntryFailure(() => drive(copyRegularFile(src, dest, tmpFile, statOf(src), context(1024))));
    expect(err.error.code).toBe('NOT_EMPTY');
    expect(fs.readFileSync(path.join(dest, 'keep.txt'), 'utf8')).toBe('keep');
    expect(fs.readdirSync(destDir)).toEqual(['data.bin']);
  });
});

describe('copyRegularFile when the source changes', () => {
  it.each([
    ['grew', (src: string) => fs.appendFileSync(src, 'more')],
    ['shrank', (src: string) => fs.truncateSync(src, 100)],
    ['was modified in place (same size, new mtime)', (src: string) => {
      const fd = fs.openSync(src, 'r+');
      fs.writeSync(fd, Buffer.from('XXXX'), 0, 4, 10);
      fs.closeSync(fd);
      fs.utimesSync(src, 1_700_000_000, 1_700_000_000);
    }],
    ['was replaced by another file', (src: string) => {
      const other = `${src}.new`;
      fs.writeFileSync(other, fs.readFileSync(src));
      const t = fs.statSync(src);
      fs.utimesSync(other, t.atime, t.mtime);
      fs.renameSync(other, src);
    }],
  ])('since it was sized: it %s → CHANGED, no temp, no final file', (_how, change) => {
    const { src, dest, tmpFile, destDir } = setup(200_000);
    const st = statOf(src);
    change(src);
    const err = catchEntryFailure(() => drive(copyRegularFile(src, dest, tmpFile, st, context(1024))));
    expect(err.error.code).toBe('CHANGED');
    expect(fs.readdirSync(destDir)).toEqual([]);
  });

  it('while being copied (between chunks) → CHANGED, the old destination file kept intact', () => {
    const { src, dest, tmpFile, destDir } = setup(200_000);
    fs.writeFileSync(dest, 'previous copy');
    const st = statOf(src);
    const gen = copyRegularFile(src, dest, tmpFile, st, context(1024, true));
    expect(gen.next().done).toBe(false);
    expect(fs.existsSync(tmpFile)).toBe(true);
    fs.appendFileSync(src, 'appended while copying');
    const err = catchEntryFailure(() => {
      for (let r = gen.next(); !r.done; r = gen.next());
    });
    expect(err.error.code).toBe('CHANGED');
    expect(fs.readdirSync(destDir)).toEqual(['data.bin']);
    expect(fs.readFileSync(dest, 'utf8')).toBe('previous copy');
  });

  it('vanished since it was sized → ENOENT, nothing left', () => {
    const { src, dest, tmpFile, destDir } = setup(5000);
    const st = statOf(src);
    fs.unlinkSync(src);
    expect(() => drive(copyRegularFile(src, dest, tmpFile, st, context(1024)))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(fs.readdirSync(destDir)).toEqual([]);
  });
});

describe('copyRegularFile stopped midway', () => {
  it('return() mid-file removes the temp file and leaves no final file', () => {
    const { src, dest, tmpFile, destDir } = setup(100_000);
    const gen = copyRegularFile(src, dest, tmpFile, statOf(src), context(1024, true));
    for (let i = 0; i < 5; i++) expect(gen.next().done).toBe(false);
    expect(fs.statSync(tmpFile).size).toBe(5 * 1024);
    gen.return(undefined as never);
    expect(fs.readdirSync(destDir)).toEqual([]);
  });
});

describe('copySymlink', () => {
  it.each(['target.txt', '../elsewhere/x', '/etc/hostname', '.', 'does/not/exist'])('recreates a link to %j with the same target text and time', (target) => {
    const srcDir = path.join(tmp(), 's');
    const destDir = path.join(tmp(), 'd');
    fs.mkdirSync(srcDir);
    fs.mkdirSync(destDir);
    const src = path.join(srcDir, 'link');
    fs.symlinkSync(target, src);
    fs.lutimesSync(src, 1_200_000_000.5, 1_300_000_000.25);
    const dest = path.join(destDir, 'link');
    const tmpLink = path.join(destDir, '.pcopy-1-abc-1.tmp');
    expect(copySymlink(src, dest, tmpLink, statOf(src), context(1024))).toBe('copied');
    expect(fs.readlinkSync(dest)).toBe(target);
    expect(fs.lstatSync(dest, { bigint: true }).mtimeNs).toBe(1_300_000_000_250_000_000n);
    expect(fs.readdirSync(destDir)).toEqual(['link']);
    const before = ino(dest);
    expect(copySymlink(src, dest, tmpLink, statOf(src), context(1024))).toBe('same');
    expect(ino(dest)).toBe(before);
  });

  it('replaces a regular file and a link with another target', () => {
    const dir = tmp();
    fs.symlinkSync('new-target', path.join(dir, 'src-link'));
    fs.writeFileSync(path.join(dir, 'as-file'), 'x');
    fs.symlinkSync('old-target', path.join(dir, 'as-link'));
    const st = statOf(path.join(dir, 'src-link'));
    for (const name of ['as-file', 'as-link']) {
      expect(copySymlink(path.join(dir, 'src-link'), path.join(dir, name), path.join(dir, `.pcopy-1-abc-${name}.tmp`), st, context(1024))).toBe('copied');
      expect(fs.readlinkSync(path.join(dir, name))).toBe('new-target');
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['as-file', 'as-link', 'src-link']);
  });
});

describe('copyRegularFile with a read-ahead start', () => {
  /** What the worker's read-ahead hands over: the source open, its first chunk read. */
  function readStart(file: string, chunk: number): { start: ReadStart; released: () => number } {
    const fd = fs.openSync(file, 'r');
    const buffer = Buffer.alloc(chunk);
    let count = 0;
    const bytes = fs.readSync(fd, buffer, 0, chunk, null);
    return { start: { fd, buffer, bytes, release: () => count++ }, released: () => count };
  }
  const isOpen = (fd: number): boolean => {
    try {
      fs.fstatSync(fd);
      return true;
    } catch {
      return false;
    }
  };

  it('continues after the chunk read ahead, gives its buffer back once and closes its descriptor', () => {
    const src = path.join(tmp(), 'src.bin');
    const data = writeFile(src, 10_000);
    const { start, released } = readStart(src, 4096);
    const dest = path.join(tmp(), 'dest.bin');
    const { outcome } = drive(copyRegularFile(src, dest, `${dest}.tmp`, statOf(src), context(4096), true, start));
    expect(outcome).toBe('copied');
    expect(fs.readFileSync(dest)).toEqual(data);
    expect(released()).toBe(1);
    expect(isOpen(start.fd)).toBe(false);
  });

  it('gives the start back when the destination check fails before any copying (ENOTDIR)', () => {
    const src = path.join(tmp(), 'src.bin');
    writeFile(src, 10_000);
    fs.writeFileSync(path.join(tmp(), 'file'), 'x');
    const { start, released } = readStart(src, 4096);
    const dest = path.join(tmp(), 'file', 'dest.bin'); // a part of the path is a file
    expect(() => drive(copyRegularFile(src, dest, `${dest}.tmp`, statOf(src), context(4096), false, start))).toThrow(/ENOTDIR/);
    expect(released()).toBe(1);
    expect(isOpen(start.fd)).toBe(false);
  });

  it('gives the start back when the destination is already the same (nothing to copy)', () => {
    const src = path.join(tmp(), 'src.bin');
    writeFile(src, 10_000);
    const dest = path.join(tmp(), 'dest.bin');
    drive(copyRegularFile(src, dest, `${dest}.tmp`, statOf(src), context(4096), true));
    const { start, released } = readStart(src, 4096);
    const { outcome } = drive(copyRegularFile(src, dest, `${dest}.tmp`, statOf(src), context(4096), false, start));
    expect(outcome).toBe('same');
    expect(released()).toBe(1);
    expect(isOpen(start.fd)).toBe(false);
  });
});
