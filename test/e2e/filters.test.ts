/**
 * Filters: --exclude, --include and --exclude-from on real trees (repeatable flags, unanchored and
 * anchored patterns, exclude over include, pruning, agreement with fast-glob), and -x, which leaves
 * out other file systems (a tmpfs mounted inside SRC in a private mount namespace).
 */
import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { describe, expect, it } from 'vitest';
import { build, hashFile, listEntries, read, srcDestPerTest } from '../helpers/tree.js';
import { pcopyCommand, q, runPcopy, type RunResult, runShell } from '../helpers/run.js';
import { NO_CAPS } from '../helpers/host.js';
import { expectOk, pcopyIn } from '../helpers/expect.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-filters-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

/** Runs pcopy with the test's temp directory as cwd. */
const pcopy = pcopyIn(tmp);

/** A project-like tree: logs, node_modules at several depths, names repeated at several depths. */
function projectTree(): string {
  const src = path.join(tmp(), 'src');
  build(src, {
    'top.txt': 'top\n',
    'app.log': 'log\n',
    '.env': 'X=1\n',
    'README.md': 'readme\n',
    node_modules: { 'dep.js': 'dep\n', inner: { 'index.js': 'i\n' } },
    sub: { 'x.txt': 'sub x\n', 'y.txt': 'sub y\n', 'top.txt': 'nested top\n', 'debug.log': 'log\n' },
    lib: {
      'main.js': 'main\n',
      node_modules: { 'nested-dep.js': 'nd\n' },
      sub: { 'x.txt': 'lib/sub x\n' },
      deep: { deeper: { 'trace.log': 'log\n', 'keep.txt': 'keep\n', node_modules: { 'z.js': 'z\n' } } },
    },
  });
  return src;
}

describe('--exclude', () => {
  it('is repeatable and never swallows SRC or DEST; a pattern without a slash matches at any depth', async () => {
    const src = projectTree();
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--exclude', 'node_modules', '--exclude', '*.log', src, dest]);
    expectOk(r);
    expect(listEntries(dest, { marks: true })).toEqual([
      '.env',
      'README.md',
      'lib/',
      'lib/deep/',
      'lib/deep/deeper/',
      'lib/deep/deeper/keep.txt',
      'lib/main.js',
      'lib/sub/',
      'lib/sub/x.txt',
      'sub/',
      'sub/top.txt',
      'sub/x.txt',
      'sub/y.txt',
      'top.txt',
    ]);
    expect(read(path.join(dest, 'lib/deep/deeper/keep.txt'))).toBe('keep\n');
  });

  it('--exclude=VALUE and --include=VALUE forms work too, and relative SRC/DEST after them', async () => {
    projectTree();
    const r = await pcopy(['--exclude=node_modules', '--include=*.txt', '--include=*.md', 'src', 'out/dest']);
    expectOk(r);
    expect(listEntries(path.join(tmp(), 'out', 'dest'), { files: true })).toEqual([
      'README.md',
      'lib/deep/deeper/keep.txt',
      'lib/sub/x.txt',
      'sub/top.txt',
      'sub/x.txt',
      'sub/y.txt',
      'top.txt',
    ]);
  });

  it('anchored patterns match only at that place: /top.txt at the root, sub/x.txt only under the top sub/', async () => {
    const src = projectTree();
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--exclude', '/top.txt', '--exclude', 'sub/x.txt', '--exclude', 'node_modules/', src, dest]);
    expectOk(r);
    const files = listEntries(dest, { files: true });
    expect(files).not.toContain('top.txt');
    expect(files).toContain('sub/top.txt');
    expect(files).not.toContain('sub/x.txt');
    expect(files).toContain('sub/y.txt');
    expect(files).toContain('lib/sub/x.txt');
    // A trailing slash is dropped: node_modules/ works as node_modules (at any depth).
    expect(files.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(files).toEqual(['.env', 'README.md', 'app.log', 'lib/deep/deeper/keep.txt', 'lib/deep/deeper/trace.log', 'lib/main.js', 'lib/sub/x.txt', 'sub/debug.log', 'sub/top.txt', 'sub/y.txt']);
  });

  it('an excluded directory is not walked into: an unreadable one excluded gives no error and exit 0', async () => {
    const src = projectTree();
    const secret = path.join(src, 'lib', 'secret');
    build(secret, { 'hidden.txt': 'h\n', inner: { 'more.txt': 'm\n' } });
    fs.chmodSync(secret, 0o000);
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--exclude', 'secret', src, dest], NO_CAPS);
    expectOk(r);
    expect(fs.existsSync(path.join(dest, 'lib', 'secret'))).toBe(false);
    expect(read(path.join(dest, 'lib', 'main.js'))).toBe('main\n');

    // Control: the same run without the exclude does meet the unreadable directory.
    const dest2 = path.join(tmp(), 'dest2');
    const r2 = await pcopy([src, dest2], NO_CAPS);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/secret.*EACCES/);
  });
});

describe('--include', () => {
  it('copies only matching entries, with the directories that hold them; --exclude wins over --include', async () => {
    const src = projectTree();
    build(src, { drafts: { 'wip.txt': 'wip\n' }, 'secret.txt': 's\n' });
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--include', '*.txt', '--exclude', 'secret.txt', '--exclude', 'drafts', src, dest]);
    expectOk(r);
    expect(listEntries(dest, { files: true })).toEqual(['lib/deep/deeper/keep.txt', 'lib/sub/x.txt', 'sub/top.txt', 'sub/x.txt', 'sub/y.txt', 'top.txt']);
    // Only the directories on the way to a match (no node_modules, no drafts).
    expect(listEntries(dest, { marks: true }).filter((e) => e.endsWith('/'))).toEqual(['lib/', 'lib/deep/', 'lib/deep/deeper/', 'lib/sub/', 'sub/']);
  });

  it("--include '*.js' --exclude vendor copies exactly the files fast-glob selects, with their parent directories", async () => {
    const src = path.join(tmp(), 'src');
    build(src, {
      'index.js': 'i\n',
      'index.ts': 't\n',
      '.eslintrc.js': 'e\n',
      'vendor.js': 'not the vendor dir\n',
      vendor: { 'jquery.js': 'jq\n', deep: { 'a.js': 'a\n' } },
      src: {
        'app.js': 'app\n',
        'app.css': 'css\n',
        vendor: { 'lodash.js': 'l\n' },
        components: { 'button.js': 'b\n', 'button.test.ts': 'bt\n', deeper: { 'x.js': 'x\n', 'x.json': '{}\n' } },
      },
      '.hidden': { 'h.js': 'h\n', vendor: { 'v.js': 'v\n' } },
      docs: { 'guide.md': 'g\n', images: { 'a.png': 'png' } },
      'lib.js': { 'inner.js': 'dir named like a js file\n', 'notes.txt': 'n\n' },
    });
    fs.chmodSync(path.join(src, 'src', 'components'), 0o750);
    fs.utimesSync(path.join(src, 'src', 'components', 'deeper'), 1_500_000_000, 1_500_000_000);
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--include', '*.js', '--exclude', 'vendor', src, dest]);
    expectOk(r);
    const expected = fg.sync(['**/*.js'], { cwd: src, dot: true, ignore: ['**/vendor'], onlyFiles: true }).sort();
    expect(expected.length).toBeGreaterThan(5);
    expect(listEntries(dest, { files: true })).toEqual(expected);
    for (const rel of expected) {
      expect(hashFile(path.join(dest, rel))).toBe(hashFile(path.join(src, rel)));
      for (let dir = path.dirname(rel); dir !== '.'; dir = path.dirname(dir)) {
        const [d, o] = [fs.lstatSync(path.join(dest, dir), { bigint: true }), fs.lstatSync(path.join(src, dir), { bigint: true })];
        expect(d.isDirectory(), dir).toBe(true);
        // Made with their source metadata.
        expect([d.mode, d.mtimeNs / 1000n], dir).toEqual([o.mode, o.mtimeNs / 1000n]);
      }
    }
    expect(fs.existsSync(path.join(dest, 'docs'))).toBe(false);
  });
});

describe('--exclude-from', () => {
  // Spaces in a line are part of its pattern, as rsync reads such a file (conformance/filters.test.ts).
  it('reads one pattern a line, ignoring blank lines (also of spaces) and # comments, also with CRLF', async () => {
    const src = projectTree();
    build(src, { '#keep.txt': 'a file whose name starts with #\n', build: { 'out.bin': 'o' }, sub: { build: { 'o.bin': 'o' } } });
    const list = path.join(tmp(), 'excludes.txt');
    fs.writeFileSync(list, ['# generated things', '', 'build', '*.log', '   ', '\r', '#keep.txt', '/README.md\r', '', '# end'].join('\n'));
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--exclude-from', list, '--exclude', 'node_modules', src, dest]);
    expectOk(r);
    expect(listEntries(dest, { files: true })).toEqual(['#keep.txt', '.env', 'lib/deep/deeper/keep.txt', 'lib/main.js', 'lib/sub/x.txt', 'sub/top.txt', 'sub/x.txt', 'sub/y.txt', 'top.txt']);
  });

  it('a missing --exclude-from file is a usage error (exit 2) and nothing is created', async () => {
    const src = projectTree();
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['--exclude-from', path.join(tmp(), 'nope.txt'), src, dest]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nope\.txt/);
    expect(fs.existsSync(dest)).toBe(false);
  });
});

describe('odd patterns and pattern files', () => {
  it("an --include with an empty segment ('a//x.txt') matches nothing, as in rsync: no internal error", async () => {
    const src = path.join(tmp(), 'src');
    build(src, { a: { 'x.txt': '1\n' } });
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['-q', '--include', 'a//x.txt', src, dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(listEntries(dest)).toEqual([]);
    const ex = await pcopy(['-q', '--exclude', 'a//x.txt', src, path.join(tmp(), 'all')]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(listEntries(path.join(tmp(), 'all'))).toEqual(['a', 'a/x.txt']);
  });

  it('--exclude-from lines may end with a lone CR too (as rsync reads them)', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { node_modules: { m: '1\n' }, b: { 'y.log': '2\n', k: '3\n' } });
    fs.writeFileSync(path.join(tmp(), 'cr.txt'), 'node_modules\r*.log\r');
    const dest = path.join(tmp(), 'dest');
    expectOk(await pcopy(['-q', '--exclude-from', path.join(tmp(), 'cr.txt'), src, dest]));
    expect(listEntries(dest)).toEqual(['b', 'b/k']);
  });

  it('-L with --include: a symlink loop in a directory the patterns do not select is not reported', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { d: {}, 'g.log': 'y\n' });
    fs.symlinkSync('..', path.join(src, 'd', 'up'));
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['-L', '--include', '*.log', src, dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(listEntries(dest)).toEqual(['g.log']);
    expect(r.stdout).toMatch(/0 skipped$/m);
  });
});

describe('-x, --one-file-system', () => {
  /** Mounts a tmpfs on SRC/mnt with a file and a directory in it, then runs pcopy, all in a private mount namespace. */
  function inNamespace(src: string, args: string[]): Promise<RunResult> {
    const mnt = path.join(src, 'mnt');
    const script = [
      `mount -t tmpfs -o size=1m tmpfs ${q(mnt)}`,
      `echo inner > ${q(path.join(mnt, 'inner.txt'))}`,
      `mkdir ${q(path.join(mnt, 'deep'))}`,
      `echo deeper > ${q(path.join(mnt, 'deep', 'd.txt'))}`,
      `exec ${pcopyCommand(args)}`,
    ].join(' && ');
    return runShell(`unshare -m sh -c ${q(script)}`, { cwd: tmp() });
  }

  function sourceTree(): string {
    const src = path.join(tmp(), 'src');
    build(src, { 'top.txt': 'top\n', keep: { 'k.txt': 'k\n' }, mnt: {} });
    return src;
  }

  it('with --include, a mount point the patterns do not select is not made, but reported: selected files may lie on it', async () => {
    const src = sourceTree();
    const dest = path.join(tmp(), 'dest');
    const r = await inNamespace(src, ['-x', '--include', 'keep/***', '--include', '*.txt', src, dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Skipped `[^`]*src\/mnt`: on another file system/);
    expect(listEntries(dest, { marks: true })).toEqual(['keep/', 'keep/k.txt', 'top.txt']);
  });

  it('creates a mount point inside SRC empty in DEST and reports it', async () => {
    const src = sourceTree();
    const dest = path.join(tmp(), 'dest');
    const r = await inNamespace(src, ['-x', src, dest]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Skipped `[^`]*src\/mnt`: on another file system/);
    expect(listEntries(dest, { marks: true })).toEqual(['keep/', 'keep/k.txt', 'mnt/', 'top.txt']);
    expect(r.stdout).toMatch(/1 skipped$/m);
  });

  it('without -x the other file system\'s contents are copied', async () => {
    const src = sourceTree();
    const dest = path.join(tmp(), 'dest');
    const r = await inNamespace(src, [src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(listEntries(dest, { marks: true })).toEqual(['keep/', 'keep/k.txt', 'mnt/', 'mnt/deep/', 'mnt/deep/d.txt', 'mnt/inner.txt', 'top.txt']);
    expect(read(path.join(dest, 'mnt', 'deep', 'd.txt'))).toBe('deeper\n');
    // The mount was private to the namespace: the real SRC/mnt is still empty.
    expect(fs.readdirSync(path.join(src, 'mnt'))).toEqual([]);
  });
});
