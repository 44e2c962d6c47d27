/**
 * Features end to end: what pcopy prints — -n/--dry-run (and that it writes nothing), --json,
 * -v/--verbose and -q/--quiet.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, ino, inodes, listEntries, read, snapshot, tempPerTest, touch } from '../helpers/tree.js';
import { runPcopy, type RunResult } from '../helpers/run.js';
import { ESC, lines } from '../helpers/output.js';
import { NO_CAPS } from '../helpers/host.js';

const tmp = tempPerTest('pcopy-feat-out-');
const T0 = 1_600_000_000;

function pcopy(args: string[], prefix: string[] = []): Promise<RunResult> {
  return runPcopy(args, { cwd: tmp(), prefix });
}

/** src: a.txt (6 B), b.txt (4 B), sub/c.txt (2 B), sub/deeper/ (empty), link -> a.txt. */
function smallTree(): string {
  const src = path.join(tmp(), 'src');
  build(src, { 'a.txt': 'alpha\n', 'b.txt': 'bra\n', sub: { 'c.txt': 'c\n', deeper: {} } });
  fs.symlinkSync('a.txt', path.join(src, 'link'));
  for (const f of ['a.txt', 'b.txt', 'sub/c.txt']) touch(path.join(src, f), T0);
  return src;
}

/** Adds an unreadable file (read only without capabilities) and a FIFO to `src`. */
function addTroubles(src: string): void {
  fs.writeFileSync(path.join(src, 'locked.txt'), 'locked\n');
  fs.chmodSync(path.join(src, 'locked.txt'), 0o000);
  expect(spawnSync('mkfifo', [path.join(src, 'pipe')]).status).toBe(0);
}

describe('-n, --dry-run', () => {
  it('with DEST missing: lists what would be copied, prints a "nothing written" summary with totals, creates nothing', async () => {
    const src = smallTree();
    const dest = path.join(tmp(), 'out', 'dest');
    const before = snapshot(src, { withRoot: true });
    const r = await pcopy(['-n', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.slice(0, -1).sort()).toEqual(['copy      a.txt', 'copy      b.txt', 'copy      link', 'copy      sub/c.txt', 'create    sub/', 'create    sub/deeper/'].sort());
    expect(out.at(-1)).toBe(
      'pcopy: dry run, nothing written: 3 files would be copied, 0 unchanged, 3 directories, 1 symlink, 12 B to write of 12 B, 0 failed, 0 skipped',
    );
    expect(fs.existsSync(path.join(tmp(), 'out'))).toBe(false);
    expect(fs.readdirSync(tmp()).sort()).toEqual(['src']);
    expect(snapshot(src, { withRoot: true })).toEqual(before);
  });

  it('with DEST existing: copy/unchanged per entry, DEST unchanged (entries, inodes, mtimes, contents)', async () => {
    const src = smallTree();
    const dest = path.join(tmp(), 'dest');
    expect((await pcopy([src, dest])).code).toBe(0);
    fs.writeFileSync(path.join(src, 'a.txt'), 'alpha changed\n'); // new size and mtime
    fs.writeFileSync(path.join(src, 'new.txt'), 'new\n');
    const snap = snapshot(dest, { withRoot: true });
    const ino = inodes(dest);
    const names = listEntries(dest);

    const r = await pcopy(['--dry-run', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.slice(0, -1).sort()).toEqual(
      ['copy      a.txt', 'copy      new.txt', 'unchanged b.txt', 'unchanged link', 'unchanged sub/', 'unchanged sub/c.txt', 'unchanged sub/deeper/'].sort(),
    );
    expect(out.at(-1)).toBe(
      'pcopy: dry run, nothing written: 2 files would be copied, 2 unchanged, 3 directories, 1 symlink, 18 B to write of 24 B, 0 failed, 0 skipped',
    );
    expect(listEntries(dest)).toEqual(names);
    expect(inodes(dest)).toEqual(ino);
    expect(snapshot(dest, { withRoot: true })).toEqual(snap);
    expect(read(path.join(dest, 'a.txt'))).toBe('alpha\n');
  });

  it('-n -u lists a newer destination file as kept and still writes nothing', async () => {
    const src = smallTree();
    const dest = path.join(tmp(), 'dest');
    build(dest, { 'a.txt': 'edited in dest\n' });
    touch(path.join(dest, 'a.txt'), T0 + 100);
    const snap = snapshot(dest, { withRoot: true });
    const r = await pcopy(['-n', '-u', src, dest]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toContain('kept      a.txt');
    expect(lines(r.stdout)).toContain('copy      b.txt');
    expect(r.stdout).toMatch(/^pcopy: dry run, nothing written: 2 files would be copied, 0 unchanged, 1 kept, /m);
    expect(snapshot(dest, { withRoot: true })).toEqual(snap);
  });
});

describe('--json', () => {
  it('prints one JSON document (totals, failures with path/code/message, skipped, elapsedMs, options) and nothing else; no ESC codes', async () => {
    const src = smallTree();
    addTroubles(src);
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--json', '-j', '2', '--exclude', '*.tmp', src, dest], NO_CAPS);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      dryRun: false,
      filesCopied: 3,
      filesSame: 0,
      symlinks: 1,
      dirs: 3,
      bytesCopied: 12,
      interrupted: false,
      failures: [{ path: 'locked.txt', error: { code: 'EACCES', message: 'permission denied' } }],
      skipped: [{ path: 'pipe', reason: 'fifo' }],
      options: { workers: 2, exclude: ['*.tmp'], overwrite: 'quick-check', dryRun: false, preserve: { mode: true, times: true, owner: true } },
    });
    expect(typeof doc.elapsedMs).toBe('number');
    expect(doc.elapsedMs as number).toBeGreaterThan(0);
    expect(r.stdout.trim().startsWith('{')).toBe(true);
    expect(r.stdout.trim().endsWith('}')).toBe(true);
    expect(r.stdout).not.toContain(ESC);
    expect(r.stderr).not.toContain(ESC);
    // The failure is still named on stderr.
    expect(r.stderr).toMatch(/Cannot copy `[^`]*locked\.txt` to `[^`]*locked\.txt`: EACCES: permission denied/);
    expect(read(path.join(dest, 'sub', 'c.txt'))).toBe('c\n');
  });

  it('a clean run gives exit 0 and an empty failures list', async () => {
    const src = smallTree();
    const r = await pcopy(['--json', src, path.join(tmp(), 'dest')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { failures: unknown[]; skipped: unknown[]; filesCopied: number };
    expect(doc.failures).toEqual([]);
    expect(doc.skipped).toEqual([]);
    expect(doc.filesCopied).toBe(3);
  });
});

describe('-v and -q', () => {
  it('-v prints one stdout line per entry (directories before their contents) and the summary last', async () => {
    const src = smallTree();
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['-v', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toHaveLength(7);
    expect(out.slice(0, -1).sort()).toEqual(['copied    a.txt', 'copied    b.txt', 'copied    link', 'copied    sub/c.txt', 'created   sub/', 'created   sub/deeper/'].sort());
    expect(out.indexOf('created   sub/')).toBeLessThan(out.indexOf('copied    sub/c.txt'));
    expect(out.at(-1)).toMatch(/^pcopy: 3 files copied, 0 unchanged, 3 directories, 1 symlink, 12 B in .*, 0 failed, 0 skipped$/);

    const again = await pcopy(['--verbose', src, dest]);
    expect(lines(again.stdout).filter((l) => l.startsWith('unchanged '))).toHaveLength(6);
  });

  it('-q prints nothing on success', async () => {
    const src = smallTree();
    const r = await pcopy(['-q', src, path.join(tmp(), 'dest')]);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(read(path.join(tmp(), 'dest', 'sub', 'c.txt'))).toBe('c\n');
  });

  it('-q still prints errors on stderr (and only them), exit 1', async () => {
    const src = smallTree();
    addTroubles(src);
    const r = await pcopy(['--quiet', src, path.join(tmp(), 'dest')], NO_CAPS);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const err = lines(r.stderr);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^pcopy: Cannot copy `[^`]*locked\.txt` to `[^`]*locked\.txt`: EACCES: permission denied$/);
  });
});
