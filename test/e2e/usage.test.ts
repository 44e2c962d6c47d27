/**
 * Usage: what pcopy refuses before writing anything (exit 2, one clear line on stderr without
 * control codes, not a single entry created or changed) — the same source and destination, a
 * destination inside the source, bad arguments and conflicting flags — what merely looks similar
 * but must work, and --help / --version.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, diffTrees, snapshot, tempDir, writeFile } from '../helpers/tree.js';
import { killStarted, pcopyCommand, q, ROOT, runCommand, runPcopy } from '../helpers/run.js';
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
  expect(r.stderr, why).not.toContain('\x1b');
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

  it.each([
    [['--chunk-size', '1k']],
    [['--chunk-size', '1024']],
    [['--chunk-size', '64k']],
    [['--chunk-size', '65536']],
    [['--chunk-size', '64KiB']],
    [['-j', '1', '--chunk-size', '1k']],
    [['-j', '256', '--chunk-size', '64KiB']],
    [['--workers', '2', '--chunk-size', '65536']],
  ])('%j: values at the edges (chunks of 1–64 KiB, 1 or many workers) are accepted', async (flags) => {
    // -j 256 forks 256 workers even for this small tree: slow on a busy machine (40 s seen), not a hang.
    const r = await runPcopy([...flags, 's', 'd'], { cwd: work, timeoutMs: 150_000 });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    expect(diffTrees(snapshot(path.join(work, 's')), snapshot(path.join(work, 'd')))).toEqual([]);
  }, 180_000);
});

// Ported from the former core-cli table: refusals whose message must name the problem. Rows that
// repeated an A1–A4 case exactly (same arguments on the same tree) were dropped.
describe('refusal messages name the problem', () => {
  it.each([
    ['the same directory via a symlink with a trailing slash', ['s-link/', 's'], /^pcopy: .*same directory/],
    ['a file onto the directory that holds it', ['s/one.txt', 's'], /^pcopy: `s\/one\.txt` and `s\/one\.txt` are the same file\n$/],
    ['a file onto itself, both named as given', ['s/one.txt', './s/one.txt'], /^pcopy: `s\/one\.txt` and `\.\/s\/one\.txt` are the same file\n$/],
    ['DEST inside SRC', ['s', 's/sub/copy'], /^pcopy: cannot copy `s` into itself/],
    ['DEST inside SRC through a symlinked parent', ['s', 's-link/new/copy'], /^pcopy: cannot copy `s` into itself/],
    ['SRC inside DEST', ['s/sub', 's'], /^pcopy: .*source is inside the destination/],
    ['--chunk-size 100', ['--chunk-size', '100', 's', 'd'], /chunk.size.*'100'/i],
    ['--chunk-size nonsense', ['--chunk-size', 'lots', 's', 'd'], /'lots'/],
    ['-j 0', ['-j', '0', 's', 'd'], /worker.*'0'/i],
    ['-j 1.5', ['-j', '1.5', 's', 'd'], /'1\.5'/],
    ['too many arguments', ['s', 'd', 'extra'], /argument/],
  ])('%s', async (_name, args, pattern) => {
    await expectRefused(args, pattern);
  });
});

describe('a working directory deeper than PATH_MAX', () => {
  // realpath(3) of a relative SRC fails there with ENAMETOOLONG: a refusal (exit 2, one line), not
  // an internal error with a stack trace. (cp works there, by relative paths; pcopy does not.)
  it('refuses a relative SRC it cannot resolve, in one line, exit 2', async () => {
    const level = 'd'.repeat(250);
    const script = [
      `for i in $(seq 18); do mkdir ${level} && cd ${level} || exit 90; done`,
      'echo x > s',
      `${pcopyCommand(['s', 't'])} 2>"$ERR"; rc=$?`,
      `cd ${q(work)} && rm -rf ${level}`, // rm -rf goes by relative names; Node's rmSync would hit the limit
      'exit $rc',
    ].join('\n');
    const err = path.join(work, 'stderr.txt');
    const r = await runCommand('bash', ['-c', script], { cwd: work, extraEnv: { ERR: err } }); // dash's cd stops at PATH_MAX
    expect(r.code).toBe(2);
    expect(fs.readFileSync(err, 'utf8')).toBe('pcopy: cannot resolve `s`: ENAMETOOLONG: name too long\n');
  });
});

describe('conflicting choices are usage errors', () => {
  it.each([
    [['-I', '--ignore-existing']],
    [['-I', '-u']],
    [['--ignore-existing', '-u']],
    [['-u', '--ignore-existing']],
    [['-q', '-v']],
    [['--json', '-v']],
    [['-v', '--json']],
    [['--preserve', 'mode', '--no-preserve']],
    [['--no-preserve', '--preserve=mode']],
  ])('%j: refused', async (flags) => {
    await expectRefused([...flags, 's', 'd'], /cannot be used/);
  });

  it('`--no-preserve` as an operand after `--`, or as an option value, is no flag: not refused', async () => {
    const r = await runPcopy(['-q', '--preserve', 'mode', '--', 's', '--no-preserve'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(work, '--no-preserve', 'one.txt'))).toEqual(fs.readFileSync(path.join(work, 's', 'one.txt')));
    const v = await runPcopy(['-q', '--exclude', '--no-preserve', '--preserve', 'mode', 's', 'd'], { cwd: work });
    expect(v.code, v.stderr).toBe(0);
  });

  it.each([[''], [','], [' , ']])('--preserve %j (an empty list) is refused, not read as "keep nothing"', async (list) => {
    await expectRefused(['--preserve', list, 's', 'd'], /--preserve/);
  });
});

describe('--preserve given more than once', () => {
  it('adds the lists together, as cp does: mode from one, times from the other', async () => {
    fs.chmodSync(path.join(work, 's', 'one.txt'), 0o777);
    fs.utimesSync(path.join(work, 's', 'one.txt'), 978_307_200, 978_307_200); // 2001-01-01
    const r = await runPcopy(['-q', '--preserve', 'mode', '--preserve', 'times', 's', 'd'], { cwd: work, extraEnv: {} });
    expect(r.code, r.stderr).toBe(0);
    const st = fs.statSync(path.join(work, 'd', 'one.txt'));
    expect(st.mode & 0o7777).toBe(0o777);
    expect(st.mtimeMs).toBe(978_307_200_000);
  });
});

describe('a file SRC and how DEST is spelled', () => {
  it('DEST ending in a backslash is a file of that name; DEST ending in /. is a directory (made if missing)', async () => {
    expect((await runPcopy(['-q', 'f', 'e\\'], { cwd: work })).code).toBe(0);
    expect(fs.statSync(path.join(work, 'e\\')).isFile()).toBe(true);
    expect((await runPcopy(['-q', 'f', 'n/.'], { cwd: work })).code).toBe(0);
    expect(fs.statSync(path.join(work, 'n')).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(work, 'n', 'f'))).toEqual(fs.readFileSync(path.join(work, 'f')));
  });

  it('a symlink loop where the file goes is replaced, as a plain symlink there is (no internal error)', async () => {
    fs.mkdirSync(path.join(work, 'd'));
    fs.symlinkSync('f', path.join(work, 'd', 'f')); // d/f -> d/f: a loop
    const r = await runPcopy(['-q', 'f', 'd'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(fs.lstatSync(path.join(work, 'd', 'f')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(work, 'd', 'f'))).toEqual(fs.readFileSync(path.join(work, 'f')));
  });

  it('-v and -n name the file where it goes, not an empty name', async () => {
    fs.mkdirSync(path.join(work, 'into'));
    const v = await runPcopy(['-v', 'f', 'into'], { cwd: work });
    expect(v.code).toBe(0);
    expect(lines(v.stdout)[0]).toBe('copied    into/f');
    const n = await runPcopy(['-n', 'f', 'other'], { cwd: work });
    expect(lines(n.stdout)[0]).toBe('copy      other');
  });
});

describe('help and version', () => {
  it.each([['--help'], ['-h']])('%s exits 0 and explains the merge rule', async (flag) => {
    const r = await runPcopy([flag], { cwd: work });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Usage: pcopy \[options\] SRC DEST/);
    expect(r.stdout).toMatch(/merged into/);
    expect(r.stdout).toMatch(/no DEST\/SRC nesting/);
    expect(r.stdout).toMatch(/--chunk-size/);
    expect(r.stdout).toMatch(/Exit codes:/);
  });

  it.each([['--version'], ['-V']])('%s prints the version of package.json', async (flag) => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runPcopy([flag], { cwd: work });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.stderr).toBe('');
  });
});
