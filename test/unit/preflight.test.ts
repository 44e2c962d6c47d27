import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PcopyError } from '../../src/errors.js';
import { isInside, resolveTarget, shownFileDestination } from '../../src/preflight.js';
import { listEntries, tempPerTest } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-plan-');

function preflightError(src: string, dest: string): PcopyError {
  try {
    resolveTarget(src, dest);
  } catch (err) {
    expect(err).toBeInstanceOf(PcopyError);
    expect((err as PcopyError).code).toBe('PREFLIGHT');
    return err as PcopyError;
  }
  throw new Error(`expected resolveTarget(${src}, ${dest}) to refuse`);
}

/** tmp/src with a file and a subdirectory, returns its path. */
function makeSrc(name = 'src'): string {
  const src = path.join(tmp(), name);
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'file.txt'), 'hello\n');
  return src;
}

describe('isInside', () => {
  it.each([
    ['/a/b', '/a', true],
    ['/a/b/c', '/a', true],
    ['/a/b', '/a/', true],
    ['/x', '/', true],
    ['/a', '/a', false],
    ['/a', '/a/b', false],
    ['/ab', '/a', false],
    ['/ab/c', '/a', false],
    ['/aaa/x', '/aa', false],
    ['/a', '/b', false],
  ])('isInside(%j, %j) is %j', (child, parent, want) => {
    expect(isInside(child, parent)).toBe(want);
  });
});

describe('resolveTarget: directories', () => {
  it('maps a directory onto a new path (real, absolute paths)', () => {
    const src = makeSrc();
    const dest = path.join(tmp(), 'new', 'deeper');
    expect(resolveTarget(src, dest)).toEqual({ kind: 'tree', srcRoot: src, destRoot: dest });
    expect(fs.existsSync(path.join(tmp(), 'new'))).toBe(false); // preflight writes nothing
  });

  it('merges into an existing directory without nesting SRC in it', () => {
    const src = makeSrc();
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(dest);
    expect(resolveTarget(src, dest)).toEqual({ kind: 'tree', srcRoot: src, destRoot: dest });
  });

  it('treats a trailing slash on SRC as the same directory', () => {
    const src = makeSrc();
    const dest = path.join(tmp(), 'dest');
    expect(resolveTarget(`${src}/`, dest)).toEqual({ kind: 'tree', srcRoot: src, destRoot: dest });
  });

  it('follows a symlink given as SRC', () => {
    const src = makeSrc();
    fs.symlinkSync(src, path.join(tmp(), 'link'));
    const dest = path.join(tmp(), 'dest');
    expect(resolveTarget(path.join(tmp(), 'link'), dest)).toEqual({ kind: 'tree', srcRoot: src, destRoot: dest });
  });

  it('resolves a symlinked parent of a missing DEST', () => {
    const src = makeSrc();
    fs.mkdirSync(path.join(tmp(), 'real'));
    fs.symlinkSync('real', path.join(tmp(), 'alias'));
    expect(resolveTarget(src, path.join(tmp(), 'alias', 'd'))).toEqual({ kind: 'tree', srcRoot: src, destRoot: path.join(tmp(), 'real', 'd') });
  });

  // The kernel, cp and rsync resolve `link/..` from where the link points; path.resolve's reading
  // (the directory holding the link) made pcopy merge into an unrelated directory there.
  it('resolves `link/..` in a missing DEST from where the link points', () => {
    const src = makeSrc();
    fs.mkdirSync(path.join(tmp(), 'vol', 'mnt', 'current'), { recursive: true });
    fs.symlinkSync('vol/mnt/current', path.join(tmp(), 'cur'));
    fs.mkdirSync(path.join(tmp(), 'backup'));
    const want = { kind: 'tree', srcRoot: src, destRoot: path.join(tmp(), 'vol', 'mnt', 'backup') };
    expect(resolveTarget(src, `${tmp()}/cur/../backup`)).toEqual(want);
    expect(resolveTarget(src, `${tmp()}/cur/../new/a/../b`)).toEqual({ ...want, destRoot: path.join(tmp(), 'vol', 'mnt', 'new', 'b') });
  });

  it('resolves a link after `missing/..` in a missing DEST, and so refuses SRC into itself', () => {
    const src = makeSrc();
    fs.mkdirSync(path.join(tmp(), 'out'));
    fs.symlinkSync('../src', path.join(tmp(), 'out', 'l'));
    const before = listEntries(tmp());
    expect(preflightError(src, `${tmp()}/out/new/../l/x`).message).toMatch(/into itself/);
    expect(listEntries(tmp())).toEqual(before);
  });

  it.each([
    ['via /./', (src: string) => `${path.dirname(src)}/./${path.basename(src)}`],
    ['via a trailing slash', (src: string) => `${src}/`],
    ['via ..', (src: string) => path.join(src, 'sub') + '/..'],
    ['via a symlink', (src: string) => {
      const link = path.join(path.dirname(src), 'same-link');
      fs.symlinkSync(src, link);
      return link;
    }],
    ['via a symlink with a trailing slash', (src: string) => {
      const link = path.join(path.dirname(src), 'same-link');
      fs.symlinkSync('src', link);
      return `${link}/`;
    }],
  ])('refuses the same directory %s', (_how, destOf) => {
    const src = makeSrc();
    const dest = destOf(src);
    const before = listEntries(tmp());
    const err = preflightError(src, dest);
    expect(err.message).toMatch(/same directory/);
    expect(listEntries(tmp())).toEqual(before);
  });

  it('refuses the same directory reached through a symlinked ancestor', () => {
    const src = makeSrc();
    fs.symlinkSync(tmp(), path.join(tmp(), 'up'));
    expect(preflightError(src, path.join(tmp(), 'up', 'src')).message).toMatch(/same directory/);
  });

  it.each([
    ['an existing subdirectory', (src: string) => path.join(src, 'sub')],
    ['a new subdirectory', (src: string) => path.join(src, 'new')],
    ['a new nested path', (src: string) => path.join(src, 'sub', 'x', 'y')],
    ['a path through a symlink to SRC', (src: string) => {
      fs.symlinkSync(src, path.join(path.dirname(src), 'via'));
      return path.join(path.dirname(src), 'via', 'new', 'deep');
    }],
    ['a path through a symlink to a subdirectory of SRC', (src: string) => {
      fs.symlinkSync(path.join(src, 'sub'), path.join(path.dirname(src), 'via'));
      return path.join(path.dirname(src), 'via', 'x');
    }],
    ['a path through a relative symlinked parent', (src: string) => {
      fs.mkdirSync(path.join(path.dirname(src), 'other'));
      fs.symlinkSync('../src', path.join(path.dirname(src), 'other', 'back'));
      return path.join(path.dirname(src), 'other', 'back', 'copy');
    }],
  ])('refuses a DEST inside SRC: %s', (_how, destOf) => {
    const src = makeSrc();
    const dest = destOf(src);
    const before = listEntries(tmp());
    expect(preflightError(src, dest).message).toMatch(/into itself/);
    expect(listEntries(tmp())).toEqual(before);
  });

  it('refuses a SRC inside DEST', () => {
    const outer = path.join(tmp(), 'outer');
    const src = path.join(outer, 'inner');
    fs.mkdirSync(src, { recursive: true });
    expect(preflightError(src, outer).message).toMatch(/source is inside the destination/);
  });

  it('refuses a SRC inside DEST when DEST is given through a symlink', () => {
    const outer = path.join(tmp(), 'outer');
    const src = path.join(outer, 'inner');
    fs.mkdirSync(src, { recursive: true });
    fs.symlinkSync(outer, path.join(tmp(), 'alias'));
    expect(preflightError(src, path.join(tmp(), 'alias')).message).toMatch(/source is inside the destination/);
  });

  it('allows prefix siblings: a → ab', () => {
    const a = makeSrc('a');
    const ab = path.join(tmp(), 'ab');
    expect(resolveTarget(a, ab)).toEqual({ kind: 'tree', srcRoot: a, destRoot: ab });
    fs.mkdirSync(ab);
    expect(resolveTarget(a, ab)).toEqual({ kind: 'tree', srcRoot: a, destRoot: ab });
  });

  it('allows prefix siblings: ab → a', () => {
    const ab = makeSrc('ab');
    const a = path.join(tmp(), 'a');
    fs.mkdirSync(a);
    expect(resolveTarget(ab, a)).toEqual({ kind: 'tree', srcRoot: ab, destRoot: a });
  });

  it('allows prefix siblings: aa → aaa/x', () => {
    const aa = makeSrc('aa');
    const dest = path.join(tmp(), 'aaa', 'x');
    expect(resolveTarget(aa, dest)).toEqual({ kind: 'tree', srcRoot: aa, destRoot: dest });
    fs.mkdirSync(dest, { recursive: true });
    expect(resolveTarget(aa, dest)).toEqual({ kind: 'tree', srcRoot: aa, destRoot: dest });
  });

  it('refuses a directory onto an existing file', () => {
    const src = makeSrc();
    const file = path.join(tmp(), 'afile');
    fs.writeFileSync(file, 'keep');
    expect(preflightError(src, file).message).toMatch(/not a directory/);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep');
  });

  it('refuses a directory onto a symlink to a file', () => {
    const src = makeSrc();
    fs.writeFileSync(path.join(tmp(), 'afile'), 'keep');
    fs.symlinkSync('afile', path.join(tmp(), 'flink'));
    expect(preflightError(src, path.join(tmp(), 'flink')).message).toMatch(/not a directory/);
  });

  it('refuses a DEST below an existing file', () => {
    const src = makeSrc();
    fs.writeFileSync(path.join(tmp(), 'afile'), 'keep');
    preflightError(src, path.join(tmp(), 'afile', 'x'));
  });

  it('refuses a DEST that is a dangling symlink', () => {
    const src = makeSrc();
    fs.symlinkSync('nowhere', path.join(tmp(), 'dangling'));
    expect(preflightError(src, path.join(tmp(), 'dangling')).message).toMatch(/symlink to a missing path/);
    expect(fs.lstatSync(path.join(tmp(), 'dangling')).isSymbolicLink()).toBe(true);
  });
});

describe('resolveTarget: sources that cannot be copied', () => {
  it('refuses a missing SRC', () => {
    const missing = path.join(tmp(), 'missing');
    const err = preflightError(missing, path.join(tmp(), 'dest'));
    expect(err.message).toMatch(/does not exist/);
    expect(err.message).toContain(missing);
    expect(fs.existsSync(path.join(tmp(), 'dest'))).toBe(false);
  });

  it('refuses a SRC that is a dangling symlink', () => {
    fs.symlinkSync('nowhere', path.join(tmp(), 'dangling'));
    preflightError(path.join(tmp(), 'dangling'), path.join(tmp(), 'dest'));
  });

  it('refuses a SRC below a file', () => {
    fs.writeFileSync(path.join(tmp(), 'afile'), 'x');
    preflightError(path.join(tmp(), 'afile', 'x'), path.join(tmp(), 'dest'));
  });

  it('refuses empty paths', () => {
    const src = makeSrc();
    preflightError('', path.join(tmp(), 'dest'));
    preflightError(src, '');
  });
});

describe('resolveTarget: a file SRC', () => {
  it('copies to a new path as that path', () => {
    makeSrc();
    const file = path.join(tmp(), 'src', 'file.txt');
    const dest = path.join(tmp(), 'copy.txt');
    expect(resolveTarget(file, dest)).toEqual({ kind: 'file', srcFile: file, destFile: dest, size: 6 });
  });

  it('replaces an existing file at DEST', () => {
    makeSrc();
    const file = path.join(tmp(), 'src', 'file.txt');
    const dest = path.join(tmp(), 'old.txt');
    fs.writeFileSync(dest, 'old');
    expect(resolveTarget(file, dest)).toEqual({ kind: 'file', srcFile: file, destFile: dest, size: 6 });
  });

  it('goes into an existing directory as DEST/<name>', () => {
    makeSrc();
    const file = path.join(tmp(), 'src', 'file.txt');
    const dir = path.join(tmp(), 'dir');
    fs.mkdirSync(dir);
    expect(resolveTarget(file, dir)).toEqual({ kind: 'file', srcFile: file, destFile: path.join(dir, 'file.txt'), size: 6 });
  });

  it('goes into a directory given through a symlink as DEST/<name>', () => {
    makeSrc();
    const file = path.join(tmp(), 'src', 'file.txt');
    fs.mkdirSync(path.join(tmp(), 'dir'));
    fs.symlinkSync('dir', path.join(tmp(), 'dirlink'));
    expect(resolveTarget(file, path.join(tmp(), 'dirlink'))).toEqual({
      kind: 'file',
      srcFile: file,
      destFile: path.join(tmp(), 'dir', 'file.txt'),
      size: 6,
    });
  });

  it('goes into a new directory written with a trailing slash as DEST/<name>', () => {
    makeSrc();
    const file = path.join(tmp(), 'src', 'file.txt');
    expect(resolveTarget(file, path.join(tmp(), 'newdir') + '/')).toEqual({
      kind: 'file',
      srcFile: file,
      destFile: path.join(tmp(), 'newdir', 'file.txt'),
      size: 6,
    });
  });

  it('keeps the name of a symlink given as SRC, and copies its target', () => {
    makeSrc();
    const file = path.join(tmp(), 'src', 'file.txt');
    fs.symlinkSync(file, path.join(tmp(), 'named-link'));
    const dir = path.join(tmp(), 'dir');
    fs.mkdirSync(dir);
    expect(resolveTarget(path.join(tmp(), 'named-link'), dir)).toEqual({
      kind: 'file',
      srcFile: file,
      destFile: path.join(dir, 'named-link'),
      size: 6, // file.txt's 'hello\n', as stat'ed (through a link, its target's)
    });
  });

  it('refuses copying a file onto itself (directly, via its directory, or via a hard link)', () => {
    makeSrc();
    const file = path.join(tmp(), 'src', 'file.txt');
    // Named as given, not by their resolved paths.
    expect(preflightError(file, file).message).toBe(`\`${file}\` and \`${file}\` are the same file`);
    expect(preflightError(file, path.join(tmp(), 'src', '.', '')).message).toBe(`\`${file}\` and \`${path.join(tmp(), 'src', 'file.txt')}\` are the same file`);
    fs.linkSync(file, path.join(tmp(), 'hard'));
    expect(preflightError(file, path.join(tmp(), 'hard')).message).toBe(`\`${file}\` and \`${path.join(tmp(), 'hard')}\` are the same file`);
    expect(fs.readFileSync(file, 'utf8')).toBe('hello\n');
  });

  it('refuses a FIFO as SRC', () => {
    const fifo = path.join(tmp(), 'fifo');
    const { status } = spawnSync('mkfifo', [fifo]);
    expect(status).toBe(0);
    expect(preflightError(fifo, path.join(tmp(), 'dest')).message).toMatch(/not a regular file or directory/);
  });
});

describe('a file SRC: where it goes', () => {
  it('into DEST when DEST is a directory or can only name one (a trailing slash, or . or .. last); else DEST itself', () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, 'f'), 'x');
    fs.mkdirSync(path.join(root, 'dir'));
    const f = path.join(root, 'f');
    for (const [dest, into] of [
      ['dir', true],
      ['dir/', true],
      ['missing/', true],
      ['missing/.', true],
      ['dir/.', true],
      ['missing', false],
      ['back\\', false],
      ['dir/g', false],
    ] as const) {
      // As typed: path.join would drop a trailing `.`.
      const typed = `${root}/${dest}`;
      const target = resolveTarget(f, typed);
      expect(target.kind).toBe('file');
      const want = into ? path.join(path.resolve(root, dest), 'f') : path.resolve(root, dest);
      expect(target.kind === 'file' && target.destFile, dest).toBe(want);
      expect(shownFileDestination(f, typed), dest).toBe(into ? path.join(typed, 'f') : typed);
    }
  });
});
