/**
 * End to end: the command line's contract — refusals, help, version, output without a TTY, -q.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listEntries, tempPerTest, writeFile } from '../helpers/tree.js';
import { ROOT, runPcopy, type RunResult } from '../helpers/run.js';

const tmp = tempPerTest('pcopy-e2e-cli-');

function pcopy(args: string[]): Promise<RunResult> {
  return runPcopy(args, { cwd: tmp() });
}

/** tmp/src with a few entries; a file next to it; a symlink to it. */
function setup(): void {
  const src = path.join(tmp(), 'src');
  writeFile(path.join(src, 'sub', 'a.bin'), 3000);
  writeFile(path.join(src, 'b.bin'), 10);
  fs.symlinkSync('b.bin', path.join(src, 'link'));
  fs.writeFileSync(path.join(tmp(), 'afile'), 'a file\n');
  fs.symlinkSync('src', path.join(tmp(), 'srclink'));
}

describe('refusals: exit 2, one line on stderr, nothing created', () => {
  it.each([
    ['a missing SRC', ['missing', 'dest'], /^pcopy: source `missing` does not exist$/],
    ['the same directory via ./', ['src', './src'], /^pcopy: .*same directory/],
    ['the same directory via a trailing slash', ['src', 'src/'], /^pcopy: .*same directory/],
    ['the same directory via a symlink', ['src', 'srclink'], /^pcopy: .*same directory/],
    ['the same directory via a symlink, both ways', ['srclink/', 'src'], /^pcopy: .*same directory/],
    ['DEST inside SRC', ['src', 'src/sub/copy'], /^pcopy: cannot copy `src` into itself/],
    ['DEST inside SRC through a symlinked parent', ['src', 'srclink/new/copy'], /^pcopy: cannot copy `src` into itself/],
    ['SRC inside DEST', ['src/sub', 'src'], /^pcopy: .*source is inside the destination/],
    ['a directory onto a file', ['src', 'afile'], /^pcopy: .*not a directory/],
    ['a DEST below a file', ['src', 'afile/x'], /^pcopy: /],
    ['an unknown flag', ['--bogus', 'src', 'dest'], /unknown option '--bogus'/],
    ['--chunk-size 100', ['--chunk-size', '100', 'src', 'dest'], /chunk.size.*'100'/i],
    ['--chunk-size 65k', ['--chunk-size', '65k', 'src', 'dest'], /chunk.size.*'65k'/i],
    ['--chunk-size nonsense', ['--chunk-size', 'lots', 'src', 'dest'], /'lots'/],
    ['-j 0', ['-j', '0', 'src', 'dest'], /worker.*'0'/i],
    ['-j 1.5', ['-j', '1.5', 'src', 'dest'], /'1\.5'/],
    ['a missing DEST argument', ['src'], /DEST/],
    ['too many arguments', ['src', 'dest', 'extra'], /argument/],
  ])('%s', async (_name, args, pattern) => {
    setup();
    const before = listEntries(tmp());
    const r = await pcopy(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(pattern);
    expect(r.stderr).not.toContain('\x1b');
    expect(listEntries(tmp())).toEqual(before);
  });

  it('refuses a file onto itself, leaving it intact', async () => {
    setup();
    const before = fs.readFileSync(path.join(tmp(), 'src', 'b.bin'));
    const r = await pcopy(['src/b.bin', 'src']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pcopy: .*same file\n$/);
    expect(fs.readFileSync(path.join(tmp(), 'src', 'b.bin'))).toEqual(before);
  });
});

describe('help and version', () => {
  it.each([['--help'], ['-h']])('%s exits 0 and explains the merge rule', async (flag) => {
    const r = await pcopy([flag]);
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
    const r = await pcopy([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.stderr).toBe('');
  });
});

describe('output', () => {
  it('without a TTY: no control codes, and stdout is exactly one summary line', async () => {
    setup();
    const r = await pcopy(['src', 'dest']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).toMatch(/^pcopy: 2 files copied, 0 unchanged, 2 directories, 1 symlink, [^\n]* in [^\n]*, 0 failed, 0 [^\n]*skipped\n$/);
  });

  it('without a TTY: no control codes in stderr messages either (failure and skip)', async () => {
    setup();
    fs.mkdirSync(path.join(tmp(), 'dest', 'b.bin', 'blocker'), { recursive: true });
    expect(spawnSync('mkfifo', [path.join(tmp(), 'src', 'fifo')]).status).toBe(0);
    const r = await pcopy(['src', 'dest']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toHaveLength(2); // one line and its newline
    expect(r.stdout).toMatch(/^pcopy: 1 file copied, .*, 1 failed, 1 [^\n]*skipped\n$/);
    expect(r.stderr).toContain('pcopy: Cannot copy `src/b.bin` to `dest/b.bin`: destination is a non-empty directory\n');
    expect(r.stderr).toContain('pcopy: Skipped `src/fifo`: a FIFO');
    expect(r.stderr + r.stdout).not.toContain('\x1b');
  });

  it('-q prints nothing on success', async () => {
    setup();
    const r = await pcopy(['-q', 'src', 'dest']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    expect(fs.readFileSync(path.join(tmp(), 'dest', 'b.bin'))).toEqual(fs.readFileSync(path.join(tmp(), 'src', 'b.bin')));
  });

  it('-q still reports failures on stderr (exit 1) but prints no summary', async () => {
    setup();
    fs.mkdirSync(path.join(tmp(), 'dest', 'b.bin', 'blocker'), { recursive: true });
    const r = await pcopy(['--quiet', 'src', 'dest']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('pcopy: Cannot copy `src/b.bin` to `dest/b.bin`: destination is a non-empty directory\n');
  });

  it('accepts -j and --chunk-size values at the edges', async () => {
    setup();
    for (const args of [['-j', '1', '--chunk-size', '1k'], ['-j', '256', '--chunk-size', '64KiB'], ['--workers', '2', '--chunk-size', '65536']]) {
      const r = await pcopy([...args, 'src', `dest-${args.join('')}`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });
});
