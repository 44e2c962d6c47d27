/**
 * Conformance: what the command line says (issue 10, "Also"): the usage without arguments, the
 * summary of a resume, and the package metadata. Origins are named at each case.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, ROOT, runPcopy, tempDir } from '../helpers/tree.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});
function work(): string {
  const d = tempDir('pcopy-conf-cli-');
  dirs.push(d);
  return d;
}

describe('usage errors', () => {
  /**
   * GNU cp with no operand: "cp: missing file operand" and "Try 'cp --help' for more information.",
   * a usage failure. pcopy: the usage line, what it does, where the options are; exit 2 as for any
   * usage error (commander alone printed one "error: missing required argument" line).
   */
  it('no arguments: the usage and a pointer to --help on stderr, exit 2, nothing on stdout', async () => {
    const r = await runPcopy([], { cwd: work() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'Usage: pcopy [options] SRC DEST\n' +
        'Copy a folder tree (or one file) exactly and atomically, in parallel, with a live progress bar.\n' +
        'Run `pcopy --help` for the options and examples.\n',
    );
  });

  /** cp with one operand: "missing destination file operand after 'a'", a usage failure. */
  it('one argument: names the missing DEST, exit 2, creates nothing', async () => {
    const cwd = work();
    fs.writeFileSync(path.join(cwd, 'a'), 'a\n');
    const r = await runPcopy(['a'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/DEST/);
    expect(fs.readdirSync(cwd)).toEqual(['a']);
  });
});

describe('the summary of a resume', () => {
  /**
   * rsync's --stats gives "Total file size" apart from "Total transferred file size", and its rate is
   * over what was sent. A pcopy resume that found most bytes in place said "4.3 GiB in 4.65 s
   * (951 MiB/s)": the rate must be over what was written, and the rest said to be already there.
   */
  it('gives the bytes written with their rate, and the bytes already there apart', async () => {
    const base = work();
    const src = path.join(base, 'src');
    const dest = path.join(base, 'dest');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(1024 * 1024, 1));
    fs.writeFileSync(path.join(src, 'd/small.txt'), 'x'.repeat(512));

    const first = await runPcopy([src, dest]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^pcopy: 2 files copied, 0 unchanged, 2 directories, 0 symlinks, 1\.0 MiB in [^,]+ \([^)]+\/s\), 0 failed, 0 skipped\n$/);

    fs.writeFileSync(path.join(src, 'd/new.txt'), 'y'.repeat(3 * 1024));
    const resume = await runPcopy([src, dest]);
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stdout).toMatch(
      /^pcopy: 1 file copied, 2 unchanged, 2 directories, 0 symlinks, 3\.0 KiB in [^,]+ \([^)]+\/s\), 1\.0 MiB already there, 0 failed, 0 skipped\n$/,
    );

    const json = await runPcopy(['--json', src, dest]);
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as { bytes: number; bytesCopied: number; filesSame: number };
    expect([doc.bytes, doc.bytesCopied, doc.filesSame]).toEqual([1024 * 1024 + 512 + 3 * 1024, 0, 3]);
  });

  /** A dry run keeps saying what it would write of the total (rsync -n --stats: transferred vs total). */
  it('a dry run says what it would write of the total', async () => {
    const base = work();
    const src = path.join(base, 'src');
    const dest = path.join(base, 'dest');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a'), 'a'.repeat(2048));
    expect((await runPcopy(['-q', src, dest])).code).toBe(0);
    fs.writeFileSync(path.join(src, 'b'), 'b'.repeat(1024));
    const r = await runPcopy(['-n', src, dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
      'pcopy: dry run, nothing written: 1 file would be copied, 1 unchanged, 1 directory, 0 symlinks, 1.0 KiB to write of 3.0 KiB, 0 failed, 0 skipped',
    );
  });
});

describe('package metadata', () => {
  /** npm shows `repository` on the registry page and in `npm repo`: a placeholder URL misleads. */
  it('names no placeholder repository', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.repository).toBeUndefined();
    expect(JSON.stringify(pkg)).not.toMatch(/example\.(invalid|com|org)/);
  });
});
