/**
 * Acceptance rows A1–A4: what pcopy refuses before writing anything (exit 2, one clear line on
 * stderr, not a single entry created or changed), and what merely looks similar but must work.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, diffTrees, snapshot, tempDir, writeFile } from '../helpers/tree.js';
import { killStarted, runPcopy } from '../helpers/run.js';
import { lines } from '../helpers/output.js';

let work: string;

beforeEach(() => {
  work = tempDir('pcopy-acc-a-');
  // A small source tree: s/ with a file, a dotfile and a subdirectory; a file f; links to both.
  writeFile(path.join(work, 's/one.txt'), 1000);
  writeFile(path.join(work, 's/.hidden'), 10);
  writeFile(path.join(work, 's/sub/two.bin'), 5000);
  writeFile(path.join(work, 'f'), 3000);
  fs.symlinkSync('s', path.join(work, 's-link'));
  fs.symlinkSync('s/sub', path.join(work, 'sub-alias'));
  fs.symlinkSync('f', path.join(work, 'f-link'));
  fs.linkSync(path.join(work, 'f'), path.join(work, 'f-hard'));
  writeFile(path.join(work, 'plain-file'), 7);
});

afterEach(() => {
  killStarted();
  cleanup(work);
});

/** Runs pcopy in `work` and checks: exit 2, exactly one line on stderr, nothing on stdout, nothing changed. */
async function expectRefused(args: string[], fragment?: RegExp): Promise<string> {
  const before = snapshot(work, { withRoot: true });
  const r = await runPcopy(args, { cwd: work, timeoutMs: 20_000 });
  const after = snapshot(work, { withRoot: true });
  const why = `pcopy ${args.join(' ')}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`;
  expect(r.code, why).toBe(2);
  expect(lines(r.stderr), why).toHaveLength(1);
  expect(r.stderr, why).not.toMatch(/^\s+at /m); // one clear line, not a stack trace
  expect(r.stdout, why).toBe('');
  expect(diffTrees(before, after), `${why}\nsomething was created or changed`).toEqual([]);
  if (fragment) expect(r.stderr, why).toMatch(fragment);
  return r.stderr;
}

describe('A1 source and destination are the same: refused', () => {
  it.each([
    [['s', 's']],
    [['s', './s']],
    [['s', 's/']],
    [['./s/', 's']],
    [['s', 's/sub/..']],
    [['s', 's-link']],
    [['s-link', 's']],
    [['s-link/', './s-link']],
  ])('directory: pcopy %j', async (args) => {
    await expectRefused(args, /same/i);
  });

  it.each([
    [['f', 'f']],
    [['f', './f']],
    [['f', '.']],
    [['f', './']],
    [['f', 'f-link']],
    [['f-link', 'f']],
    [['f', 'f-hard']],
  ])('file: pcopy %j', async (args) => {
    await expectRefused(args, /same/i);
  });
});

describe('A2 destination inside the source: refused', () => {
  it.each([
    [['s', 's/sub']],
    [['s', 's/new']],
    [['s', 's/new/deeper/still']],
    [['s/', './s/sub/']],
    [['s', 's-link/x']],
    [['s-link', 's/x']],
    [['s', 'sub-alias']],
    [['s', 'sub-alias/y']],
    [['s', 'sub-alias/y/z']],
  ])('pcopy %j', async (args) => {
    await expectRefused(args, /into itself|inside/i);
  });
});

describe('A3 names that merely share a prefix are fine', () => {
  it('pcopy a ab: copies', async () => {
    writeFile(path.join(work, 'a/x'), 100);
    writeFile(path.join(work, 'a/deep/y'), 70_000);
    const r = await runPcopy(['a', 'ab'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(diffTrees(snapshot(path.join(work, 'a')), snapshot(path.join(work, 'ab')))).toEqual([]);
  });

  it('pcopy aa aaa/x: copies (aaa missing, then aaa existing)', async () => {
    writeFile(path.join(work, 'aa/file'), 2048);
    writeFile(path.join(work, 'aa/.dot'), 1);
    const r1 = await runPcopy(['aa', 'aaa/x'], { cwd: work });
    expect(r1.code, r1.stderr).toBe(0);
    expect(diffTrees(snapshot(path.join(work, 'aa')), snapshot(path.join(work, 'aaa/x')))).toEqual([]);
    const r2 = await runPcopy(['aa', 'aaa/y'], { cwd: work });
    expect(r2.code, r2.stderr).toBe(0);
    expect(diffTrees(snapshot(path.join(work, 'aa')), snapshot(path.join(work, 'aaa/y')))).toEqual([]);
  });

  it('pcopy s/sub s-sub and pcopy s s.bak: copies (siblings sharing a prefix)', async () => {
    const r1 = await runPcopy(['s/sub', 's-sub'], { cwd: work });
    expect(r1.code, r1.stderr).toBe(0);
    expect(diffTrees(snapshot(path.join(work, 's/sub')), snapshot(path.join(work, 's-sub')))).toEqual([]);
    const r2 = await runPcopy(['s', 's.bak'], { cwd: work });
    expect(r2.code, r2.stderr).toBe(0);
    expect(diffTrees(snapshot(path.join(work, 's')), snapshot(path.join(work, 's.bak')))).toEqual([]);
  });
});

describe('A4 bad arguments: refused', () => {
  it('a missing source', async () => {
    const err = await expectRefused(['nope', 'd'], /nope/);
    expect(err).toMatch(/does not exist|no such/i);
    expect(fs.existsSync(path.join(work, 'd'))).toBe(false);
  });

  it('a directory onto an existing non-directory', async () => {
    await expectRefused(['s', 'plain-file'], /plain-file/);
    expect(fs.readFileSync(path.join(work, 'plain-file'))).toHaveLength(7);
  });

  it('a directory below an existing non-directory', async () => {
    await expectRefused(['s', 'plain-file/x'], /plain-file/);
  });

  it('an unknown flag', async () => {
    await expectRefused(['--frobnicate', 's', 'd'], /--frobnicate/);
  });

  it('a missing DEST argument', async () => {
    await expectRefused(['s']);
  });

  it.each(['0', '1', '512', '1023', '65537', '65k', '128k', '1m', 'abc', '-1', '', '64q'])(
    '--chunk-size %j',
    async (size) => {
      await expectRefused(['--chunk-size', size, 's', 'd'], /chunk/i);
      expect(fs.existsSync(path.join(work, 'd'))).toBe(false);
    },
  );

  it.each(['1k', '1024', '64k', '65536', '64KiB'])('--chunk-size %j at the edges of 1–64 KiB is accepted', async (size) => {
    const r = await runPcopy(['--chunk-size', size, 's', 'd'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(diffTrees(snapshot(path.join(work, 's')), snapshot(path.join(work, 'd')))).toEqual([]);
  });
});
