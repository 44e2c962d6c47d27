/**
 * What the benchmark runs, and which tools take part in which kind of row.
 *
 * `command(src, dest, opts)` gives the argv that copies SRC's contents into DEST (DEST does not exist
 * yet). `verify` says how its result is checked (see verify.mjs): the two references that copy
 * nothing get 'none'.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PARALLEL_READ } from './cold-cache.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'pcopy.js');
const PLAIN_COPY = path.join(ROOT, 'bench', 'plain-copy.mjs');
const FLOOR_COPY = path.join(ROOT, 'bench', 'floor-copy.cjs');

/** A child node that does only the fs.cp, so its time includes a node start like pcopy's. */
const FSCP_SCRIPT =
  "require('node:fs').promises.cp(process.argv[1], process.argv[2], { recursive: true, preserveTimestamps: true, verbatimSymlinks: true })" +
  '.catch((err) => { console.error(err); process.exitCode = 1; });';

/**
 * The environment without NODE_EXTRA_CA_CERTS: where it names a CA bundle, Node reads and parses it
 * as it starts (~35 ms here), and pcopy run as a command unsets it for itself (see bin/pcopy.js).
 */
const withoutCaBundle = (env) => {
  const { NODE_EXTRA_CA_CERTS: _unused, ...rest } = env;
  return rest;
};

export const TOOLS = {
  /** Run as a user runs it: the bin as a command (its first lines are a shell script; see bin/pcopy.js). */
  pcopy: { label: 'pcopy', command: (src, dest, opts) => [BIN, ...opts.pcopyArgs, src, dest], verify: 'hash' },
  /** Another build of pcopy (--baseline DIR), run in the same alternation and the same way; labelled pcopy@<commit>. */
  baseline: {
    label: 'baseline',
    command: (src, dest, opts) => [path.join(opts.baseline, 'bin', 'pcopy.js'), ...opts.pcopyArgs, src, dest],
    verify: 'hash',
  },
  // `SRC/.` so DEST receives SRC's contents, as with pcopy (plain `cp -a SRC DEST` nests when DEST exists).
  cp: { label: 'cp -a', command: (src, dest) => ['cp', '-a', `${src}/.`, dest], probe: ['cp', '--version'], verify: 'tree' },
  rsync: { label: 'rsync -a', command: (src, dest) => ['rsync', '-a', `${src}/`, `${dest}/`], probe: ['rsync', '--version'], verify: 'tree' },
  fscp: { label: 'fs.cp', command: (src, dest) => [process.execPath, '-e', FSCP_SCRIPT, src, dest], verify: 'tree' },
  /** Issue 9's warm reference: one plain synchronous Node process (bench/plain-copy.mjs). */
  plain: { label: 'plain node', command: (src, dest) => [process.execPath, PLAIN_COPY, src, dest], verify: 'tree' },
  /** The same plain process without the CA bundle's start-up cost, as pcopy starts (no difference where the variable is unset). */
  plainnoca: {
    label: 'plain node, no CA',
    command: (src, dest) => [process.execPath, PLAIN_COPY, src, dest],
    env: withoutCaBundle,
    verify: 'tree',
  },
  /**
   * Not a competitor: the plain process's work on pcopy's default number of forked workers, with
   * nothing of pcopy's own (bench/floor-copy.cjs), started as pcopy starts. What pcopy's shape can
   * reach at best on this machine: pcopy / floor is what pcopy's features and guarantees cost.
   */
  floor: { label: 'floor', command: (src, dest) => [process.execPath, FLOOR_COPY, src, dest], env: withoutCaBundle, verify: 'tree' },
  /** The same with one worker: a pool that does not grow (no second start to pay for, no second vCPU). */
  floor1: { label: 'floor, 1 worker', command: (src, dest) => [process.execPath, FLOOR_COPY, src, dest, '1'], env: withoutCaBundle, verify: 'tree' },
  /** Issue 9's cold reference: what the device gives 16 parallel readers of every file. */
  parread: { label: 'par-read', command: (src) => [...PARALLEL_READ, src], probe: ['xargs', '--version'], verify: 'none' },
  /** Issue 11's yardstick for tiny trees: a bare node start and exit. */
  node: { label: 'node -e 0', command: () => [process.execPath, '-e', '0'], verify: 'none' },
  nodenoca: { label: 'node -e 0, no CA', command: () => [process.execPath, '-e', '0'], env: withoutCaBundle, verify: 'none' },
};

/**
 * The kinds of row. Each has its tools (in column order) and the ratios of medians its table shows:
 * pcopy against cp -a and against the row's reference, the reference against cp -a as a check of
 * the reference, and pcopy against the baseline build.
 */
export const MODES = {
  tmpfs: {
    title: 'Warm tmpfs: source and destination in /dev/shm (--dir)',
    tools: ['pcopy', 'baseline', 'cp', 'rsync', 'fscp', 'plain', 'plainnoca', 'floor', 'floor1'],
    ratios: [
      ['pcopy', 'cp'], ['pcopy', 'plain'], ['pcopy', 'plainnoca'], ['floor', 'plain'], ['floor', 'plainnoca'], ['floor1', 'plain'], ['floor1', 'plainnoca'],
      ['pcopy', 'floor'], ['plain', 'cp'], ['pcopy', 'baseline'],
    ],
  },
  tiny: {
    title: 'Tiny trees on warm tmpfs, spawn until the last process has exited',
    tools: ['pcopy', 'baseline', 'cp', 'node', 'nodenoca'],
    ratios: [['pcopy', 'node'], ['pcopy', 'nodenoca'], ['baseline', 'node'], ['pcopy', 'baseline']],
  },
  disk: {
    title: 'Warm disk: source on the disk (--disk-dir), in the page cache; destination on tmpfs',
    tools: ['pcopy', 'baseline', 'cp', 'rsync', 'plain'],
    ratios: [['pcopy', 'cp'], ['pcopy', 'plain'], ['plain', 'cp'], ['pcopy', 'baseline']],
  },
  cold: {
    title: 'Cold disk: source on the disk, page cache dropped before each run; destination on tmpfs',
    // node -e 0 from a dropped cache: what Node's own start costs every Node tool here (its binary is read from the disk).
    tools: ['pcopy', 'baseline', 'cp', 'rsync', 'parread', 'plain', 'node'],
    ratios: [['pcopy', 'cp'], ['pcopy', 'parread'], ['parread', 'cp'], ['pcopy', 'baseline']],
  },
};

export const labelOf = (tool, opts) => (tool === 'baseline' ? opts.baselineLabel : TOOLS[tool].label);
