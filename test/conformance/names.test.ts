/**
 * Conformance: any file name is copied, as `cp -a` and `rsync -a` copy it (issue 10 item 6). A name
 * on Linux is bytes; one that is not UTF-8 (a Latin-1 archive's `caf\xe9`) must arrive byte for
 * byte, as a file, directory, symlink name or symlink target, hard-linked with -H, given as SRC or
 * DEST on the command line, matched by patterns, and shown escaped in messages and --json. Names
 * with line breaks must be matched by patterns and followed with -L, and a backslash in the path of
 * SRC is a byte like any other.
 *
 * Paths here are Latin-1 strings: each character is one byte (`'caf\xe9'` is the 4 bytes
 * 63 61 66 e9), turned into a Buffer for every fs call, so the test never depends on how pcopy
 * carries names. Arguments with such bytes go through bash's $'…' quoting, since Node would
 * write a JS string argument as UTF-8.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canMountImage, REASON, unavailable } from '../helpers/host.js';
import { BIN, cleanup, runPcopy, tempDir, type RunResult } from '../helpers/tree.js';

let tmp = '';
beforeEach(() => {
  tmp = tempDir('pcopy-conf-names-');
});
afterEach(() => cleanup(tmp));

/** A Latin-1 path string as the bytes it stands for. */
const B = (p: string): Buffer => Buffer.from(p, 'latin1');
const mkdir = (p: string): void => void fs.mkdirSync(B(p), { recursive: true });
/** Writes a file (its parents made first) with `content`'s bytes. */
const write = (p: string, content: string): void => {
  mkdir(path.dirname(p));
  fs.writeFileSync(B(p), B(content));
};
const symlink = (target: string, p: string): void => fs.symlinkSync(B(target), B(p));
const exists = (p: string): boolean => fs.existsSync(B(p));
const read = (p: string): string => fs.readFileSync(B(p), 'latin1');
const ino = (p: string): bigint => fs.lstatSync(B(p), { bigint: true }).ino;

/** coreutils init.cfg `bad_unicode`: invalid UTF-8 | an encoded lone surrogate | a C1 control | CESU-8 pair. */
const BAD_UNICODE = '\xff|\xed\xba\xad|\xc2\x89|\xed\xa6\xbf\xed\xbf\xbf';

interface Entry {
  type: string;
  mode: number;
  mtimeUs: bigint;
  uid: number;
  gid: number;
  hash?: string;
  target?: string;
}

/** Every entry below `root`, keyed by its relative path as Latin-1 (its exact bytes). Never follows links. */
function byteSnapshot(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const visit = (rel: string): void => {
    for (const name of fs.readdirSync(B(path.join(root, rel)), { encoding: 'latin1' })) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = B(path.join(root, r));
      const st = fs.lstatSync(abs, { bigint: true });
      const e: Entry = { type: 'other', mode: Number(st.mode & 0o7777n), mtimeUs: st.mtimeNs / 1000n, uid: Number(st.uid), gid: Number(st.gid) };
      if (st.isSymbolicLink()) Object.assign(e, { type: 'link', mode: 0, target: fs.readlinkSync(abs, { encoding: 'latin1' }) });
      else if (st.isFile()) Object.assign(e, { type: 'file', hash: createHash('sha256').update(fs.readFileSync(abs)).digest('hex') });
      else if (st.isDirectory()) e.type = 'dir';
      out.set(r, e);
      if (st.isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

/** Every name below `root`, as Latin-1 relative paths, sorted; directories end with `/`. */
function listTree(root: string): string[] {
  return [...byteSnapshot(root)].map(([rel, e]) => (e.type === 'dir' ? `${rel}/` : rel)).sort();
}

/** A Latin-1 string as a bash $'…' word: its exact bytes. */
function q(s: string): string {
  let out = "$'";
  for (const byte of B(s)) out += byte >= 0x20 && byte < 0x7f && byte !== 0x27 && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return `${out}'`;
}

/** Runs `node [nodeFlags] bin/pcopy.js args…` with byte-exact arguments, from `cwd` (Latin-1) if given. */
function runBytes(args: string[], options: { cwd?: string; nodeFlags?: string[] } = {}): Promise<RunResult> {
  const cd = options.cwd ? `cd ${q(options.cwd)} && ` : '';
  const script = `${cd}exec ${q(process.execPath)} ${(options.nodeFlags ?? []).join(' ')} ${q(BIN)} ${args.map(q).join(' ')}`;
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1') }),
    );
  });
}

/** A tree of Latin-1 names of every kind pcopy copies. */
function buildLatin1Tree(src: string): void {
  mkdir(`${src}/d\xe9p\xf4t/sous-r\xe9p`);
  write(`${src}/caf\xe9`, 'caf\xe9 latin-1\n');
  write(`${src}/d\xe9p\xf4t/na\xefve.txt`, 'inside\n');
  write(`${src}/d\xe9p\xf4t/sous-r\xe9p/\xe0 la`, 'deeper\n');
  write(`${src}/${BAD_UNICODE}`, 'bad unicode\n');
  write(`${src}/utf8-caf\xc3\xa9`, 'real UTF-8\n');
  // Symlink name and target both Latin-1; one dangling target of raw bytes.
  symlink('caf\xe9', `${src}/lien-\xe9`);
  symlink('../nulle-part-\xff\xfe', `${src}/d\xe9p\xf4t/pendant-\xe9`);
  // Hard links with Latin-1 names, one of them in a Latin-1 directory.
  write(`${src}/li\xe9-1`, 'linked\n');
  fs.linkSync(B(`${src}/li\xe9-1`), B(`${src}/li\xe9-2`));
  fs.linkSync(B(`${src}/li\xe9-1`), B(`${src}/d\xe9p\xf4t/li\xe9-3`));
  // mtimes in the past, so a copy that did not keep them shows.
  for (const p of [`caf\xe9`, `d\xe9p\xf4t/na\xefve.txt`, BAD_UNICODE]) fs.utimesSync(B(`${src}/${p}`), 1_000_000_000, 1_000_000_000);
}

describe('names that are not UTF-8', () => {
  // Intent of coreutils tests/cp/non-utf8-name.sh (a directory named with bad_unicode, copied) and of
  // rsync testsuite/hands_test.py (a full tree, then -H hard links, then a rerun), with such names.
  it('copies Latin-1 files, directories, symlink names and targets, and -H links byte for byte; a rerun writes nothing', async () => {
    const src = path.join(tmp, 'src');
    const dest = path.join(tmp, 'dest');
    buildLatin1Tree(src);

    const r = await runPcopy(['-H', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\b0 failed, 0 skipped/);
    expect(byteSnapshot(dest)).toEqual(byteSnapshot(src));
    expect(fs.readlinkSync(B(`${dest}/lien-\xe9`), { encoding: 'buffer' })).toEqual(B('caf\xe9'));
    expect(read(`${dest}/lien-\xe9`)).toBe('caf\xe9 latin-1\n'); // the link resolves in DEST
    expect(ino(`${dest}/li\xe9-2`)).toBe(ino(`${dest}/li\xe9-1`));
    expect(ino(`${dest}/d\xe9p\xf4t/li\xe9-3`)).toBe(ino(`${dest}/li\xe9-1`));
    // Never under a mangled name: no U+FFFD (EF BF BD) where the bytes were.
    for (const rel of listTree(dest)) expect(rel.includes('\xef\xbf\xbd'), rel).toBe(false);

    // Rerun: nothing copied, nothing written (same inodes, same ctimes).
    const ctimes = new Map([...byteSnapshot(dest).keys()].map((rel) => [rel, fs.lstatSync(B(`${dest}/${rel}`), { bigint: true }).ctimeNs]));
    const again = await runPcopy(['-H', src, dest]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/: 0 files copied, 8 unchanged, 3 directories, 2 symlinks\b/);
    expect(byteSnapshot(dest)).toEqual(byteSnapshot(src));
    for (const [rel, ctime] of ctimes) expect(fs.lstatSync(B(`${dest}/${rel}`), { bigint: true }).ctimeNs, rel).toBe(ctime);
  });

  it('takes SRC and DEST with such bytes on the command line, also behind node flags and from such a directory', async () => {
    const src = `${tmp}/source-\xe9t\xe9`;
    buildLatin1Tree(src);
    const want = byteSnapshot(src);

    // A directory SRC into a new DEST, both Latin-1 (node's own flags come before the script).
    const r1 = await runBytes([src, `${tmp}/copie-\xe9t\xe9`], { nodeFlags: ['--max-semi-space-size=4', '--no-warnings'] });
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    expect(byteSnapshot(`${tmp}/copie-\xe9t\xe9`)).toEqual(want);

    // coreutils tests/cp/non-utf8-name.sh: the contents of a bad_unicode directory, given as DIR/.
    mkdir(`${tmp}/${BAD_UNICODE}`);
    write(`${tmp}/${BAD_UNICODE}/file1`, '1');
    write(`${tmp}/${BAD_UNICODE}/file2`, '2');
    const r2 = await runBytes([`${tmp}/${BAD_UNICODE}/.`, `${tmp}/target`]);
    expect(r2.stderr).toBe('');
    expect(r2.code).toBe(0);
    expect(listTree(`${tmp}/target`)).toEqual(['file1', 'file2']);
    expect(exists(`${tmp}/${BAD_UNICODE}/file1`)).toBe(true);

    // One file SRC into an existing DEST directory: DEST/<its name>.
    const r3 = await runBytes([`${src}/caf\xe9`, `${tmp}/copie-\xe9t\xe9/`]);
    expect(r3.code, r3.stderr).toBe(0);
    expect(read(`${tmp}/copie-\xe9t\xe9/caf\xe9`)).toBe('caf\xe9 latin-1\n');

    // Relative SRC and a new, nested DEST, run from a directory whose own name is Latin-1.
    mkdir(`${tmp}/travail-\xe9`);
    const r4 = await runBytes([`../source-\xe9t\xe9`, `nouveau-\xe9/plus-\xe9`], { cwd: `${tmp}/travail-\xe9` });
    expect(r4.stderr).toBe('');
    expect(r4.code).toBe(0);
    expect(byteSnapshot(`${tmp}/travail-\xe9/nouveau-\xe9/plus-\xe9`)).toEqual(want);

    // A name that really holds U+FFFD (valid UTF-8 EF BF BD) is taken as it is.
    mkdir(`${tmp}/vrai-\xef\xbf\xbd`);
    write(`${tmp}/vrai-\xef\xbf\xbd/f`, 'f');
    const r5 = await runBytes([`${tmp}/vrai-\xef\xbf\xbd`, `${tmp}/vrai-copie`]);
    expect(r5.code, r5.stderr).toBe(0);
    expect(listTree(`${tmp}/vrai-copie`)).toEqual(['f']);
  });

  it('refuses a missing such SRC, naming it escaped', async () => {
    const r = await runBytes([`${tmp}/absent-\xe9`, `${tmp}/d`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`pcopy: source \`${tmp}/absent-\\xe9\` does not exist\n`);
    expect(exists(`${tmp}/d`)).toBe(false);
  });

  // rsync matches patterns against the name's bytes: `?` and `*` take a Latin-1 byte like any other.
  it('matches such names with --exclude, --include and --exclude-from', async () => {
    const src = `${tmp}/src`;
    for (const p of ['caf\xe9', 'caf\xe9.log', 'the', 'd\xe9p\xf4t/a', 'd\xe9p\xf4t/b.log', 'garde/x\xe9']) {
      mkdir(path.dirname(`${src}/${p}`));
      write(`${src}/${p}`, p);
    }
    const exclude = await runBytes(['--exclude', 'caf\xe9', `--exclude=d\xe9p\xf4t`, src, `${tmp}/d1`]);
    expect(exclude.stderr).toBe('');
    expect(exclude.code).toBe(0);
    expect(listTree(`${tmp}/d1`)).toEqual(['caf\xe9.log', 'garde/', 'garde/x\xe9', 'the']);

    const wildcard = await runBytes(['--exclude', 'caf?', '--exclude', '*\xe9', src, `${tmp}/d2`]);
    expect(wildcard.code, wildcard.stderr).toBe(0);
    expect(listTree(`${tmp}/d2`)).toEqual(['caf\xe9.log', 'd\xe9p\xf4t/', 'd\xe9p\xf4t/a', 'd\xe9p\xf4t/b.log', 'garde/', 'the']);

    const include = await runBytes(['--include', 'd\xe9p\xf4t/*.log', src, `${tmp}/d3`]);
    expect(include.code, include.stderr).toBe(0);
    expect(listTree(`${tmp}/d3`)).toEqual(['d\xe9p\xf4t/', 'd\xe9p\xf4t/b.log']);

    fs.writeFileSync(`${tmp}/patterns`, B('# Latin-1 patterns\ncaf\xe9*\nx\xe9\n'));
    const from = await runPcopy(['--exclude-from', `${tmp}/patterns`, src, `${tmp}/d4`]);
    expect(from.code, from.stderr).toBe(0);
    expect(listTree(`${tmp}/d4`)).toEqual(['d\xe9p\xf4t/', 'd\xe9p\xf4t/a', 'd\xe9p\xf4t/b.log', 'garde/', 'the']);
  });

  it('--json gives such paths escaped, with their exact bytes in base64 beside them', async () => {
    const src = `${tmp}/s\xe9`;
    const dest = `${tmp}/d`;
    write(`${src}/caf\xe9`, 'file in SRC');
    write(`${src}/plain`, 'plain');
    expect(fs.mkdirSync(B(`${dest}/caf\xe9`), { recursive: true })).toBeDefined();
    write(`${dest}/caf\xe9/keep`, 'a non-empty directory where SRC has a file: never deleted');
    const fifo = await runBytesCommand(`mkfifo ${q(`${src}/tube-\xe9`)} ${q(`${src}/tube`)}`);
    expect(fifo).toBe(0);

    const r = await runBytes(['--json', src, dest]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & {
      failures: Array<{ path: string; pathBytes?: string; error: { code: string } }>;
      skipped: Array<{ path: string; pathBytes?: string; reason: string }>;
    };
    expect(doc.source).toBe(`${tmp}/s\\xe9`);
    expect(Buffer.from(doc.sourceBytes as string, 'base64')).toEqual(B(src));
    expect(doc.destination).toBe(dest);
    expect(doc).not.toHaveProperty('destinationBytes');
    expect(doc.failures).toEqual([{ path: 'caf\\xe9', pathBytes: B('caf\xe9').toString('base64'), error: expect.objectContaining({ code: 'NOT_EMPTY' }) }]);
    const skipped = [...doc.skipped].sort((a, b) => a.path.localeCompare(b.path));
    expect(skipped).toEqual([
      { path: 'tube', reason: 'fifo' },
      { path: 'tube-\\xe9', pathBytes: B('tube-\xe9').toString('base64'), reason: 'fifo' },
    ]);
    expect(r.stderr).toContain(`Cannot copy \`${tmp}/s\\xe9/caf\\xe9\` to \`${dest}/caf\\xe9\``);
    expect(read(`${dest}/plain`)).toBe('plain');
  });

  // rsync testsuite/log-control-chars_test.py (C0 ESC and C1 CSI in names are escaped where rsync
  // prints names) and output-options_test.py (a high-bit byte is shown as an escape by default).
  it('shows stray bytes and control characters escaped in messages, and still copies the names', async () => {
    const src = `${tmp}/src`;
    write(`${src}/c0_\x1b_esc`, 'esc');
    write(`${src}/c1_\x9b_csi`, 'csi');
    write(`${src}/hi\xf9name`, 'high bit');
    const r = await runPcopy(['-v', src, `${tmp}/dest`]);
    expect(r.code, r.stderr).toBe(0);
    const out = Buffer.from(r.stdout, 'utf8');
    expect(out.includes(0x1b)).toBe(false);
    expect(out.includes(B('\x9b'))).toBe(false);
    expect(r.stdout).toContain('copied    c0_\\x1b_esc\n');
    expect(r.stdout).toContain('copied    c1_\\x9b_csi\n');
    expect(r.stdout).toContain('copied    hi\\xf9name\n');
    expect(listTree(`${tmp}/dest`)).toEqual(['c0_\x1b_esc', 'c1_\x9b_csi', 'hi\xf9name']);
  });
});

describe('names with line breaks', () => {
  // A name may hold any byte but `/` and NUL; rsync's wildcards match a line break like any character.
  it('are matched by patterns like any other name', async () => {
    const src = `${tmp}/src`;
    for (const p of ['a\nb.log', 'a\nb.txt', 'line\nbreak/inner\xe9.log', 'line\nbreak/keep', 'plain.log']) {
      mkdir(path.dirname(`${src}/${p}`));
      write(`${src}/${p}`, p);
    }
    const r1 = await runPcopy(['--exclude', '*.log', src, `${tmp}/d1`]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(listTree(`${tmp}/d1`)).toEqual(['a\nb.txt', 'line\nbreak/', 'line\nbreak/keep']);
    const r2 = await runPcopy(['--exclude', 'a?b.*', '--exclude', 'line*break/keep', src, `${tmp}/d2`]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(listTree(`${tmp}/d2`)).toEqual(['line\nbreak/', 'line\nbreak/inner\xe9.log', 'plain.log']);
    const r3 = await runPcopy(['--include', 'line?break/**', src, `${tmp}/d3`]);
    expect(r3.code, r3.stderr).toBe(0);
    expect(listTree(`${tmp}/d3`)).toEqual(['line\nbreak/', 'line\nbreak/inner\xe9.log', 'line\nbreak/keep']);
  });

  // Intent of coreutils tests/cp/cp-deref.sh and rsync's -L (--copy-links) runs: what links point
  // to is copied; a link back to an ancestor is not walked again (B3: loops finish).
  it('-L follows links named so and links inside directories named so, with the loop and destination guards', async () => {
    const src = `${tmp}/src`;
    const outside = `${tmp}/outside`;
    write(`${outside}/f\xe9`, 'outside file');
    write(`${outside}/sub/g`, 'outside sub');
    write(`${src}/real\ndir/inner`, 'inner');
    symlink('../outside', `${src}/to\nother`); // a line-break name to a directory
    symlink('../../outside', `${src}/real\ndir/o\xe9`); // a byte name inside a line-break directory
    symlink('.', `${src}/real\ndir/loop\n`); // a loop, named with a line break
    symlink('inner', `${src}/real\ndir/to-inner\n`); // a link to a file
    symlink('nowhere', `${src}/dang\nling`); // dangling: a failure with -L, as with any name
    symlink('../dest', `${src}/into\ndest`); // the destination itself
    symlink('../outside', `${src}/lien-\xe9`); // a byte name in the main walk (fast-glob's stat of a link)
    const dest = `${tmp}/dest`;

    const r = await runPcopy(['-L', src, dest]);
    expect(r.code).toBe(1);
    // Directories not walked into (the loop, the link to DEST) are still made, empty, as in the main walk.
    expect(listTree(dest)).toEqual([
      'into\ndest/',
      'lien-\xe9/',
      'lien-\xe9/f\xe9',
      'lien-\xe9/sub/',
      'lien-\xe9/sub/g',
      'real\ndir/',
      'real\ndir/inner',
      'real\ndir/loop\n/',
      'real\ndir/o\xe9/',
      'real\ndir/o\xe9/f\xe9',
      'real\ndir/o\xe9/sub/',
      'real\ndir/o\xe9/sub/g',
      'real\ndir/to-inner\n',
      'to\nother/',
      'to\nother/f\xe9',
      'to\nother/sub/',
      'to\nother/sub/g',
    ]);
    for (const rel of ['lien-\xe9', 'real\ndir/o\xe9', 'to\nother', 'real\ndir/loop\n']) expect(byteSnapshot(dest).get(rel)?.type, rel).toBe('dir');
    expect(byteSnapshot(dest).get('real\ndir/to-inner\n')?.type).toBe('file');
    expect(read(`${dest}/real\ndir/to-inner\n`)).toBe('inner');
    expect(read(`${dest}/to\nother/f\xe9`)).toBe('outside file');
    // Messages name them escaped, one line each.
    const lines = r.stderr.trimEnd().split('\n').sort();
    expect(lines).toEqual([
      `pcopy: Cannot copy \`${src}/dang\\x0aling\` to \`${dest}/dang\\x0aling\`: ENOENT: symlink has no referent (-L)`,
      `pcopy: Skipped \`${src}/into\\x0adest\`: it is the destination (not descended into)`,
      `pcopy: Skipped \`${src}/real\\x0adir/loop\\x0a\`: a symlink loop: its contents are already being copied (not descended into)`,
    ]);
  });
});

describe('on a file system that gives no entry types', () => {
  // ext4 without its `filetype` feature (as XFS with ftype=0 and some network file systems) lists
  // names without types: Node then lstats each entry by a path rebuilt from its name, which must
  // still be its bytes. Such a listing once failed whole: "vanished since the scan", nothing copied.
  const imageWorks = canMountImage();
  it.skipIf(unavailable(!imageWorks, REASON.image))('copies Latin-1 names, line-break names, directories and symlinks from it', async () => {
    const tree = `${tmp}/tree`;
    buildLatin1Tree(tree);
    write(`${tree}/line\nbreak\xe9/inner\xe9`, 'walked by pcopy itself');
    const img = `${tmp}/untyped.img`;
    const made = spawnSync('mkfs.ext4', ['-q', '-O', '^filetype', '-d', tree, '-F', img, '8M'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const features = spawnSync('dumpe2fs', ['-h', img], { encoding: 'utf8' }).stdout.match(/^Filesystem features:(.*)$/m)?.[1];
    expect(features?.split(/\s+/)).not.toContain('filetype');
    const mnt = `${tmp}/mnt`;
    mkdir(mnt);
    const dest = `${tmp}/dest`;
    const r = await runPcopy([mnt, dest], {
      prefix: ['unshare', '-m', 'sh', '-c', 'mount -o loop,ro "$IMG" "$MNT" && exec "$0" "$@"'],
      extraEnv: { IMG: img, MNT: mnt },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const want = listTree(tree).filter((rel) => rel !== 'lost+found/');
    expect(listTree(dest).filter((rel) => rel !== 'lost+found/')).toEqual(want);
    expect(read(`${dest}/caf\xe9`)).toBe('caf\xe9 latin-1\n');
    expect(read(`${dest}/line\nbreak\xe9/inner\xe9`)).toBe('walked by pcopy itself');
    expect(fs.readlinkSync(B(`${dest}/lien-\xe9`), 'latin1')).toBe('caf\xe9');
  });
});

describe('a backslash in the path of SRC', () => {
  // A backslash is a byte like any other in a Linux name, also in the directories above SRC.
  // fast-glob's walker reads it as a separator in its root; a directory with `/` in its place
  // exists here too, and must not be what is copied.
  it('is copied from that path, with and without -L', async () => {
    const src = `${tmp}/back\\slash`;
    write(`${src}/f`, 'from the backslash tree');
    write(`${src}/sub/g`, 'deeper');
    symlink('sub', `${src}/to-sub`);
    write(`${tmp}/back/slash/decoy`, 'not this one');
    const r1 = await runPcopy([src, `${tmp}/d1`]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stderr).toBe('');
    expect(listTree(`${tmp}/d1`)).toEqual(['f', 'sub/', 'sub/g', 'to-sub']);
    expect(read(`${tmp}/d1/sub/g`)).toBe('deeper');
    expect(fs.readlinkSync(`${tmp}/d1/to-sub`)).toBe('sub');
    const r2 = await runPcopy(['-L', src, `${tmp}/d2`]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(listTree(`${tmp}/d2`)).toEqual(['f', 'sub/', 'sub/g', 'to-sub/', 'to-sub/g']);
    expect(read(`${tmp}/d2/f`)).toBe('from the backslash tree');
  });
});

/** Runs a bash command line (for tools given byte-exact names); resolves to its exit code. */
function runBytesCommand(script: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}
