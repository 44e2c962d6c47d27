/**
 * The --exclude / --include pattern language, and the one matcher both walks use (fast-glob's, and
 * our own for names fast-glob cannot see). The walk asks it before it lists or reads anything, so an
 * excluded directory is never read, whatever wildcard excluded it (fast-glob's own `ignore` only
 * prunes directories whose last segment is literal, so `.*` or `node_mod*` used to be walked and
 * copied in full).
 *
 * The rules are the README's (no slash: any depth; a slash or a leading `/`: anchored at SRC; a
 * trailing slash dropped; exclude wins; --include selects matches plus the directories holding them),
 * and where the README is silent they are what `rsync -a --exclude` does with the same spelling,
 * checked against rsync 3.x:
 * - `*` and `?` stay inside one name; `**` crosses `/`, also inside a name (`foo**too` matches
 *   `foo/x/too` and `footoo`);
 * - `dir/**` matches what is below `dir`, not `dir` itself (which is kept, empty);
 * - `dir/***` matches `dir` and everything below it;
 * - `a/**\/b` needs at least one directory between `a` and `b`: it does not match `a/b`, nor does
 *   `/**\/b` match a top-level `b` (rsync's manual says so); `**\/b` does match `b` at the top.
 * Patterns are handed to picomatch (fast-glob's own matcher), so braces and the extglobs `@(a|b)`,
 * `!(x)`, `+(x)` work too (`*.{js,ts}`); those are fast-glob extras that rsync does not have.
 */
import picomatch from 'picomatch';

type Matcher = (input: string) => boolean;

/**
 * dotfiles like any name; a leading `!` is a character, not negation; `[!a]` is `[^a]` as in rsync;
 * `.` also matches line breaks; `[abc]` is a class only (picomatch would also match the name `[abc]`).
 */
const PICOMATCH_OPTIONS = { dot: true, nonegate: true, posix: true, flags: 's', literalBrackets: false };

/**
 * The matcher of globs: by their regular expressions alone (picomatch's own matcher also takes a name
 * equal to the pattern's text, so `[abc]` matched a file named `[abc]`).
 */
function matcherOf(globs: string[]): Matcher {
  const res = globs.map((g) => wholeCharacters(picomatch.makeRe(g, PICOMATCH_OPTIONS)));
  return (input) => res.some((re) => re.test(input));
}

/**
 * One character of a name: a UTF-16 surrogate pair (an emoji), or one unit that does not begin a pair
 * (so `??` cannot split one; a byte that is not UTF-8 is one unit, see byte-names.ts).
 */
const ONE_CHARACTER = '(?:[\\ud800-\\udbff][\\udc00-\\udfff]|(?![\\ud800-\\udbff][\\udc00-\\udfff])[^/])';

/**
 * `?` is picomatch's `[^/]`, one UTF-16 unit: an emoji took two. It takes one character, as `é`
 * takes one (a regular expression with the `u` flag would do it, but picomatch gives up on those
 * with lone surrogates, which names with bytes that are not UTF-8 hold). `*`, `[^/]*?`, is left as
 * it is: any run of units is any run of characters.
 */
function wholeCharacters(re: RegExp): RegExp {
  // Not an escaped `\[` followed by `^/]` inside a class of the user's own (`[[^/]`).
  return new RegExp(re.source.replace(/(?<!\\)\[\^\/\](?![*+?{])/g, ONE_CHARACTER), re.flags);
}

/** Decides, for a path relative to SRC (`/`-separated), whether the walk takes it. */
export interface PathFilter {
  /** No patterns at all: everything is taken, so the walk need not ask. */
  readonly all: boolean;
  /** Not copied; a directory is not read at all. */
  excluded(rel: string): boolean;
  /** Copied, given that it is not excluded: true unless --include is given and none matches. */
  selected(rel: string): boolean;
  /** Nothing below the directory `rel` can be taken, so it need not be read (it may itself be). */
  nothingBelow(rel: string): boolean;
}

/**
 * A user's pattern as picomatch patterns relative to SRC (one or more; none for an empty pattern):
 * anchoring per the README, `**` per rsync (see the module comment).
 */
export function toGlobs(pattern: string): string[] {
  let p = asPicomatch(pattern);
  const anchored = p.startsWith('/');
  p = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '') return [];
  const floating = !anchored && !p.includes('/');
  // rsync: a trailing `/***` matches the directory and everything in it.
  const bases = p.endsWith('/***') ? [p.slice(0, -4), `${p.slice(0, -4)}/**`] : [p];
  const out: string[] = [];
  for (const base of bases) {
    const segments = base.replace(/\*{3,}/g, '**').split('/');
    let alternatives = [''];
    segments.forEach((segment, i) => {
      const options = segmentGlobs(segment, i, segments.length, anchored);
      alternatives = alternatives.flatMap((a) => options.map((o) => (i === 0 ? o : `${a}/${o}`)));
    });
    for (const a of alternatives) out.push(floating && a !== '**' ? `**/${a}` : a);
  }
  return out;
}

/**
 * A pattern's plain characters made plain for picomatch, which hands what it does not know as a
 * wildcard on to a regular expression as it is (`report (1).pdf` would match `report 1.pdf`, `a\b`
 * a word boundary). As rsync reads them:
 * - `(`, `)` and `|` are characters, except in an extglob `@(…)`, `!(…)` or `+(…)` (`*(1)*` is
 *   rsync's "a name with `(1)` in it", as for `report (1).pdf`, not picomatch's "any `1`s");
 * - a backslash escapes the next character only in a pattern with a wildcard (`*`, `?`, `[`, an
 *   extglob), and before a letter or digit it stands for that character; elsewhere it is a
 *   character itself.
 * Spaces are kept, also at either end: they are part of a name.
 */
function asPicomatch(pattern: string): string {
  const wild = /[*?[]|[@!+]\(/.test(pattern);
  let out = '';
  let depth = 0; // open extglobs
  let escaped = false; // the previous character was escaped: it cannot open an extglob
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const opensExtglob = c === '(' && !escaped && i > 0 && '@!+'.includes(pattern[i - 1]!);
    escaped = false;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (!wild || next === undefined) out += LITERAL['\\'];
      else {
        out += /[A-Za-z0-9]/.test(next) ? next : (LITERAL[next] ?? `\\${next}`);
        escaped = true;
        i++;
      }
    } else if (opensExtglob) {
      depth++;
      out += c;
    } else if (c === '(' || (c === ')' && depth === 0) || (c === '|' && depth === 0)) out += `\\${c}`;
    else {
      if (c === ')') depth--;
      out += c;
    }
  }
  // POSIX's punct class holds the backslash too; picomatch's leaves it out.
  return out.replaceAll('[:punct:]', '[:punct:]\\\\');
}

/**
 * Characters spelled as one-character classes: picomatch matched two escaped backslashes as one,
 * and an escaped `*` next to another `*` would read as `**`.
 */
const LITERAL: Record<string, string> = { '\\': '[\\\\]', '*': '[*]', '?': '[?]' };

/**
 * One segment of a pattern in picomatch terms. picomatch's `**` is a globstar only as a whole segment
 * and then matches zero or more directories; rsync's `**` is "any characters, slashes included".
 */
function segmentGlobs(segment: string, index: number, count: number, anchored: boolean): string[] {
  if (segment === '**') {
    if (count === 1) return ['**'];
    if (index === count - 1) return ['**/*']; // `dir/**`: one or more levels below, never `dir`
    if (index === 0 && !anchored) return ['**']; // `**/b` also matches a top-level `b`
    return ['*/**']; // `a/**/b` and `/**/b`: at least one directory in between
  }
  if (!segment.includes('**')) return [segment];
  // `**` inside a name: either stays in this name (`*`) or spans one or more slashes.
  let options = [''];
  segment.split('**').forEach((part, i) => {
    options = i === 0 ? [part] : options.flatMap((o) => [`${o}*${part}`, `${o}*/**/*${part}`]);
  });
  return options;
}

/** Builds the filter for a run's patterns (`include` empty: everything not excluded is selected). */
export function makePathFilter(include: readonly string[], exclude: readonly string[]): PathFilter {
  const excludeGlobs = exclude.flatMap(toGlobs);
  const includeGlobs = include.flatMap(toGlobs);
  const hasInclude = include.length > 0;
  if (excludeGlobs.length === 0 && !hasInclude) {
    return { all: true, excluded: () => false, selected: () => true, nothingBelow: () => false };
  }
  const compile = (globs: string[]): Matcher => (globs.length > 0 ? matcherOf(globs) : () => false);
  const isExcluded = compile(excludeGlobs);
  const isIncluded = compile(includeGlobs);
  // `dir/*` and `dir/**` exclude everything in a matching directory: it need not be read at all.
  const contentsExcluded = compile(
    excludeGlobs.flatMap((g) => {
      const prefix = g.endsWith('/**/*') ? g.slice(0, -5) : g.endsWith('/*') ? g.slice(0, -2) : '';
      return prefix !== '' && prefix !== '**' ? [prefix] : [];
    }),
  );
  const includeShapes = includeGlobs.map((g) => shapeOf(g));
  return {
    all: false,
    excluded: isExcluded,
    selected: (rel) => !hasInclude || isIncluded(rel),
    nothingBelow: (rel) =>
      rel !== '' && (contentsExcluded(rel) || (hasInclude && !includeShapes.some((s) => mayMatchBelow(s, rel.split('/'))))),
  };
}

/** A glob cut into per-segment matchers (`'**'` for a globstar), or undefined when it cannot be cut. */
type Shape = Array<Matcher | '**'> | undefined;

function shapeOf(glob: string): Shape {
  // Braces and extglobs may hold a `/` of their own: such a pattern may match below anything.
  if (/(?<!\\)[{}()]/.test(glob)) return undefined;
  // An empty segment (`a//x`) matches no path, as in rsync: a matcher of nothing (picomatch takes no '').
  return glob.split('/').map((s) => (s === '**' ? '**' : s === '' ? () => false : matcherOf([s])));
}

/** Whether some path below the directory `dir` (its segments) can match the glob (fast-glob's partial match). */
function mayMatchBelow(shape: Shape, dir: string[]): boolean {
  if (!shape) return true;
  for (let i = 0; i < dir.length; i++) {
    const s = shape[i];
    if (s === undefined) return false;
    if (s === '**') return true;
    if (!s(dir[i]!)) return false;
  }
  return shape.length > dir.length;
}
