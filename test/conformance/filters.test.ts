/**
 * Conformance: --exclude / --include / --exclude-from selections, ported from rsync's own exclude
 * tests and manual and from issue 10, adapted to pcopy's documented rules (README "Patterns": no
 * slash = any depth, a slash = anchored at SRC, trailing slash dropped, exclude wins, --include =
 * matches plus their parent directories). Every expected list is literal data: the entries that must
 * exist in DEST (directories end with `/`). Each was checked by hand against `rsync -a` with the
 * equivalent spelling, named in the case (`/p` where pcopy anchors `p` because it has a slash; for
 * --include, `rsync -a -m --include '*\/' --include P --exclude '*'`). rsync is not needed here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, runPcopy, tempDir } from '../helpers/tree.js';

/** Runs pcopy without any capability, so a mode-000 directory is unreadable even to root. */
const NO_CAPS = ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--'];

let tmp = '';
beforeEach(() => {
  tmp = tempDir('pcopy-conf-filters-');
});
afterEach(() => cleanup(tmp));

/** Makes each entry below `root`: a name ending with `/` is an (empty) directory, others files holding their own path. */
function build(root: string, entries: readonly string[]): void {
  for (const e of entries) {
    const p = path.join(root, e);
    if (e.endsWith('/')) {
      fs.mkdirSync(p, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, e);
    }
  }
}

/** Every entry below `root`, sorted, directories with a trailing `/`. */
function listTree(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      out.push(d.isDirectory() ? `${r}/` : r);
      if (d.isDirectory()) visit(r);
    }
  };
  visit('');
  return out.sort();
}

/** Copies `tree` with `args` and checks that DEST holds exactly `expected`, each file with its content. */
async function expectSelection(tree: readonly string[], args: string[], expected: readonly string[]): Promise<void> {
  const src = path.join(tmp, 'src');
  const dest = path.join(tmp, 'dest');
  build(src, tree);
  const r = await runPcopy([...args, src, dest], { cwd: tmp });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(listTree(dest)).toEqual([...expected].sort());
  for (const e of expected) if (!e.endsWith('/')) expect(fs.readFileSync(path.join(dest, e), 'utf8')).toBe(e);
}

/** The from/ tree of rsync's testsuite/exclude_test.py (formerly exclude.test). */
const RSYNC_TREE = [
  '.filt', 'foo/file1', 'foo/file2', 'foo/file2.old', 'foo/.filt', 'foo/sub/file1', 'foo/down/to/you/',
  'bar/.filt', 'bar/down/to/home-cvs-exclude', 'bar/down/to/.filt2', 'bar/down/to/foo/.filt2', 'bar/down/to/foo/file1',
  'bar/down/to/foo/file1.bak', 'bar/down/to/foo/file3', 'bar/down/to/foo/file4', 'bar/down/to/foo/+ file3',
  'bar/down/to/foo/file4.junk', 'bar/down/to/foo/to', 'bar/down/to/foo/too/', 'bar/down/to/bar/.filt2',
  'bar/down/to/bar/baz/file5.deep', 'mid/.filt2', 'mid/one-in-one-out', 'mid/.cvsignore', 'mid/one-for-all', 'mid/.filt',
  'mid/for/one-in-one-out', 'mid/for/foo/extra', 'mid/for/foo/keep', 'mid/for/foo/and/that/is/who/', 'new/keep/this/',
  'new/lose/this/',
];

/** RSYNC_TREE copied in full; the cases below take entries away from it. */
const RSYNC_ALL = [
  '.filt', 'bar/', 'bar/.filt', 'bar/down/', 'bar/down/to/', 'bar/down/to/.filt2', 'bar/down/to/bar/', 'bar/down/to/bar/.filt2',
  'bar/down/to/bar/baz/', 'bar/down/to/bar/baz/file5.deep', 'bar/down/to/foo/', 'bar/down/to/foo/+ file3',
  'bar/down/to/foo/.filt2', 'bar/down/to/foo/file1', 'bar/down/to/foo/file1.bak', 'bar/down/to/foo/file3',
  'bar/down/to/foo/file4', 'bar/down/to/foo/file4.junk', 'bar/down/to/foo/to', 'bar/down/to/foo/too/',
  'bar/down/to/home-cvs-exclude', 'foo/', 'foo/.filt', 'foo/down/', 'foo/down/to/', 'foo/down/to/you/', 'foo/file1',
  'foo/file2', 'foo/file2.old', 'foo/sub/', 'foo/sub/file1', 'mid/', 'mid/.cvsignore', 'mid/.filt', 'mid/.filt2',
  'mid/for/', 'mid/for/foo/', 'mid/for/foo/and/', 'mid/for/foo/and/that/', 'mid/for/foo/and/that/is/',
  'mid/for/foo/and/that/is/who/', 'mid/for/foo/extra', 'mid/for/foo/keep', 'mid/for/one-in-one-out', 'mid/one-for-all',
  'mid/one-in-one-out', 'new/', 'new/keep/', 'new/keep/this/', 'new/lose/', 'new/lose/this/',
];

/** RSYNC_ALL without the listed entries (and, for a directory, everything below it). */
function rsyncAllBut(...gone: string[]): string[] {
  return RSYNC_ALL.filter((e) => !gone.some((g) => e === g || (g.endsWith('/') && e.startsWith(g))));
}

/** A project as in issue 10: VCS and tool directories, secrets, names that look alike at several depths. */
const PROJECT_TREE = [
  '.git/HEAD', '.git/objects/ab/cdef', '.env', '.env.local', '.envrc/secret', 'README.md', 'node_modules/p/index.js',
  'node_modules/.bin/p', 'src/index.js', 'src/node_modules_note.txt', 'src/.cache/x', 'app/node_modules/q/i', 'app/src/a.js',
  'down/d.txt', 'app/drawn/d.txt', 'app/din', 'foo/sub/s.txt', 'foo/sab/s.txt', 'foo/sb/s.txt', 'foo/bar/sub/s.txt', 'sub/s.txt',
];

/** Where `*` and `**` differ. */
const STAR_TREE = ['foo/bar', 'foo/x/bar', 'foo/x/y/bar/z', 'bar', 'baz/foo/bar', 'foo/bar2', 'foobar', 'foo/xbar', 'foox/ybar/z'];

/** Names with line breaks, which fast-glob cannot see and pcopy walks itself. */
const LINE_BREAK_TREE = ['a\nb.log', 'plain/c\nd.txt', 'plain/k.log', 'we\nird/x', 'we\nird/sub/y.log', 'l\nx/z', 'keep.txt'];

describe('a wildcard exclude prunes the directory it matches', () => {
  it("--exclude '.*' --exclude 'node_mod*': no .git, .env*, node_modules at any depth", async () => {
    // Origin: issue 10 item 1 (`s/.git/x` and `s/node_modules/p/i` were copied in full).
    // rsync -a --exclude '.*' --exclude 'node_mod*'
    await expectSelection(PROJECT_TREE, ['--exclude', '.*', '--exclude', 'node_mod*'], [
      'README.md', 'app/', 'app/din', 'app/drawn/', 'app/drawn/d.txt', 'app/src/', 'app/src/a.js', 'down/', 'down/d.txt',
      'foo/', 'foo/bar/', 'foo/bar/sub/', 'foo/bar/sub/s.txt', 'foo/sab/', 'foo/sab/s.txt', 'foo/sb/', 'foo/sb/s.txt',
      'foo/sub/', 'foo/sub/s.txt', 'src/', 'src/index.js', 'sub/', 'sub/s.txt',
    ]);
  });

  it("--exclude '.env*' leaves no secret behind, files and directories alike", async () => {
    // Origin: issue 10 item 1 ("a user excluding .env* or .* gets their secrets copied").
    // rsync -a --exclude '.env*'
    await expectSelection(PROJECT_TREE, ['--exclude', '.env*'], [
      '.git/', '.git/HEAD', '.git/objects/', '.git/objects/ab/', '.git/objects/ab/cdef', 'README.md', 'app/', 'app/din',
      'app/drawn/', 'app/drawn/d.txt', 'app/node_modules/', 'app/node_modules/q/', 'app/node_modules/q/i', 'app/src/',
      'app/src/a.js', 'down/', 'down/d.txt', 'foo/', 'foo/bar/', 'foo/bar/sub/', 'foo/bar/sub/s.txt', 'foo/sab/',
      'foo/sab/s.txt', 'foo/sb/', 'foo/sb/s.txt', 'foo/sub/', 'foo/sub/s.txt', 'node_modules/', 'node_modules/.bin/',
      'node_modules/.bin/p', 'node_modules/p/', 'node_modules/p/index.js', 'src/', 'src/.cache/', 'src/.cache/x',
      'src/index.js', 'src/node_modules_note.txt', 'sub/', 'sub/s.txt',
    ]);
  });

  it("--exclude 'd*n' (any depth) --exclude 'foo/s?b' (anchored): wildcards in a middle or last segment prune", async () => {
    // Origin: issue 10 item 1 (`d*n`, `foo/s?b`); rsync's exclude test `+ foo/s?b/`.
    // rsync -a --exclude 'd*n' --exclude '/foo/s?b' (foo/bar/sub and sub stay: anchored; foo/sb: ? is one character)
    await expectSelection(PROJECT_TREE, ['--exclude', 'd*n', '--exclude', 'foo/s?b'], [
      '.env', '.env.local', '.envrc/', '.envrc/secret', '.git/', '.git/HEAD', '.git/objects/', '.git/objects/ab/', '.git/objects/ab/cdef',
      'README.md', 'app/', 'app/node_modules/', 'app/node_modules/q/', 'app/node_modules/q/i', 'app/src/', 'app/src/a.js',
      'foo/', 'foo/bar/', 'foo/bar/sub/', 'foo/bar/sub/s.txt', 'foo/sb/', 'foo/sb/s.txt', 'node_modules/', 'node_modules/.bin/',
      'node_modules/.bin/p', 'node_modules/p/', 'node_modules/p/index.js', 'src/', 'src/.cache/', 'src/.cache/x',
      'src/index.js', 'src/node_modules_note.txt', 'sub/', 'sub/s.txt',
    ]);
  });

  it('an excluded directory is never read: unreadable ones inside the exclusions give no error', async () => {
    // Origin: README ("an excluded directory is not walked into"), issue 10 item 1. rsync does read
    // `keep` for `keep/**` (and fails on it); pcopy has nothing to take from it, so it does not.
    const src = path.join(tmp, 'src');
    build(src, ['.cache/in/f', 'app/node_modules/p/i', 'keep/in/f', 'top.txt']);
    const locked = ['.cache', 'app/node_modules/p', 'keep'].map((d) => path.join(src, d));
    for (const d of locked) fs.chmodSync(d, 0o000);
    const dest = path.join(tmp, 'dest');
    const r = await runPcopy(['--exclude', '.*', '--exclude', 'node_mod*', '--exclude', 'keep/**', src, dest], { prefix: NO_CAPS });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(listTree(dest)).toEqual(['app/', 'keep/', 'top.txt']);

    // Control: without the excludes the same run does meet all three unreadable directories.
    const r2 = await runPcopy([src, path.join(tmp, 'dest2')], { prefix: NO_CAPS });
    expect(r2.code).toBe(1);
    for (const d of ['.cache', 'app/node_modules/p', 'keep']) expect(r2.stderr).toContain(`/${d}\` to`);
    expect(r2.stderr).toMatch(/EACCES/);
  });
});

describe('** and *', () => {
  it("'new/keep/**' keeps new/keep (empty); 'new/lose/***' drops new/lose too", async () => {
    // Origin: rsync testsuite/exclude_test.py, "Test how /** differs from /***"; issue 10 item 2.
    // rsync -a --exclude '/new/keep/**' --exclude '/new/lose/***'
    await expectSelection(RSYNC_TREE, ['--exclude', 'new/keep/**', '--exclude', 'new/lose/***'], rsyncAllBut('new/keep/this/', 'new/lose/'));
  });

  it("'foo**too' is matched against the whole path: ** crosses /, also inside a name", async () => {
    // Origin: rsync testsuite/exclude_test.py, "This should match against the whole path, not just the name".
    // rsync -a --exclude 'foo**too'
    await expectSelection(RSYNC_TREE, ['--exclude', 'foo**too'], rsyncAllBut('bar/down/to/foo/too/'));
  });

  it("'mid/*/and' matches nothing (* stays in one name); 'mid/**/and' reaches mid/for/foo/and", async () => {
    // Origin: rsync manual, PATTERN MATCHING RULES ("a '*' matches zero or more non-slash characters",
    // "a '**' matches zero or more characters, including slashes").
    // rsync -a --exclude '/mid/*/and'; rsync -a --exclude '/mid/**/and'
    await expectSelection(RSYNC_TREE, ['--exclude', 'mid/*/and'], RSYNC_ALL);
    cleanup(tmp);
    tmp = tempDir('pcopy-conf-filters-');
    await expectSelection(RSYNC_TREE, ['--exclude', 'mid/**/and'], rsyncAllBut('mid/for/foo/and/'));
  });

  it("'foo/**/bar' needs a directory between foo and bar: foo/bar is kept, as in rsync", async () => {
    // Origin: rsync manual, "/foo/**/bar would exclude any file/directory named bar that was two or more
    // levels below a top-level directory named foo (note that /foo/bar is not excluded by this)".
    // rsync -a --exclude '/foo/**/bar'
    await expectSelection(STAR_TREE, ['--exclude', 'foo/**/bar'], [
      'bar', 'baz/', 'baz/foo/', 'baz/foo/bar', 'foo/', 'foo/bar', 'foo/bar2', 'foo/x/', 'foo/x/y/', 'foo/xbar', 'foobar',
      'foox/', 'foox/ybar/', 'foox/ybar/z',
    ]);
  });

  it("'**/bar' matches bar at any depth, the top included; '/**/bar' does not match the top-level bar", async () => {
    // Origin: rsync manual (a leading / anchors; ** matches zero or more characters).
    // rsync -a --exclude '**/bar'; rsync -a --exclude '/**/bar'
    const below = ['baz/', 'baz/foo/', 'foo/', 'foo/bar2', 'foo/x/', 'foo/x/y/', 'foo/xbar', 'foobar', 'foox/', 'foox/ybar/', 'foox/ybar/z'];
    await expectSelection(STAR_TREE, ['--exclude', '**/bar'], below);
    cleanup(tmp);
    tmp = tempDir('pcopy-conf-filters-');
    await expectSelection(STAR_TREE, ['--exclude', '/**/bar'], ['bar', ...below]);
  });

  it("'foo*bar' matches one name; 'foo**bar' any path from a name starting foo to one ending bar", async () => {
    // Origin: rsync manual, PATTERN MATCHING RULES (a pattern with ** is matched against the full path).
    // rsync -a --exclude 'foo*bar'; rsync -a --exclude 'foo**bar'
    await expectSelection(STAR_TREE, ['--exclude', 'foo*bar'], [
      'bar', 'baz/', 'baz/foo/', 'baz/foo/bar', 'foo/', 'foo/bar', 'foo/bar2', 'foo/x/', 'foo/x/bar', 'foo/x/y/', 'foo/x/y/bar/',
      'foo/x/y/bar/z', 'foo/xbar', 'foox/', 'foox/ybar/', 'foox/ybar/z',
    ]);
    cleanup(tmp);
    tmp = tempDir('pcopy-conf-filters-');
    await expectSelection(STAR_TREE, ['--exclude', 'foo**bar'], ['bar', 'baz/', 'baz/foo/', 'foo/', 'foo/bar2', 'foo/x/', 'foo/x/y/', 'foox/']);
  });
});

describe('anchoring and trailing slashes', () => {
  it("'/mid/for/foo/extra' only there; 'file[2-9]' and 'to' at any depth (a directory `to` takes its contents along)", async () => {
    // Origin: rsync testsuite/exclude_test.py, "Test some normal excludes" (`- to`, `- file[2-9]`,
    // `- /mid/for/foo/extra`), without its `+` lines: pcopy has no ordered include rules.
    // rsync -a --exclude '/mid/for/foo/extra' --exclude 'file[2-9]' --exclude to
    await expectSelection(RSYNC_TREE, ['--exclude', '/mid/for/foo/extra', '--exclude', 'file[2-9]', '--exclude', 'to'], [
      '.filt', 'bar/', 'bar/.filt', 'bar/down/', 'foo/', 'foo/.filt', 'foo/down/', 'foo/file1', 'foo/file2.old', 'foo/sub/',
      'foo/sub/file1', 'mid/', 'mid/.cvsignore', 'mid/.filt', 'mid/.filt2', 'mid/for/', 'mid/for/foo/', 'mid/for/foo/and/',
      'mid/for/foo/and/that/', 'mid/for/foo/and/that/is/', 'mid/for/foo/and/that/is/who/', 'mid/for/foo/keep',
      'mid/for/one-in-one-out', 'mid/one-for-all', 'mid/one-in-one-out', 'new/', 'new/keep/', 'new/keep/this/', 'new/lose/',
      'new/lose/this/',
    ]);
  });

  it("'foo/*/' works as 'foo/*': anchored (a slash inside), and the trailing slash dropped, so files go too", async () => {
    // Origin: rsync testsuite/exclude_test.py `- foo/*/`, adapted to the README: rsync would float it and
    // match directories only; pcopy anchors it and drops the slash.
    // rsync -a --exclude '/foo/*'
    await expectSelection(RSYNC_TREE, ['--exclude', 'foo/*/'], rsyncAllBut('foo/.filt', 'foo/down/', 'foo/file1', 'foo/file2', 'foo/file2.old', 'foo/sub/'));
  });
});

describe('plain characters', () => {
  // As `rsync -a --exclude P src/ d/` selects (checked against rsync 3.5.0): parentheses, `|`,
  // spaces and a backslash in a pattern without wildcards are characters of a name; picomatch
  // alone read `(1)` as a group (`report 1.pdf`), `a\b` as a word boundary (dropping `a/`), and
  // the spaces were trimmed.
  const TREE = ['report (1).pdf', 'report 1.pdf', 'Photos (2019)/img.jpg', 'Photos 2019/img.jpg', 'a/keep', 'a\\b', 'x|y', 'x', ' lead', 'lead', '(draft)'];
  it.each([
    [['--exclude', 'report (1).pdf'], ['report (1).pdf']],
    [['--exclude', '*(1)*'], ['report (1).pdf']],
    [['--exclude', 'Photos (2019)'], ['Photos (2019)/', 'Photos (2019)/img.jpg']],
    [['--exclude', 'a\\b'], ['a\\b']],
    [['--exclude', 'x|y'], ['x|y']],
    [['--exclude', ' lead'], [' lead']],
    [['--exclude', '@(x|lead)'], ['x', 'lead']],
    [['--exclude', '[(]*'], ['(draft)']],
  ])('%j excludes exactly %j', async (args, gone) => {
    const all = ['Photos (2019)/', 'Photos 2019/', 'a/', ...TREE];
    await expectSelection(TREE, args, all.filter((e) => !gone.includes(e)));
  });

  // A class is a class only; escapes as rsync reads them (rsync 3.5.0 gave exactly these).
  const ODD = ['a', '[abc]', 'star*name', 'starxname', '\\back', '\\\\back', '!back', 'xback', 'ex', 'e[x]'];
  it.each([
    ['[abc]', ['a']],
    ['e[x]', ['ex']],
    ['star\\**', ['star*name']],
    ['[[:punct:]]back', ['!back', '\\back']],
    ['\\\\back', ['\\\\back']],
  ])('%j excludes exactly %j of names with brackets, stars and backslashes', async (pattern, gone) => {
    await expectSelection(ODD, ['--exclude', pattern], ODD.filter((e) => !gone.includes(e)));
  });

  // `?` is one character, whatever its size in UTF-8 or UTF-16: `é` (2 bytes, one UTF-16 unit) and
  // an emoji (4 bytes, two units: it took `??`). rsync matches bytes; pcopy's patterns match
  // characters (README "Patterns").
  const WIDE = ['caf\u00e9', 'emoji\u{1F600}', 'emoji\u{1F600}\u{1F600}', 'emojix', 'emoji'];
  it.each([
    ['caf?', ['caf\u00e9']],
    ['emoji?', ['emoji\u{1F600}', 'emojix']],
    ['emoji??', ['emoji\u{1F600}\u{1F600}']],
    ['emoji*', ['emoji\u{1F600}', 'emoji\u{1F600}\u{1F600}', 'emojix', 'emoji']],
    ['?moji\u{1F600}', ['emoji\u{1F600}']],
  ])('%j: ? takes one whole character (%j excluded)', async (pattern, gone) => {
    await expectSelection(WIDE, ['--exclude', pattern], WIDE.filter((e) => !gone.includes(e)));
  });

  it("'[[^/]' is a class of [, ^ and / (picomatch's own [^/] is only rewritten outside one)", async () => {
    await expectSelection(['[', '^', 'a', 'ab'], ['--exclude', '[[^/]'], ['a', 'ab']);
  });

  it('an --exclude-from line keeps its spaces', async () => {
    fs.writeFileSync(path.join(tmp, 'patterns'), '# names\n lead\n   \nreport (1).pdf\n');
    const all = ['Photos (2019)/', 'Photos 2019/', 'a/', ...TREE];
    await expectSelection(TREE, ['--exclude-from', path.join(tmp, 'patterns')], all.filter((e) => e !== ' lead' && e !== 'report (1).pdf'));
  });

  it("--include 'Photos (2019)/***' takes that directory whole", async () => {
    await expectSelection(TREE, ['--include', 'Photos (2019)/***'], ['Photos (2019)/', 'Photos (2019)/img.jpg']);
  });
});

describe('--include', () => {
  it("'file1' copies every file1 and only the directories on the way to one", async () => {
    // Origin: rsync manual, `-f'+ */' -f'+ *.c' -f'- *'` ("include all directories and .c source
    // files but nothing else"), with --prune-empty-dirs as in rsync's exclude test.
    // rsync -a -m --include '*/' --include file1 --exclude '*'
    await expectSelection(RSYNC_TREE, ['--include', 'file1'], [
      'bar/', 'bar/down/', 'bar/down/to/', 'bar/down/to/foo/', 'bar/down/to/foo/file1', 'foo/', 'foo/file1', 'foo/sub/', 'foo/sub/file1',
    ]);
  });

  it("--exclude wins over --include: 'file*' without 'file[2-9]*'", async () => {
    // Origin: rsync testsuite/exclude_test.py, "Competing lines are paired" (`+ file4` / `- file[2-9]`),
    // adapted to the README: the exclude wins, whatever the order.
    // rsync -a -m --exclude 'file[2-9]*' --include '*/' --include 'file*' --exclude '*'
    await expectSelection(RSYNC_TREE, ['--include', 'file*', '--exclude', 'file[2-9]*'], [
      'bar/', 'bar/down/', 'bar/down/to/', 'bar/down/to/foo/', 'bar/down/to/foo/file1', 'bar/down/to/foo/file1.bak', 'foo/',
      'foo/file1', 'foo/sub/', 'foo/sub/file1',
    ]);
  });

  it("'mid/**' copies everything below mid, empty directories included (they match)", async () => {
    // Origin: rsync manual (`dir/**`), issue 10 item 2.
    // rsync -a -m --include '*/' --include '/mid/**' --exclude '*', plus the empty directories below
    // mid that -m prunes and pcopy copies because they match.
    await expectSelection(RSYNC_TREE, ['--include', 'mid/**'], [
      'mid/', 'mid/.cvsignore', 'mid/.filt', 'mid/.filt2', 'mid/for/', 'mid/for/foo/', 'mid/for/foo/and/', 'mid/for/foo/and/that/',
      'mid/for/foo/and/that/is/', 'mid/for/foo/and/that/is/who/', 'mid/for/foo/extra', 'mid/for/foo/keep',
      'mid/for/one-in-one-out', 'mid/one-for-all', 'mid/one-in-one-out',
    ]);
  });
});

describe('--exclude-from', () => {
  it("reads rsync's exclude test list (its exclude lines, as pcopy patterns)", async () => {
    // Origin: rsync testsuite/exclude_test.py, the exclude-from file: its `-` rules and comments, the
    // `+` rules left out (pcopy has no ordered include rules).
    // rsync -a --exclude-from with: /foo/* /new/keep/** /new/lose/*** to file[2-9] /mid/for/foo/extra foo**too
    const list = path.join(tmp, 'exclude-from');
    fs.writeFileSync(
      list,
      [
        '# This should match against the whole path, not just the name.',
        'foo**too',
        '# These should float at the end of the path.',
        'foo/*/',
        '# Test how /** differs from /***',
        'new/keep/**',
        'new/lose/***',
        '# Test some normal excludes.',
        'to',
        'file[2-9]',
        '/mid/for/foo/extra',
        '',
      ].join('\n'),
    );
    await expectSelection(RSYNC_TREE, ['--exclude-from', list], [
      '.filt', 'bar/', 'bar/.filt', 'bar/down/', 'foo/', 'mid/', 'mid/.cvsignore', 'mid/.filt', 'mid/.filt2', 'mid/for/',
      'mid/for/foo/', 'mid/for/foo/and/', 'mid/for/foo/and/that/', 'mid/for/foo/and/that/is/', 'mid/for/foo/and/that/is/who/',
      'mid/for/foo/keep', 'mid/for/one-in-one-out', 'mid/one-for-all', 'mid/one-in-one-out', 'new/', 'new/keep/',
    ]);
  });
});

describe('names with a line break', () => {
  it("are matched like any name: '*.log' and 'we*ird' exclude them", async () => {
    // Origin: issue 10 item 6 ("names with line breaks must be matchable by patterns").
    // rsync -a --exclude '*.log' --exclude 'we*ird'
    await expectSelection(LINE_BREAK_TREE, ['--exclude', '*.log', '--exclude', 'we*ird'], ['keep.txt', 'l\nx/', 'l\nx/z', 'plain/', 'plain/c\nd.txt']);
  });

  it("'l?x/z': ? matches a line break, and the anchored path goes through such a directory", async () => {
    // Origin: issue 10 item 6. rsync -a --exclude '/l?x/z'
    await expectSelection(LINE_BREAK_TREE, ['--exclude', 'l?x/z'], [
      'a\nb.log', 'keep.txt', 'l\nx/', 'plain/', 'plain/c\nd.txt', 'plain/k.log', 'we\nird/', 'we\nird/sub/', 'we\nird/sub/y.log', 'we\nird/x',
    ]);
  });

  it("--include '*.log' copies them, also below a directory whose name has one", async () => {
    // Origin: issue 10 item 6 (with --include they used to be left out).
    // rsync -a -m --include '*/' --include '*.log' --exclude '*'
    await expectSelection(LINE_BREAK_TREE, ['--include', '*.log'], ['a\nb.log', 'plain/', 'plain/k.log', 'we\nird/', 'we\nird/sub/', 'we\nird/sub/y.log']);
  });
});
