#!/usr/bin/env node
/**
 * pcopy benchmark: times pcopy against `cp -a`, `rsync -a` and Node's `fs.promises.cp` on seeded
 * trees from fixtures/make-tree.mjs, verifies every copy, and prints a Markdown table (also written
 * to .bench/results.json).
 *
 *   npm run bench                      build, then run with the defaults
 *   node bench/run.mjs --help          options
 *
 * Progress goes to stderr and the report (machine, table) to stdout, so
 * `node bench/run.mjs > bench.md` keeps a clean Markdown file.
 *
 * Method, and why:
 * - Every timing is one whole process from spawn to exit, so pcopy's node start, its forks and its
 *   wait for the workers count, just as cp's exec does. fs.cp runs in a child node for the same reason.
 * - Tools take turns within each iteration and the starting tool rotates, so no tool always runs
 *   first (on a cold cache) or always right after the same neighbour.
 * - DEST is removed (and the file system synced) before each run, outside the timing, so every run
 *   is a full copy into nothing: pcopy skips files whose size and mtime already match.
 * - Every copy is checked afterwards (paths, types, sizes, link targets, file mtimes to the second;
 *   for pcopy also content hashes of a sample of files). One failed check marks the tool INVALID for
 *   that tree: a fast wrong copy must not look like a win. So does a run that leaves a child
 *   process (seen while sampling memory) running after it exits: its timing would miss that work.
 * - Memory is sampled for every tool (the same sampling cost for all), but only pcopy's is in the
 *   table: the sum of VmRSS over the process and all its descendants, every ~20 ms. Shared pages
 *   (the node binary) count once per process, so this is an upper bound, and spikes shorter than
 *   the sampling interval can be missed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { makeTree } from '../fixtures/make-tree.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'pcopy.js');
const RESULTS_FILE = path.join(ROOT, '.bench', 'results.json');
const SEED = 42;

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const SAMPLE_EVERY_MS = 20;
/** Files whose content pcopy's copy is hashed for, per run (plus every big file, see below). */
const HASH_SAMPLE = 64;
/** pcopy handles files from 8 MiB on differently (src/copy.ts BIG_FILE_BYTES), so all of them are hashed. */
const BIG_FILE = 8 * MiB;

const TREES = ['small', 'large', 'mixed', 'scale'];

/**
 * Disk space (bytes) and inodes one copy of each preset needs, from the preset definitions in
 * fixtures/make-tree.mjs. Deliberately on the high side: each file is counted as its mean size plus a
 * whole 4 KiB block, and each folder or link as one block.
 */
const filesNeed = (count, lo, hi) => count * ((lo + hi) / 2 + 4 * KiB);
const NEEDS = {
  small: { bytes: filesNeed(20000, 512, 16 * KiB) + 200 * 4 * KiB, inodes: 20200 },
  large: { bytes: filesNeed(4, 512 * MiB, 512 * MiB) + 4 * KiB, inodes: 5 },
  mixed: {
    bytes: filesNeed(2000, 512, 16 * KiB) + filesNeed(40, 1 * MiB, 8 * MiB) + filesNeed(2, 256 * MiB, 256 * MiB) + 350 * 4 * KiB,
    inodes: 2400,
  },
  scale: { bytes: filesNeed(200000, 512, 4 * KiB) + 2000 * 4 * KiB, inodes: 202000 },
};

/** A child node that does only the fs.cp, so its time includes a node start like pcopy's. */
const FSCP_SCRIPT =
  "require('node:fs').promises.cp(process.argv[1], process.argv[2], { recursive: true, preserveTimestamps: true, verbatimSymlinks: true })" +
  '.catch((err) => { console.error(err); process.exitCode = 1; });';

/** `command` gives the argv that copies SRC's contents into DEST (DEST does not exist yet). */
const TOOLS = {
  pcopy: { label: 'pcopy', command: (src, dest, opts) => [process.execPath, BIN, ...opts.pcopyArgs, src, dest], hashSample: true },
  // `SRC/.` so DEST receives SRC's contents, as with pcopy (plain `cp -a SRC DEST` nests when DEST exists).
  cp: { label: 'cp -a', command: (src, dest) => ['cp', '-a', `${src}/.`, dest], probe: ['cp', '--version'] },
  rsync: { label: 'rsync -a', command: (src, dest) => ['rsync', '-a', `${src}/`, `${dest}/`], probe: ['rsync', '--version'] },
  fscp: { label: 'fs.cp', command: (src, dest) => [process.execPath, '-e', FSCP_SCRIPT, src, dest] },
};

const USAGE = `usage: node bench/run.mjs [options]        (or: npm run bench -- [options])

Times pcopy, cp -a, rsync -a and fs.promises.cp on seeded trees (cached between runs), checks
every copy, prints a Markdown table and writes ${path.relative(ROOT, RESULTS_FILE)}.

Options:
  --dir <path>          where the source and destination trees live (default: /dev/shm/pcopy-bench)
  --trees <list>        any of ${TREES.join(',')} (default: small,large,mixed)
                          small  20,000 files of 0.5-16 KiB
                          large  4 files of 512 MiB (2 GiB; needs 4 GiB free with its copy)
                          mixed  2,000 small, 40 of 1-8 MiB, 2 of 256 MiB, 200 symlinks, empty dirs
                          scale  200,000 files of 0.5-4 KiB: memory and linear growth
                                 (with small too, the scale/small time ratio is printed)
  --runs <n>            timed runs per tool and tree (default: 5)
  --tools <list>        any of ${Object.keys(TOOLS).join(',')} (default: all; missing ones are skipped)
  --pcopy-args "<args>" extra pcopy arguments, e.g. "-j 4 --chunk-size 16k"
  -h, --help            this help
`;

// ---------------------------------------------------------------------------------------------
// Options

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

/**
 * A small hand-written parser rather than util.parseArgs: that one refuses option values starting
 * with '-', and `--pcopy-args "-j 4"` is the normal case here.
 */
function parseOptions(argv) {
  const opts = { dir: '/dev/shm/pcopy-bench', trees: ['small', 'large', 'mixed'], runs: 5, tools: Object.keys(TOOLS), pcopyArgs: [] };
  const list = (text, allowed, what) => {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((s) => !allowed.includes(s));
    if (bad.length || !items.length) fail(`unknown ${what} '${bad.join(',') || text}': use any of ${allowed.join(',')}`);
    return [...new Set(items)];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!['--dir', '--trees', '--runs', '--tools', '--pcopy-args'].includes(name)) fail(`unknown argument '${arg}' (see --help)`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) fail(`${name} needs a value`);
    if (name === '--dir') opts.dir = path.resolve(value);
    if (name === '--trees') opts.trees = list(value, TREES, 'tree');
    if (name === '--tools') opts.tools = list(value, Object.keys(TOOLS), 'tool');
    if (name === '--pcopy-args') opts.pcopyArgs = value.trim() ? value.trim().split(/\s+/) : [];
    if (name === '--runs') {
      opts.runs = Number(value);
      if (!Number.isInteger(opts.runs) || opts.runs < 1) fail(`--runs must be a whole number from 1, not '${value}'`);
    }
  }
  // Keep the table's column order whatever order the tools were given in.
  opts.tools = Object.keys(TOOLS).filter((t) => opts.tools.includes(t));
  opts.trees = TREES.filter((t) => opts.trees.includes(t));
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Machine and environment

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error || r.status !== 0 ? undefined : r.stdout.split('\n')[0].trim();
}

function cpuModel() {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    // x86 says "model name"; some ARM kernels only have "Hardware" or "Processor".
    const m = /^(?:model name|Hardware|Processor)\s*:\s*(.+)$/m.exec(info);
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

function machineInfo(opts, available) {
  const git = firstLine('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = firstLine('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']) ? ' + uncommitted changes in src/' : '';
  return {
    nproc: Number(firstLine('nproc', [])) || os.availableParallelism(),
    cpu: cpuModel(),
    memory: `${(os.totalmem() / GiB).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    cp: firstLine('cp', ['--version']) ?? 'not found',
    rsync: available.rsync ? firstLine('rsync', ['--version']) : 'not found',
    dir: opts.dir,
    fsType: firstLine('stat', ['-f', '-c', '%T', opts.dir]) ?? 'unknown',
    pcopy: `${git ?? 'unknown commit'}${dirty}`,
    pcopyArgs: opts.pcopyArgs.join(' '),
  };
}

/** Which tools can run here: a tool with a probe command must answer it. */
function availableTools(opts) {
  const available = {};
  for (const name of opts.tools) {
    const probe = TOOLS[name].probe;
    available[name] = !probe || spawnSync(probe[0], probe.slice(1), { stdio: 'ignore' }).status === 0;
  }
  return available;
}

/** pcopy runs from dist/, which `npm run bench` builds; a direct `node bench/run.mjs` may find it old or missing. */
function checkBuild() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) fail('dist/ is missing: build first with `npx tsc -p .` (npm run bench does it)');
  const stale = fs
    .readdirSync(path.join(ROOT, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => {
      const js = path.join(ROOT, 'dist', f.replace(/\.ts$/, '.js'));
      return !fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(path.join(ROOT, 'src', f)).mtimeMs;
    });
  if (stale.length) process.stderr.write(`bench: warning: dist/ is older than src/${stale[0]}${stale.length > 1 ? ` and ${stale.length - 1} more` : ''}: run \`npx tsc -p .\`\n`);
}

/**
 * Runs pcopy once on a tiny tree with the chosen --pcopy-args, so a typo in them stops the bench at
 * once instead of after generating gigabytes and marking every pcopy run INVALID.
 */
function preflightPcopy(opts) {
  const dir = fs.mkdtempSync(path.join(opts.dir, '.preflight-'));
  let r;
  try {
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src', 'file'), 'x');
    r = spawnSync(process.execPath, [BIN, ...opts.pcopyArgs, path.join(dir, 'src'), path.join(dir, 'dest')], { encoding: 'utf8' });
  } finally {
    removeTree(dir); // before fail(): process.exit skips finally blocks
  }
  if (r.status !== 0) fail(`pcopy${opts.pcopyArgs.length ? ` ${opts.pcopyArgs.join(' ')}` : ''} fails on a one-file tree (exit ${r.status}):\n${r.stderr.trim()}`);
}

// ---------------------------------------------------------------------------------------------
// Trees and space

const treeDirs = (opts, tree) => ({ src: path.join(opts.dir, tree, 'src'), dest: path.join(opts.dir, tree, 'dest') });

/** Mirrors makeTree's cache marker (fixtures/make-tree.mjs), so the space check can skip cached sources. */
function isCached(src, tree) {
  const marker = path.join(path.dirname(src), `.${path.basename(src)}.${tree}-${SEED}.complete`);
  return fs.existsSync(marker) && fs.existsSync(src);
}

/** mkdir -p, by hand: Node 20's recursive mkdirSync spins forever where mkdir fails with ENOENT under an existing parent (as in /proc). */
function makeDirs(dir) {
  if (fs.existsSync(dir)) return;
  makeDirs(path.dirname(dir));
  fs.mkdirSync(dir);
}

/** Makes files and folders writable again so leftovers of any copy can be removed. */
function removeTree(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    if (err.code !== 'EACCES' && err.code !== 'EPERM') throw err;
    spawnSync('chmod', ['-R', 'u+rwx', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Checks up front that the trees fit: every source still to generate plus one copy at a time (each
 * tree's DEST is removed before the next tree starts). Failing here beats an ENOSPC half-way.
 */
function checkSpace(opts) {
  const st = fs.statfsSync(opts.dir);
  const freeBytes = st.bavail * st.bsize;
  let bytes = 0;
  let inodes = 0;
  let copyBytes = 0;
  let copyInodes = 0;
  for (const tree of opts.trees) {
    if (!isCached(treeDirs(opts, tree).src, tree)) {
      bytes += NEEDS[tree].bytes;
      inodes += NEEDS[tree].inodes;
    }
    copyBytes = Math.max(copyBytes, NEEDS[tree].bytes);
    copyInodes = Math.max(copyInodes, NEEDS[tree].inodes);
  }
  bytes += copyBytes;
  inodes += copyInodes;
  const gib = (n) => `${(n / GiB).toFixed(2)} GiB`;
  if (bytes > freeBytes) {
    fail(
      `not enough space in ${opts.dir}: the trees ${opts.trees.join(',')} need about ${gib(bytes)} ` +
        `(sources not yet generated, plus one copy), but only ${gib(freeBytes)} is free.\n` +
        `Pick another place with --dir, fewer trees with --trees, or free some space` +
        (opts.dir.startsWith('/dev/shm') ? ' (/dev/shm is RAM: its size is a mount option of tmpfs).' : '.'),
    );
  }
  // Some file systems (btrfs) report no inode limit at all (files = 0).
  if (st.files > 0 && inodes > st.ffree) {
    fail(`not enough inodes in ${opts.dir}: the trees need about ${inodes.toLocaleString('en-US')}, ${st.ffree.toLocaleString('en-US')} are free. Use another --dir.`);
  }
}

/**
 * Every entry below `root`, keyed by relative path, with what the verification compares. Never
 * follows links.
 */
function walk(root) {
  const entries = new Map();
  const visit = (rel) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs, { bigint: true });
      if (st.isSymbolicLink()) entries.set(r, { type: 'link', target: fs.readlinkSync(abs) });
      else if (st.isFile()) entries.set(r, { type: 'file', size: Number(st.size), mtimeNs: st.mtimeNs });
      else if (st.isDirectory()) {
        entries.set(r, { type: 'dir' });
        visit(r);
      } else entries.set(r, { type: 'other' });
    }
  };
  visit('');
  return entries;
}

function describeTree(entries) {
  let files = 0;
  let bytes = 0;
  let dirs = 0;
  let links = 0;
  for (const e of entries.values()) {
    if (e.type === 'file') {
      files++;
      bytes += e.size;
    } else if (e.type === 'dir') dirs++;
    else if (e.type === 'link') links++;
  }
  return { files, bytes, dirs, links };
}

// ---------------------------------------------------------------------------------------------
// Verification

/**
 * mtimes must agree to within a second. Not "the same whole second": fs.cp keeps milliseconds and
 * rounds, so x.9996 s becomes x+1.000 s; the check is meant to catch a missing or wrong time, not to
 * rank precision.
 */
const sameSecond = (a, b) => (a > b ? a - b : b - a) < 1_000_000_000n;

/** Differences between the source and the copy, as readable lines (empty when they match). */
function compareTrees(src, dest) {
  const problems = [];
  for (const [rel, a] of src) {
    const b = dest.get(rel);
    if (!b) problems.push(`missing: ${rel}`);
    else if (a.type !== b.type) problems.push(`${rel}: is a ${b.type}, not a ${a.type}`);
    else if (a.type === 'file' && a.size !== b.size) problems.push(`${rel}: size ${b.size}, not ${a.size}`);
    else if (a.type === 'file' && !sameSecond(a.mtimeNs, b.mtimeNs)) problems.push(`${rel}: mtime ${b.mtimeNs} ns, not ${a.mtimeNs} ns`);
    else if (a.type === 'link' && a.target !== b.target) problems.push(`${rel}: link to '${b.target}', not '${a.target}'`);
  }
  for (const rel of dest.keys()) if (!src.has(rel)) problems.push(`extra: ${rel}`);
  return problems;
}

function hashFile(file) {
  const hash = createHash('sha1');
  const buf = Buffer.allocUnsafe(4 * MiB);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Files whose content is compared after a pcopy run: every big file, and an evenly spread sample of
 * the rest whose offset moves with the run, so successive runs look at different files.
 */
function hashSample(srcEntries, run) {
  const files = [...srcEntries].filter(([, e]) => e.type === 'file').map(([rel, e]) => [rel, e.size]);
  files.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const stride = Math.max(1, Math.ceil(files.length / HASH_SAMPLE));
  return files.filter(([, size], i) => size >= BIG_FILE || i % stride === run % stride).map(([rel]) => rel);
}

function verifyCopy(tree, tool, run) {
  const problems = compareTrees(tree.entries, walk(tree.dest));
  if (problems.length === 0 && TOOLS[tool].hashSample) {
    for (const rel of hashSample(tree.entries, run)) {
      // Source hashes are kept across runs: the source never changes.
      if (!tree.srcHashes.has(rel)) tree.srcHashes.set(rel, hashFile(path.join(tree.src, rel)));
      if (hashFile(path.join(tree.dest, rel)) !== tree.srcHashes.get(rel)) problems.push(`${rel}: content differs`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Timing and memory

/** pid → ppid of every process now; processes that exit while we read are just left out. */
function processParents() {
  const parents = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // only the numeric entries are processes
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue;
    }
    // The command name in parentheses may hold spaces and ')', so count fields from its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(name), { ppid: Number(fields[1]), state: fields[0] });
  }
  return parents;
}

function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0; // zombies have no VmRSS
  } catch {
    return 0;
  }
}

/**
 * Samples the summed VmRSS of `rootPid` and all its descendants until stopped. Also remembers every
 * descendant seen, to check afterwards that none outlived the process being timed.
 */
function startMemorySampler(rootPid) {
  let peakKiB = 0;
  const seen = new Set();
  const sample = () => {
    const children = new Map();
    for (const [pid, { ppid }] of processParents()) {
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(pid);
    }
    let sum = 0;
    const queue = [rootPid];
    while (queue.length) {
      const pid = queue.pop();
      if (pid !== rootPid) seen.add(pid);
      sum += rssKiB(pid);
      queue.push(...(children.get(pid) ?? []));
    }
    peakKiB = Math.max(peakKiB, sum);
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  return {
    stop() {
      clearInterval(timer);
      return { peakKiB, descendants: seen };
    },
  };
}

/**
 * Descendants of a finished process that still run (not zombies): work the timing did not include.
 * Only children seen by a sample count: a double fork that reparents at once escapes this check.
 */
function survivors(descendants) {
  const now = processParents();
  return [...descendants].filter((pid) => now.has(pid) && now.get(pid).state !== 'Z');
}

/** Runs `argv` to completion; `seconds` is spawn to exit of that process. */
function timeRun(argv) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const sampler = child.pid ? startMemorySampler(child.pid) : undefined;
    let stderr = '';
    let exit;
    child.stderr.on('data', (d) => {
      if (stderr.length < 64 * KiB) stderr += d;
    });
    child.on('exit', (code, signal) => {
      const seconds = (performance.now() - started) / 1000;
      const mem = sampler?.stop();
      exit = { seconds, code, signal, peakKiB: mem?.peakKiB ?? 0, survivors: mem ? survivors(mem.descendants) : [] };
    });
    // 'close' comes once every holder of the stderr pipe (pcopy's workers too) is gone.
    child.on('close', () => exit && resolve({ ...exit, stderr }));
    child.on('error', (err) => {
      sampler?.stop();
      resolve({ seconds: NaN, code: null, signal: null, peakKiB: 0, survivors: [], stderr: String(err) });
    });
  });
}

/** Writes out dirty pages (of the last copy or removal) so they do not slow the next timed run. */
function syncFileSystem(dir) {
  if (spawnSync('sync', ['-f', dir]).status !== 0) spawnSync('sync');
}

// ---------------------------------------------------------------------------------------------
// Running

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const log = (line) => process.stderr.write(`${line}\n`);

async function benchTree(opts, available, name) {
  const { src, dest } = treeDirs(opts, name);
  const t0 = performance.now();
  log(`\n[${name}] preparing the source tree in ${src} …`);
  let made;
  try {
    made = makeTree(name, src, SEED);
  } catch (err) {
    // A broken generator should not cost the other trees their results.
    log(`[${name}] could not generate the tree: ${err.message}`);
    removeTree(src); // a half-made tree only takes space; makeTree starts over next time anyway
    return { tree: name, error: `tree generation failed: ${err.message}` };
  }
  const entries = walk(src);
  const info = describeTree(entries);
  log(
    `[${name}] ${made ? `generated in ${((performance.now() - t0) / 1000).toFixed(1)} s` : 'cached'}: ` +
      `${info.files.toLocaleString('en-US')} files, ${formatBytes(info.bytes)}, ${info.dirs} folders, ${info.links} symlinks`,
  );

  const tree = { src, dest, entries, srcHashes: new Map() };
  const tools = opts.tools.filter((t) => available[t]);
  const runs = Object.fromEntries(tools.map((t) => [t, []]));
  for (let iter = 0; iter < opts.runs; iter++) {
    const order = tools.map((_, i) => tools[(i + iter) % tools.length]);
    for (const tool of order) {
      removeTree(dest);
      syncFileSystem(opts.dir);
      const r = await timeRun(TOOLS[tool].command(src, dest, opts));
      const problems = [];
      if (r.code !== 0) problems.push(`exit ${r.signal ?? r.code}: ${r.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
      if (r.survivors.length) problems.push(`${r.survivors.length} child process(es) still running after exit`);
      if (!problems.length) problems.push(...verifyCopy(tree, tool, iter));
      runs[tool].push({ seconds: r.seconds, peakRssMiB: r.peakKiB / 1024, ok: problems.length === 0, problems: problems.slice(0, 10), problemCount: problems.length });
      log(
        `[${name}] run ${iter + 1}/${opts.runs}  ${TOOLS[tool].label.padEnd(8)} ${r.seconds.toFixed(3).padStart(8)} s  ` +
          `peak ${(r.peakKiB / 1024).toFixed(0).padStart(5)} MiB  ${problems.length ? `INVALID (${problems.length} problems): ${problems.slice(0, 3).join('; ')}` : 'ok'}`,
      );
    }
  }
  removeTree(dest);

  const results = {};
  for (const tool of opts.tools) {
    if (!available[tool]) {
      results[tool] = { label: TOOLS[tool].label, available: false };
      continue;
    }
    const rs = runs[tool];
    const valid = rs.every((r) => r.ok);
    results[tool] = {
      label: TOOLS[tool].label,
      available: true,
      valid,
      medianSeconds: valid ? median(rs.map((r) => r.seconds)) : null,
      peakRssMiB: Math.max(...rs.map((r) => r.peakRssMiB)),
      runs: rs,
    };
  }
  return { tree: name, ...info, tools: results };
}

// ---------------------------------------------------------------------------------------------
// Report

function formatBytes(n) {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / KiB).toFixed(1)} KiB`;
}

const medianOf = (tree, tool) => {
  const r = tree.tools?.[tool];
  return r?.available && r.valid ? r.medianSeconds : undefined;
};

function ratio(tree, a, b) {
  const x = medianOf(tree, a);
  const y = medianOf(tree, b);
  return x !== undefined && y !== undefined ? (x / y).toFixed(2) : '—';
}

function timeCell(tree, tool) {
  const r = tree.tools?.[tool];
  if (!r) return '—';
  if (!r.available) return 'not installed';
  return r.valid ? r.medianSeconds.toFixed(3) : 'INVALID';
}

/** A Markdown table with padded columns, so it reads well in a terminal and renders in a README. */
function markdownTable(header, rows, rightAligned) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function resultsTable(opts, trees) {
  const tools = opts.tools;
  const header = ['tree', 'files', 'bytes', ...tools.map((t) => `${TOOLS[t].label} (s)`)];
  const ratios = [];
  if (tools.includes('cp')) {
    if (tools.includes('pcopy')) ratios.push(['pcopy', 'pcopy / cp']);
    if (tools.includes('fscp')) ratios.push(['fscp', 'fs.cp / cp']);
  }
  header.push(...ratios.map(([, h]) => h));
  if (tools.includes('pcopy')) header.push('pcopy peak RSS (MiB)');
  const rows = trees.map((t) => {
    if (t.error) return [t.tree, '—', '—', ...tools.map(() => '—'), ...ratios.map(() => '—'), ...(tools.includes('pcopy') ? ['—'] : [])];
    const row = [t.tree, t.files.toLocaleString('en-US'), formatBytes(t.bytes), ...tools.map((tool) => timeCell(t, tool))];
    row.push(...ratios.map(([tool]) => ratio(t, tool, 'cp')));
    if (tools.includes('pcopy')) row.push(t.tools.pcopy?.available ? t.tools.pcopy.peakRssMiB.toFixed(0) : '—');
    return row;
  });
  return markdownTable(header, rows, header.map((_, i) => i > 0));
}

/** scale has 10× the files of small: a ratio near 10 means the time grows linearly with the file count. */
function scaleRatios(trees) {
  const small = trees.find((t) => t.tree === 'small' && !t.error);
  const scale = trees.find((t) => t.tree === 'scale' && !t.error);
  if (!small || !scale) return undefined;
  const out = { files: scale.files / small.files };
  for (const tool of ['pcopy', 'cp']) {
    const a = medianOf(scale, tool);
    const b = medianOf(small, tool);
    if (a !== undefined && b !== undefined) out[tool] = a / b;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  checkBuild();
  try {
    makeDirs(opts.dir);
  } catch (err) {
    fail(`cannot use --dir ${opts.dir}: ${err.message}`);
  }
  const available = availableTools(opts);
  for (const t of opts.tools) if (!available[t]) log(`bench: ${TOOLS[t].label} is not installed here; it is left out`);
  if (opts.runs < 5) log(`bench: note: ${opts.runs} run(s) per tool; use 5 or more for numbers worth publishing`);
  if (available.pcopy) preflightPcopy(opts);
  // Leftover copies of an interrupted bench would otherwise count against the space check.
  for (const tree of opts.trees) removeTree(treeDirs(opts, tree).dest);
  checkSpace(opts);

  const machine = machineInfo(opts, available);
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out('## pcopy benchmark');
  out();
  out(`- CPU: ${machine.cpu} (nproc ${machine.nproc}), RAM ${machine.memory}`);
  out(`- kernel: ${machine.kernel}`);
  out(`- node: ${machine.node}`);
  out(`- cp: ${machine.cp}`);
  if (opts.tools.includes('rsync')) out(`- rsync: ${machine.rsync}`);
  out(`- trees in: ${machine.dir} (${machine.fsType})`);
  out(`- pcopy: ${machine.pcopy}${machine.pcopyArgs ? `, args: \`${machine.pcopyArgs}\`` : ', default options'}`);
  out(`- ${opts.runs} timed run${opts.runs === 1 ? '' : 's'} per tool and tree, round-robin; median seconds, spawn to exit`);

  const started = new Date();
  const trees = [];
  for (const name of opts.trees) trees.push(await benchTree(opts, available, name));

  out();
  out(resultsTable(opts, trees));
  const scale = scaleRatios(trees);
  if (scale) {
    out();
    const part = (tool, label) => (scale[tool] !== undefined ? `${label} ${scale[tool].toFixed(2)}×` : undefined);
    out(`scale / small time (${scale.files.toFixed(0)}× the files): ${[part('pcopy', 'pcopy'), part('cp', 'cp -a')].filter(Boolean).join(', ') || '—'}`);
  }
  const invalid = trees.flatMap((t) => Object.entries(t.tools ?? {}).filter(([, r]) => r.available && !r.valid).map(([tool]) => `${t.tree}/${TOOLS[tool].label}`));
  const failedTrees = trees.filter((t) => t.error);
  if (invalid.length || failedTrees.length) {
    out();
    if (invalid.length) out(`INVALID (a copy failed or did not match its source; details in ${path.relative(ROOT, RESULTS_FILE)}): ${invalid.join(', ')}`);
    for (const t of failedTrees) out(`${t.tree}: ${t.error}`);
  }

  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  const json = { started: started.toISOString(), finished: new Date().toISOString(), machine, options: { ...opts, seed: SEED }, trees, scaleSmall: scale ?? null };
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(json, null, 2)}\n`);
  log(`\nbench: results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  if (invalid.length || failedTrees.length) process.exitCode = 1;
}

await main();
