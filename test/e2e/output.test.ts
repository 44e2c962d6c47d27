/**
 * Output: what pcopy prints and where — the summary line (stdout) and messages (stderr) with no
 * control codes when they are not terminals, -n/--dry-run (and that it writes nothing), --json,
 * -v/--verbose, -q/--quiet, and a reader that goes away early (pipes closed).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, diffTrees, findTemps, ino, inodes, listEntries, makeTree, read, snapshot, srcDestPerTest, touch, writeFile } from '../helpers/tree.js';
import { BIN, pcopyCommand, runPcopy, type RunResult, runShell } from '../helpers/run.js';
import { clip, crashLines, ESC, failureLines, lines } from '../helpers/output.js';
import { canDropCaps, NO_CAPS, REASON, unavailable } from '../helpers/host.js';
import { expectSameTree, pcopyIn } from '../helpers/expect.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-output-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

/** Runs pcopy with the test's temp directory as cwd. */
const pcopy = pcopyIn(tmp);

const T0 = 1_600_000_000;

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

/** tmp/src with a few entries; a file next to it; a symlink to it. */
function setup(): void {
  const src = path.join(tmp(), 'src');
  writeFile(path.join(src, 'sub', 'a.bin'), 3000);
  writeFile(path.join(src, 'b.bin'), 10);
  fs.symlinkSync('b.bin', path.join(src, 'link'));
  fs.writeFileSync(path.join(tmp(), 'afile'), 'a file\n');
  fs.symlinkSync('src', path.join(tmp(), 'srclink'));
}

describe('output into a pipe', () => {
  it('a --json document, and stderr lines, larger than a pipe holds arrive whole through a slow reader', async () => {
    const src = path.join(tmp(), 'fifos');
    fs.mkdirSync(src);
    // 1,500 FIFOs: each skipped, each listed in the document, ~145 KB of JSON against 64 KiB of pipe.
    for (let i = 0; i < 1500; i++) expect(spawnSync('mkfifo', [path.join(src, `fifo-with-a-long-name-to-make-the-document-big-${i}`)]).status).toBe(0);
    const r = await runShell(`${pcopyCommand(['--json', src, path.join(tmp(), 'dest')])} 2>/dev/null | (sleep 0.5; cat)`);
    expect(r.stdout.length).toBeGreaterThan(128 * 1024);
    const doc = JSON.parse(r.stdout) as { skipped: unknown[] };
    expect(doc.skipped).toHaveLength(1500);
    // The same lines on stderr, one per FIFO (~150 KB), all through a slow reader.
    const err = await runShell(`${pcopyCommand([src, path.join(tmp(), 'dest2')])} 2>&1 >/dev/null | (sleep 0.5; cat)`);
    expect(err.stdout.split('\n').filter((l) => /^pcopy: Skipped `.*`: a FIFO/.test(l))).toHaveLength(1500);
  });
});

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

  it('an entry whose content is there and whose owner, mode or times differ: -n says fix (writing nothing), -v says fixed, then unchanged', async () => {
    const src = smallTree();
    const dest = path.join(tmp(), 'dest');
    expect((await pcopy([src, dest])).code).toBe(0);
    fs.chmodSync(path.join(dest, 'b.txt'), 0o600);
    fs.chownSync(path.join(dest, 'sub', 'c.txt'), 12, 12);
    // A file's other mtime is a change of content (the quick check): a link's is only its times.
    const t = fs.lstatSync(path.join(dest, 'link')).mtime;
    fs.lutimesSync(path.join(dest, 'link'), t, new Date(t.getTime() - 60_000));
    const snap = snapshot(dest, { withRoot: true });
    const fixes = ['b.txt', 'link', 'sub/c.txt'];
    const listed = (out: string, word: string): string[] => lines(out).filter((l) => l.startsWith(`${word} `)).map((l) => l.slice(10)).sort();

    const dry = await pcopy(['-n', src, dest]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(listed(dry.stdout, 'fix')).toEqual(fixes);
    expect(snapshot(dest, { withRoot: true })).toEqual(snap);

    const real = await pcopy(['-v', src, dest]);
    expect(real.code, real.stderr).toBe(0);
    expect(listed(real.stdout, 'fixed')).toEqual(fixes);
    expect(real.stdout).toMatch(/0 files copied, 3 unchanged/);
    expectSameTree(src, dest);

    const again = await pcopy(['-v', src, dest]);
    expect(listed(again.stdout, 'fixed')).toEqual([]);
    expect(listed(again.stdout, 'unchanged')).toEqual(['a.txt', 'b.txt', 'link', 'sub/', 'sub/c.txt', 'sub/deeper/']);
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

  it('-v lists files in the order they complete: with one worker, the walk\'s, unchanged and copied interleaved', async () => {
    const src = path.join(tmp(), 'src-order');
    for (let i = 0; i < 12; i++) writeFile(path.join(src, `f${String(i).padStart(2, '0')}`), 100 + i);
    const dest = path.join(tmp(), 'dest-order');
    expect((await pcopy(['-q', src, dest])).code).toBe(0);
    // Every other file changes, so a rerun keeps half and copies half (the reports then carry both kinds).
    for (let i = 1; i < 12; i += 2) writeFile(path.join(src, `f${String(i).padStart(2, '0')}`), 300 + i);
    const r = await pcopy(['-v', '-j', '1', src, dest]);
    expect(r.code, clip(r.stderr)).toBe(0);
    const listed = lines(r.stdout).filter((l) => / f\d\d$/.test(l));
    const walked = fs.readdirSync(src);
    expect(listed).toEqual(walked.map((name) => `${Number(name.slice(1)) % 2 ? 'copied   ' : 'unchanged'} ${name}`));
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

describe('without a terminal', () => {
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

  it('-q still reports failures on stderr (exit 1) but prints no summary', async () => {
    setup();
    fs.mkdirSync(path.join(tmp(), 'dest', 'b.bin', 'blocker'), { recursive: true });
    const r = await pcopy(['--quiet', 'src', 'dest']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('pcopy: Cannot copy `src/b.bin` to `dest/b.bin`: destination is a non-empty directory\n');
  });
});

describe('F5 stdout and stderr are not terminals', () => {
  it.skipIf(unavailable(!canDropCaps(), REASON.caps))('no bar control codes; the summary alone on stdout, errors and skips on stderr', async () => {
    writeFile(path.join(src, 'ok'), 100_000);
    writeFile(path.join(src, 'locked'), 10);
    fs.chmodSync(path.join(src, 'locked'), 0o000);
    spawnSync('mkfifo', [path.join(src, 'fifo')]);
    const r = await runPcopy([src, dest], { prefix: NO_CAPS });
    expect(r.code, clip(r.stderr)).toBe(1);
    for (const [name, text] of [
      ['stdout', r.stdout],
      ['stderr', r.stderr],
    ] as const) {
      expect(text.includes('\x1b'), `${name} has an escape sequence: ${JSON.stringify(text)}`).toBe(false);
      expect(text.includes('\r'), `${name} has a carriage return: ${JSON.stringify(text)}`).toBe(false);
    }
    expect(lines(r.stdout), r.stdout).toHaveLength(1);
    expect(r.stdout).toMatch(/^pcopy: .*1 file copied.*1 failed.*1 skipped/);
    expect(r.stdout).not.toMatch(/Cannot copy|Skipped/);
    expect(failureLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`\`${path.join(src, 'locked')}\``);
    expect(r.stderr).toMatch(/Skipped `[^`]*fifo`/);
  });
});

describe('F6 stdout closed early', () => {
  const makeTree = (): void => {
    for (let i = 0; i < 200; i++) writeFile(path.join(src, `d${i % 10}`, `f${i}`), 1000 + i);
    writeFile(path.join(src, 'big'), 3 * 1024 * 1024);
  };

  it.each([
    ['pcopy … | head -c 1', 'head -c 1 >/dev/null'],
    ['pcopy … | true (the reader is gone before pcopy writes)', 'true'],
  ])('%s: no crash trace, the copy complete', async (_name, reader) => {
    makeTree();
    const errFile = path.join(work, 'stderr.txt');
    const rcFile = path.join(work, 'rc.txt');
    const r = await runShell(`{ "$NODE" "$BIN" "$SRC" "$DEST" 2>"$ERR"; echo $? >"$RC"; } | ${reader}`, {
      extraEnv: { NODE: process.execPath, BIN, SRC: src, DEST: dest, ERR: errFile, RC: rcFile },
    });
    expect(r.code).toBe(0);
    const stderr = fs.readFileSync(errFile, 'utf8');
    expect(crashLines(stderr), stderr).toEqual([]);
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(fs.readFileSync(rcFile, 'utf8').trim(), stderr).toBe('0');
    expect(findTemps(dest)).toEqual([]);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });

  // Acceptance F6: a failing stdout (a full disk under `> log`) is no crash: the copy completes, and
  // the failure is told on stderr at the end with exit 1, as cp -v says "write error" and exits 1.
  it.each([
    ['-v', ['-v']],
    ['--json', ['--json']],
    ['the summary alone', []],
  ])('stdout on a full disk (/dev/full), %s: the copy complete, one message, exit 1', async (_what, args) => {
    makeTree();
    const r = await runShell(`${pcopyCommand([...args, src, dest])} >/dev/full`);
    expect(r.code, clip(r.stderr)).toBe(1);
    expect(r.stderr).toBe('pcopy: cannot write to standard output: ENOSPC: no space left on device\n');
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
  });

  it('stderr to a reader that goes away while messages are still coming: the copy complete, exit unchanged', async () => {
    makeTree();
    for (let i = 0; i < 300; i++) spawnSync('mkfifo', [path.join(src, `d${i % 10}`, `fifo-${i}`)]);
    const rcFile = path.join(work, 'rc.txt');
    await runShell(`{ "$NODE" "$BIN" "$SRC" "$DEST" 2>&1 >/dev/null; echo $? >"$RC"; } | head -c 1 >/dev/null`, {
      extraEnv: { NODE: process.execPath, BIN, SRC: src, DEST: dest, RC: rcFile },
    });
    expect(fs.readFileSync(rcFile, 'utf8').trim()).toBe('0');
    expect(findTemps(dest)).toEqual([]);
    const want = snapshot(src);
    for (const [rel, e] of want) if (e.type === 'other') want.delete(rel);
    expect(diffTrees(want, snapshot(dest))).toEqual([]);
  });
});
