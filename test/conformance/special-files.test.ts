/**
 * Conformance: regular files whose size reads as 0 but which yield data, as in /proc and /sys
 * (issue 10, item 8). `cp` copies what reading returns; so does pcopy: it reads past the size only
 * when the size is 0, and accepts the copy when the end stat still shows size 0, the same inode and
 * the same mtime. The bytes read are counted (the bar's total grows by them; the summary counts
 * them). Such a copy never matches its source's size, so a rerun copies it again. Each case ports
 * the intent of a peer's test (GNU coreutils tests/cp); the origin is named at the case.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPolicy, copyRegularFile, type CopyContext } from '../../src/copy-file.js';
import { EntryFailure } from '../../src/errors.js';
import { sourceStatOf } from '../../src/metadata.js';
import { resolveOptions } from '../../src/options.js';
import { tempPerTest } from '../helpers/tree.js';
import { findTemps, runPcopy, type RunResult } from '../helpers/tree.js';
import { expectOk } from '../helpers/expect.js';

const work = tempPerTest('pcopy-conf-special-');
const OSTYPE = '/proc/sys/kernel/ostype';

function counting(): { ctx: CopyContext; counted: number[]; grown: number[] } {
  const counted: number[] = [];
  const grown: number[] = [];
  const policy = copyPolicy(resolveOptions(), process.getuid?.() === 0, 0o022);
  const ctx: CopyContext = { buffer: Buffer.alloc(1024), policy, yieldEveryChunk: false, uid: -1, gid: -1, onBytes: (n) => counted.push(n), onGrown: (n) => grown.push(n) };
  return { ctx, counted, grown };
}

describe('files of size 0 that read as data (/proc, /sys)', () => {
  /**
   * coreutils tests/cp/proc-zero-len.sh: `cp /proc/cpuinfo exp` made an empty file before
   * coreutils 6.9; the copy must be non-empty, as `cat` is. Here with a file whose content is fixed,
   * so the bytes themselves are compared. The summary counts the bytes read.
   */
  it(`${OSTYPE} (size 0) as SRC: the copy has what reading returns`, async () => {
    expect(fs.statSync(OSTYPE).size).toBe(0); // the premise
    const expected = fs.readFileSync(OSTYPE);
    expect(expected.length).toBeGreaterThan(0);
    const dest = path.join(work(), 'ostype');
    const r = await runPcopy(['--json', OSTYPE, dest]);
    expectOk(r);
    expect(fs.readFileSync(dest)).toEqual(expected);
    expect(JSON.parse(r.stdout)).toMatchObject({ filesCopied: 1, bytes: expected.length, bytesCopied: expected.length, failures: [] });
    expect(findTemps(work())).toEqual([]);
  });

  /**
   * coreutils tests/cp/proc-short-read.sh: before coreutils 7.3, cp copied at most 4 KiB of
   * /proc/cpuinfo. With 1 KiB chunks the file takes several reads here; the lines that vary between
   * two reads (MHz, BogoMIPS) are left out of the comparison, as there.
   */
  it('/proc/cpuinfo in 1 KiB chunks: all of it, not just the first read', async () => {
    const dest = path.join(work(), 'cpuinfo');
    expectOk(await runPcopy(['--chunk-size', '1k', '/proc/cpuinfo', dest]));
    const steady = (text: string): string => text.split('\n').filter((l) => !/MHz|bogomips/i.test(l)).join('\n');
    const copied = fs.readFileSync(dest, 'utf8');
    expect(copied.length).toBeGreaterThan(1024);
    expect(steady(copied)).toBe(steady(fs.readFileSync('/proc/cpuinfo', 'utf8')));
  });

  /**
   * The same inside a tree (several workers, the queued path): /proc/sys/kernel/random holds only
   * files of size 0 that read as one line each. Stable ones are compared exactly, the others by form.
   */
  it('a tree of /proc files (/proc/sys/kernel/random): every file has what reading returns', async () => {
    const src = '/proc/sys/kernel/random';
    const dest = path.join(work(), 'random');
    const r = await runPcopy(['-j', '2', '--json', src, dest]);
    expectOk(r);
    const names = fs.readdirSync(src).sort();
    expect(fs.readdirSync(dest).sort()).toEqual(names);
    for (const name of names) expect(fs.statSync(path.join(dest, name)).size, name).toBeGreaterThan(0);
    for (const name of ['boot_id', 'poolsize']) {
      expect(fs.readFileSync(path.join(dest, name), 'utf8'), name).toBe(fs.readFileSync(path.join(src, name), 'utf8'));
    }
    expect(fs.readFileSync(path.join(dest, 'uuid'), 'utf8')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/);
    expect(fs.readFileSync(path.join(dest, 'entropy_avail'), 'utf8')).toMatch(/^\d+\n$/);
    const total = names.reduce((n, name) => n + fs.statSync(path.join(dest, name)).size, 0);
    expect(JSON.parse(r.stdout)).toMatchObject({ filesCopied: names.length, bytesCopied: total });
  });

  /**
   * Issue 10: such files are exempt from the untouched-rerun rule: the copy's size never matches the
   * source's 0, so a rerun copies the file again (as `rsync -a` does too), and gets it right again.
   */
  it('a rerun copies it again: its size never matches', async () => {
    const dest = path.join(work(), 'ostype');
    expectOk(await runPcopy([OSTYPE, dest]));
    const again = await runPcopy([OSTYPE, dest]);
    expectOk(again);
    expect(again.stdout).toMatch(/1 file copied, 0 unchanged/);
    expect(fs.readFileSync(dest)).toEqual(fs.readFileSync(OSTYPE));
  });

  /** The bytes read past size 0 are reported as grown bytes, not as bytes of the sized file. */
  it('the copier reports the bytes read past size 0 apart, and accepts the unchanged end stat', () => {
    const { ctx, counted, grown } = counting();
    const st = sourceStatOf(fs.lstatSync(OSTYPE, { bigint: true }));
    const dest = path.join(work(), 'ostype');
    const gen = copyRegularFile(OSTYPE, dest, path.join(work(), '.tmp'), st, ctx);
    let r = gen.next();
    while (!r.done) r = gen.next();
    expect(r.value).toBe('copied');
    expect(counted).toEqual([]);
    expect(grown.reduce((a, b) => a + b, 0)).toBe(fs.readFileSync(OSTYPE).length);
    expect(fs.readFileSync(dest)).toEqual(fs.readFileSync(OSTYPE));
  });
});

describe('ordinary empty files', () => {
  /** An empty regular file is copied empty (one read returns nothing); nothing counted. */
  it('an empty file stays empty', async () => {
    const dir = work();
    fs.writeFileSync(path.join(dir, 'empty'), '');
    const r = await runPcopy(['--json', path.join(dir, 'empty'), path.join(dir, 'copy')]);
    expectOk(r);
    expect(fs.statSync(path.join(dir, 'copy')).size).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ filesCopied: 1, bytes: 0 });
  });

  /**
   * The end check still holds: a real file that was empty when sized but got data before the copy
   * reads that data, and its end stat no longer shows size 0: the source changed, nothing is kept.
   */
  it('an empty file that gets data during the copy: reported as changed, no copy, no temp', () => {
    const dir = work();
    const src = path.join(dir, 'grows');
    fs.writeFileSync(src, '');
    const st = sourceStatOf(fs.lstatSync(src, { bigint: true }));
    fs.appendFileSync(src, 'late data\n');
    const { ctx } = counting();
    const tmp = path.join(dir, '.tmp');
    const gen = copyRegularFile(src, path.join(dir, 'copy'), tmp, st, ctx);
    let failure: unknown;
    try {
      while (!gen.next().done);
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(EntryFailure);
    expect((failure as EntryFailure).error.code).toBe('CHANGED');
    expect(fs.existsSync(path.join(dir, 'copy'))).toBe(false);
    expect(fs.existsSync(tmp)).toBe(false);
  });
});
