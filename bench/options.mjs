/**
 * The benchmark's command line: its options, their defaults and --help.
 */
import path from 'node:path';
import { ROOT, TOOLS } from './tools.mjs';
import { TREES } from './trees.mjs';

export const RESULTS_FILE = path.join(ROOT, '.bench', 'results.json');
export const MODE_NAMES = ['tmpfs', 'disk', 'cold'];
const DEFAULT_TREES = ['small', 'large', 'mixed', 'real', 'tiny10', 'tiny100'];

const USAGE = `usage: node bench/run.mjs [options]        (or: npm run bench -- [options])

Times pcopy, cp -a, rsync -a, fs.promises.cp, two fixed references and optionally another build
of pcopy on cached trees; checks every copy; prints Markdown tables; writes ${path.relative(ROOT, RESULTS_FILE)}.

Kinds of row (--modes):
  tmpfs   source and destination on tmpfs (--dir), warm; reference: plain node (bench/plain-copy.mjs,
          one synchronous process), also without NODE_EXTRA_CA_CERTS (plainnoca: no CA bundle to
          parse as Node starts, as pcopy starts), and the floor of pcopy's shape (floor: that same
          work on forked workers, nothing else; bench/floor-copy.cjs; floor1: on one worker). The
          tiny trees run here, against a bare \`node -e 0\` (and nodenoca, the same without the
          CA bundle).
  disk    source on the disk (--disk-dir), warm in the page cache; destination on tmpfs
  cold    source on the disk, \`sync; echo 3 > /proc/sys/vm/drop_caches\` before each run (needs root;
          skipped with a message otherwise); destination on tmpfs. Reference: par-read, the device's
          parallel read \`find SRC -type f -print0 | xargs -0 -P 16 -n 64 cat > /dev/null\`;
          also \`node -e 0\` from the dropped cache: what Node's own start costs here

Options:
  --dir <path>          tmpfs for the warm sources and every destination (default: /dev/shm/pcopy-bench)
  --disk-dir <path>     a directory on the disk for the disk and cold sources, made once and kept
                        (default: /var/tmp/pcopy-bench; not on tmpfs)
  --modes <list>        any of ${MODE_NAMES.join(',')} (default: all)
  --trees <list>        any of ${Object.keys(TREES).join(',')}
                        (default: ${DEFAULT_TREES.join(',')})
${Object.entries(TREES).map(([t, text]) => `                          ${t.padEnd(8)} ${text}`).join('\n')}
  --real-tree <path>    the real tree to copy (cp -a, once per place) (default: /usr/share)
  --runs <n>            timed runs per tool in warm rows (default: 5; 10 or more for the
                        no-slower-than-baseline rule)
  --cold-runs <n>       timed runs per tool in cold rows (default: as --runs)
  --tiny-runs <n>       timed runs per tool in tiny-tree rows (default: 20)
  --tools <list>        any of ${Object.keys(TOOLS).join(',')} (default: all;
                        missing ones are skipped; each kind of row uses the ones that fit it)
  --baseline <path>     another checkout of pcopy, built (npm ci && npm run build), e.g. made with
                        \`git worktree add /work/baseline c7177b1\`: its bin/pcopy.js runs as one
                        more tool, pcopy@<commit>, in the same alternation, with the same --pcopy-args
  --pcopy-args "<args>" extra pcopy arguments, e.g. "-j 4 --chunk-size 16k"
  -h, --help            this help
`;

/** Stops the bench with a message about how it was called (exit code 2). */
export function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

/**
 * A small hand-written parser rather than util.parseArgs: that one refuses option values starting
 * with '-', and `--pcopy-args "-j 4"` is the normal case here.
 */
export function parseOptions(argv) {
  const opts = {
    dir: '/dev/shm/pcopy-bench',
    diskDir: '/var/tmp/pcopy-bench',
    modes: MODE_NAMES,
    trees: DEFAULT_TREES,
    realTree: '/usr/share',
    runs: 5,
    coldRuns: undefined,
    tinyRuns: 20,
    tools: Object.keys(TOOLS),
    baseline: undefined,
    pcopyArgs: [],
  };
  const list = (text, allowed, what) => {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((s) => !allowed.includes(s));
    if (bad.length || !items.length) fail(`unknown ${what} '${bad.join(',') || text}': use any of ${allowed.join(',')}`);
    return allowed.filter((s) => items.includes(s)); // table order, whatever order they were given in
  };
  const count = (name, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) fail(`${name} must be a whole number from 1, not '${value}'`);
    return n;
  };
  const names = ['--dir', '--disk-dir', '--modes', '--trees', '--real-tree', '--runs', '--cold-runs', '--tiny-runs', '--tools', '--baseline', '--pcopy-args'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!names.includes(name)) fail(`unknown argument '${arg}' (see --help)`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) fail(`${name} needs a value`);
    if (name === '--dir') opts.dir = path.resolve(value);
    if (name === '--disk-dir') opts.diskDir = path.resolve(value);
    if (name === '--modes') opts.modes = list(value, MODE_NAMES, 'mode');
    if (name === '--trees') opts.trees = list(value, Object.keys(TREES), 'tree');
    if (name === '--real-tree') opts.realTree = path.resolve(value);
    if (name === '--runs') opts.runs = count(name, value);
    if (name === '--cold-runs') opts.coldRuns = count(name, value);
    if (name === '--tiny-runs') opts.tinyRuns = count(name, value);
    if (name === '--tools') opts.tools = list(value, Object.keys(TOOLS), 'tool');
    if (name === '--baseline') opts.baseline = path.resolve(value);
    if (name === '--pcopy-args') opts.pcopyArgs = value.trim() ? value.trim().split(/\s+/) : [];
  }
  opts.coldRuns ??= opts.runs;
  if (!opts.baseline) opts.tools = opts.tools.filter((t) => t !== 'baseline');
  return opts;
}
