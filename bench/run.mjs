#!/usr/bin/env node
/**
 * pcopy benchmark: times pcopy against `cp -a`, `rsync -a`, Node's `fs.promises.cp`, issue 9's two
 * fixed references, the floor of pcopy's shape (floor-copy.cjs) and (optionally) another build of
 * pcopy, on seeded trees, a real tree and tiny trees, warm in tmpfs, warm on the disk and cold on
 * the disk. Every copy is verified. Prints one
 * Markdown table per kind of row (also written to .bench/results.json).
 *
 *   npm run bench                      build, then run with the defaults
 *   node bench/run.mjs --help          options
 *
 * Options (details in --help):
 *   --dir DIR          tmpfs for the warm-tmpfs sources and every destination (/dev/shm/pcopy-bench)
 *   --disk-dir DIR     on a disk: the sources of the warm-disk and cold rows (/var/tmp/pcopy-bench)
 *   --modes LIST       tmpfs,disk,cold (tiny trees run with tmpfs)
 *   --trees LIST       small,large,mixed,scale,real,tiny10,tiny100
 *   --real-tree DIR    the real tree copied (cp -a, once) into --dir and --disk-dir (/usr/share)
 *   --runs N, --cold-runs N, --tiny-runs N      timed runs per tool and row
 *   --tools LIST       pcopy,baseline,cp,rsync,fscp,plain,plainnoca,floor,floor1,parread,node,nodenoca
 *   --baseline DIR     another built checkout of pcopy, run as the tool `pcopy@<commit>`
 *   --pcopy-args ARGS  extra arguments for pcopy (and the baseline)
 *
 * Progress goes to stderr and the report to stdout, so `node bench/run.mjs > bench.md` keeps a clean
 * Markdown file.
 *
 * Method, and why:
 * - Every timing is one whole process from spawn until it has exited and every holder of its stderr
 *   has closed it (pcopy's forked workers inherit stderr), so pcopy's node start, its forks and its
 *   wait for the workers count, just as cp's exec does. fs.cp runs in a child node for the same reason.
 * - Tools take turns within each iteration and the starting tool rotates, so no tool always runs
 *   first or always right after the same neighbour. The baseline build is one more tool in that
 *   alternation, which is what makes "pcopy / baseline" (a ratio of medians) fair on a noisy machine.
 * - DEST (always on tmpfs, under --dir) is removed before each run, outside the timing, so every run
 *   is a full copy into nothing. Warm rows then sync; cold rows sync and drop the page cache
 *   (cold-cache.mjs) and read nothing before the tool starts. Warm-disk rows read their source once,
 *   untimed, before the first run.
 * - Every copy is checked afterwards (paths, types, sizes, link targets, file mtimes to the second;
 *   for pcopy also content hashes of a sample of files). One failed check marks the tool INVALID for
 *   that row: a fast wrong copy must not look like a win. So does a child process left running after
 *   the untimed, sampled run (below) ends: a timing would miss that work.
 * - Memory is measured in one untimed run per tool and row, before the timed ones (it also loads
 *   every binary into the cache and checks that no process outlives a run): the sum of VmRSS over
 *   the process and all its descendants, every ~20 ms. Shared pages (the node binary) count once per
 *   process, so this is an upper bound, and spikes shorter than the sampling interval can be missed.
 *   Only pcopy's is in the table. Timed runs are not sampled: reading /proc every 20 ms takes CPU
 *   from the tool being timed, and more from one of several processes (pcopy's pool) than from one
 *   (warm tmpfs, pcopy / plain node, sampled vs unsampled runs in alternation: `mixed` 0.96 vs 0.92
 *   over 16 runs, `small` 1.12 vs 0.97 over 8; plain node's own times moved by under 3%).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { diskDirProblem, dropCaches, dropCachesProblem, warmTree } from './cold-cache.mjs';
import { commitOf, loadAverage, machineInfo } from './machine.mjs';
import { median, syncFileSystem, timeRun } from './measure.mjs';
import { RESULTS_FILE, fail, parseOptions } from './options.mjs';
import { cpuTable, formatBytes, modeTable, scaleRatios } from './report.mjs';
import { SEED, describeTree, isTiny, makeDirs, prepareSource, realTreeNeeds, removeTree, spaceProblem, treeDirs, walk } from './trees.mjs';
import { BIN, MODES, ROOT, TOOLS, labelOf } from './tools.mjs';
import { verifyCopy } from './verify.mjs';

const log = (line) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Builds and tools

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
function checkBuild(root, what) {
  if (!fs.existsSync(path.join(root, 'dist', 'cli.js'))) fail(`${what}: ${root}/dist/ is missing: build it first (npm ci && npm run build)`);
  const stale = fs
    .readdirSync(path.join(root, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => {
      const js = path.join(root, 'dist', f.replace(/\.ts$/, '.js'));
      return !fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(path.join(root, 'src', f)).mtimeMs;
    });
  if (stale.length) log(`bench: warning: ${what}: dist/ is older than src/${stale[0]}${stale.length > 1 ? ` and ${stale.length - 1} more` : ''}: run \`npm run build\` in ${root}`);
}

/**
 * Runs a pcopy build once on a one-file tree with the chosen --pcopy-args, so a typo in them stops
 * the bench at once instead of after generating gigabytes and marking every pcopy run INVALID.
 */
function preflight(tool, opts) {
  const dir = fs.mkdtempSync(path.join(opts.dir, '.preflight-'));
  let r;
  try {
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src', 'file'), 'x');
    const argv = TOOLS[tool].command(path.join(dir, 'src'), path.join(dir, 'dest'), opts);
    r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  } finally {
    removeTree(dir); // before fail(): process.exit skips finally blocks
  }
  if (r.status !== 0) fail(`${labelOf(tool, opts)}${opts.pcopyArgs.length ? ` ${opts.pcopyArgs.join(' ')}` : ''} fails on a one-file tree (exit ${r.status}):\n${r.stderr.trim()}`);
}

// ---------------------------------------------------------------------------------------------
// Rows

/** Makes (or finds cached) the source of `tree` under `base`, walked once for verification. */
function loadSource(base, tree, opts) {
  const { src } = treeDirs(base, tree);
  const t0 = performance.now();
  log(`\n[${tree}] preparing the source tree in ${src} …`);
  let made;
  try {
    made = prepareSource(tree, src, opts);
  } catch (err) {
    // A broken generator or copy should not cost the other trees their results.
    log(`[${tree}] could not make the tree: ${err.message}`);
    removeTree(src); // a half-made tree only takes space; it is made again next time anyway
    return { error: `making the tree failed: ${err.message}` };
  }
  const entries = walk(src);
  const info = describeTree(entries);
  log(
    `[${tree}] ${made ? `made in ${((performance.now() - t0) / 1000).toFixed(1)} s` : 'cached'}: ` +
      `${info.files.toLocaleString('en-US')} files, ${formatBytes(info.bytes)}, ${info.dirs} folders, ${info.links} symlinks`,
  );
  return { src, entries, ...info, srcHashes: new Map() };
}

/** Runs one tool once; returns the run's record, with its problems (none: a valid run). */
async function runOnce(row, tool, iter, opts, sample) {
  const r = await timeRun(TOOLS[tool].command(row.src, row.dest, opts), { sample, env: TOOLS[tool].env?.(process.env) });
  const problems = [];
  if (r.code !== 0) problems.push(`exit ${r.signal ?? r.code}: ${r.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
  if (r.survivors.length) problems.push(`${r.survivors.length} child process(es) still running after it ended`);
  if (!problems.length) problems.push(...verifyCopy(row, TOOLS[tool].verify, iter));
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, peakRssMiB: r.peakKiB / 1024, ok: problems.length === 0, problems: problems.slice(0, 10), problemCount: problems.length };
}

const outcomeOf = (r) => (r.ok ? 'ok' : `INVALID (${r.problemCount} problems): ${r.problems.slice(0, 3).join('; ')}`);

/** Times `tools` on one source, alternating; `mode` says how the cache is set before each run. */
async function benchRow(opts, mode, tree, source, tools) {
  const name = `${mode}/${tree}`;
  const row = { src: source.src, dest: treeDirs(opts.dir, tree).dest, entries: source.entries, srcHashes: source.srcHashes };
  const count = mode === 'cold' ? opts.coldRuns : mode === 'tiny' ? opts.tinyRuns : opts.runs;
  const runs = Object.fromEntries(tools.map((t) => [t, []]));
  const before = () => {
    removeTree(row.dest);
    if (mode === 'cold') dropCaches();
    else syncFileSystem(opts.dir);
  };
  if (mode === 'disk') {
    log(`[${name}] reading the source once into the page cache (untimed)`);
    warmTree(row.src);
  }
  // Untimed and sampled: memory, every binary in the cache, and no process outliving a run.
  const sampled = {};
  for (const tool of tools) {
    before();
    const r = await runOnce(row, tool, 0, opts, true);
    sampled[tool] = r;
    if (!r.ok) runs[tool].push(r);
    log(`[${name}] untimed  ${labelOf(tool, opts).padEnd(13)} peak ${r.peakRssMiB.toFixed(0).padStart(5)} MiB  ${outcomeOf(r)}`);
  }
  for (let iter = 0; iter < count; iter++) {
    const order = tools.map((_, i) => tools[(i + iter) % tools.length]);
    for (const tool of order) {
      before();
      const r = await runOnce(row, tool, iter, opts, false);
      runs[tool].push(r);
      log(`[${name}] run ${iter + 1}/${count}  ${labelOf(tool, opts).padEnd(13)} ${r.seconds.toFixed(3).padStart(8)} s  ${outcomeOf(r)}`);
    }
  }
  removeTree(row.dest);
  const results = {};
  for (const tool of tools) {
    const rs = runs[tool];
    const valid = rs.every((r) => r.ok);
    const seconds = rs.map((r) => r.seconds);
    results[tool] = {
      label: labelOf(tool, opts),
      valid,
      medianSeconds: valid ? median(seconds) : null,
      medianCpuSeconds: valid ? median(rs.map((r) => r.cpuSeconds)) : null,
      minSeconds: Math.min(...seconds),
      maxSeconds: Math.max(...seconds),
      peakRssMiB: sampled[tool].peakRssMiB,
      runs: rs,
    };
  }
  return { mode, tree, files: source.files, bytes: source.bytes, dirs: source.dirs, links: source.links, runs: count, tools: results };
}

// ---------------------------------------------------------------------------------------------

/** Settles which kinds of row can run here, with one message for each that cannot. */
function settleModes(opts) {
  const diskModes = opts.modes.filter((m) => m !== 'tmpfs');
  if (diskModes.length) {
    try {
      makeDirs(opts.diskDir);
    } catch (err) {
      fail(`cannot use --disk-dir ${opts.diskDir}: ${err.message}`);
    }
    const problem = diskDirProblem(opts.diskDir);
    if (problem) {
      log(`bench: skipping the warm-disk and cold rows: ${problem} (name a directory on a disk with --disk-dir)`);
      opts.modes = opts.modes.filter((m) => m === 'tmpfs');
    }
  }
  if (opts.modes.includes('cold')) {
    const problem = dropCachesProblem();
    if (problem) {
      log(`bench: skipping the cold-cache rows: the page cache cannot be dropped here: ${problem}`);
      opts.modes = opts.modes.filter((m) => m !== 'cold');
    }
  }
  opts.diskModes = opts.modes.filter((m) => m !== 'tmpfs');
}

/** The rows to run, in report order: [kind of row, tree]. Tiny trees only run warm on tmpfs. */
function planRows(opts) {
  const plan = [];
  for (const mode of opts.modes) {
    for (const tree of opts.trees) if (!isTiny(tree)) plan.push([mode, tree]);
    if (mode === 'tmpfs') for (const tree of opts.trees) if (isTiny(tree)) plan.push(['tiny', tree]);
  }
  return plan;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  // pcopy and the baseline run as commands, whose first line starts `node` from PATH: the Node that
  // runs the bench goes first there, so every tool runs on the same binary (see tools.mjs).
  process.env.PATH = [path.dirname(process.execPath), process.env.PATH].filter(Boolean).join(path.delimiter);
  checkBuild(ROOT, 'pcopy');
  if (opts.baseline) {
    if (!fs.existsSync(path.join(opts.baseline, 'bin', 'pcopy.js'))) fail(`--baseline ${opts.baseline} has no bin/pcopy.js: name a checkout of pcopy`);
    checkBuild(opts.baseline, 'baseline');
    opts.baselineLabel = `pcopy@${commitOf(opts.baseline)}`;
  }
  try {
    makeDirs(opts.dir);
  } catch (err) {
    fail(`cannot use --dir ${opts.dir}: ${err.message}`);
  }
  settleModes(opts);
  if (opts.trees.includes('real')) {
    if (!fs.existsSync(opts.realTree)) fail(`--real-tree ${opts.realTree} does not exist`);
    log(`bench: measuring the real tree ${opts.realTree} …`);
    opts.realNeeds = realTreeNeeds(opts.realTree);
  }
  const available = availableTools(opts);
  for (const t of opts.tools) if (!available[t]) log(`bench: ${labelOf(t, opts)} is not installed here; it is left out`);
  if (opts.runs < 5) log(`bench: note: ${opts.runs} run(s) per tool; use 5 or more for numbers worth publishing (10 or more against a baseline)`);
  for (const tool of ['pcopy', 'baseline']) if (available[tool]) preflight(tool, opts);
  const plan = planRows(opts);
  // Leftover copies of an interrupted bench would otherwise count against the space check.
  for (const tree of opts.trees) removeTree(treeDirs(opts.dir, tree).dest);
  const onTmpfs = opts.modes.includes('tmpfs') ? opts.trees : [];
  const onDisk = opts.diskModes.length ? opts.trees.filter((t) => !isTiny(t)) : [];
  const space = spaceProblem(opts.dir, onTmpfs, [...new Set(plan.map(([, t]) => t))], opts) ?? (onDisk.length ? spaceProblem(opts.diskDir, onDisk, [], opts) : undefined);
  if (space) fail(`${space}.\nPick other places with --dir / --disk-dir, fewer trees with --trees, or free some space (tmpfs is RAM: its size is a mount option).`);

  const machine = machineInfo(opts, available);
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out('## pcopy benchmark');
  out();
  out(`- CPU: ${machine.cpu} (nproc ${machine.nproc}), RAM ${machine.memory}; load average at start ${machine.loadAtStart}`);
  out(`- kernel: ${machine.kernel}; node: ${machine.node}`);
  out(`- cp: ${machine.cp}${opts.tools.includes('rsync') ? `; rsync: ${machine.rsync}` : ''}`);
  out(`- tmpfs trees and every destination: ${machine.dir}; disk trees: ${machine.diskDir}`);
  out(`- pcopy: ${machine.pcopy}${machine.baseline ? `; baseline: ${machine.baseline}` : ''}${machine.pcopyArgs ? `; args: \`${machine.pcopyArgs}\`` : '; default options'}`);
  const counts = [[opts.runs, 'warm', ['tmpfs', 'disk']], [opts.coldRuns, 'cold', ['cold']], [opts.tinyRuns, 'tiny', ['tiny']]];
  const ran = counts.filter(([, , modes]) => plan.some(([m]) => modes.includes(m))).map(([n, what]) => `${n} ${what}`);
  out(`- timed runs per tool: ${ran.join(', ')}; round-robin; median seconds, spawn to exit of the last process`);

  const started = new Date();
  const sources = new Map();
  const rows = [];
  for (const [mode, tree] of plan) {
    const base = mode === 'disk' || mode === 'cold' ? opts.diskDir : opts.dir;
    const key = `${base}\n${tree}`;
    if (!sources.has(key)) sources.set(key, loadSource(base, tree, opts));
    const source = sources.get(key);
    const tools = MODES[mode].tools.filter((t) => available[t]);
    rows.push(source.error ? { mode, tree, error: source.error } : await benchRow(opts, mode, tree, source, tools));
  }
  machine.loadAtEnd = loadAverage();

  for (const mode of Object.keys(MODES)) {
    const modeRows = rows.filter((r) => r.mode === mode);
    if (!modeRows.length) continue;
    out();
    out(`### ${MODES[mode].title}`);
    out();
    out(modeTable(mode, modeRows, MODES[mode].tools.filter((t) => available[t]), opts));
    out();
    out(cpuTable(modeRows, MODES[mode].tools.filter((t) => available[t]), opts));
  }
  const scale = scaleRatios(rows);
  if (scale) {
    out();
    const part = (tool, label) => (scale[tool] !== undefined ? `${label} ${scale[tool].toFixed(2)}×` : undefined);
    out(`scale / small time on tmpfs (${scale.files.toFixed(0)}× the files): ${[part('pcopy', 'pcopy'), part('cp', 'cp -a')].filter(Boolean).join(', ') || '—'}`);
  }
  out();
  out(`Load average at the end: ${machine.loadAtEnd}.`);
  const invalid = rows.flatMap((r) => Object.entries(r.tools ?? {}).filter(([, t]) => !t.valid).map(([, t]) => `${r.mode}/${r.tree}/${t.label}`));
  const failed = rows.filter((r) => r.error);
  if (invalid.length || failed.length) {
    out();
    if (invalid.length) out(`INVALID (a copy failed or did not match its source; details in ${path.relative(ROOT, RESULTS_FILE)}): ${invalid.join(', ')}`);
    for (const r of failed) out(`${r.mode}/${r.tree}: ${r.error}`);
  }

  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  const { realNeeds, ...options } = opts;
  const json = { started: started.toISOString(), finished: new Date().toISOString(), machine, options: { ...options, seed: SEED, bin: BIN }, rows, scaleSmall: scale ?? null };
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(json, null, 2)}\n`);
  log(`\nbench: results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  if (invalid.length || failed.length) process.exitCode = 1;
}

await main();
