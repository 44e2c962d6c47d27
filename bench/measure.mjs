/**
 * Timing and memory of one tool run: spawn to the exit of the last process that holds its stderr,
 * with the summed RSS of the process tree sampled meanwhile.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const SAMPLE_EVERY_MS = 20;
const RESCAN_EVERY = 5;

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
 * descendant seen, to check afterwards that none outlived the run being timed.
 * Reading every /proc/N/stat to find the descendants is the costly part (it showed as ~20% of a CPU
 * on a busy machine, taken from the tool being timed), so the process table is read only every
 * RESCAN_EVERY samples; in between only the known processes' VmRSS is read. A process forked since
 * the last scan is counted from the next one.
 */
function startMemorySampler(rootPid) {
  let peakKiB = 0;
  const seen = new Set();
  let pids = [rootPid];
  let tick = 0;
  const rescan = () => {
    const children = new Map();
    for (const [pid, { ppid }] of processParents()) {
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(pid);
    }
    pids = [];
    const queue = [rootPid];
    while (queue.length) {
      const pid = queue.pop();
      pids.push(pid);
      if (pid !== rootPid) seen.add(pid);
      queue.push(...(children.get(pid) ?? []));
    }
  };
  const sample = () => {
    if (tick++ % RESCAN_EVERY === 0) rescan();
    let sum = 0;
    for (const pid of pids) sum += rssKiB(pid);
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
 * Descendants of a finished run that still run (not zombies): work the timing did not include.
 * Only children seen by a sample count: a double fork that reparents at once escapes this check.
 */
function survivors(descendants) {
  const now = processParents();
  return [...descendants].filter((pid) => now.has(pid) && now.get(pid).state !== 'Z');
}

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux everywhere). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) of every child this process has waited for, and of the children they
 * waited for in turn (/proc/self/stat cutime + cstime): the CPU of a whole run, pcopy's workers or
 * xargs' cats included, is the difference across it. Runs are never concurrent here.
 */
function childrenCpuSeconds() {
  const stat = fs.readFileSync('/proc/self/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat(5), counted here from field 3 (state).
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/**
 * Runs `argv` to completion. `seconds` runs from spawn until the process has exited and every holder
 * of its stderr pipe has closed it: pcopy's forked workers inherit stderr, so this is "until the last
 * pcopy process has exited" (issue 11's tiny-tree measure), not just the parent's exit.
 * With `sample: false` no memory is sampled: reading /proc every 20 ms costs CPU that would show in
 * runs of a few tens of milliseconds (the tiny trees); those runs get no survivor check either.
 */
export function timeRun(argv, { sample = true, env = process.env } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const cpuBefore = childrenCpuSeconds();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
    const sampler = sample && child.pid ? startMemorySampler(child.pid) : undefined;
    let stderr = '';
    let exit;
    child.stderr.on('data', (d) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
    });
    child.on('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const mem = sampler?.stop();
      // 'close' comes after 'exit': the child has been waited for, its CPU counted.
      const cpuSeconds = childrenCpuSeconds() - cpuBefore;
      resolve({ ...exit, seconds, cpuSeconds, stderr, peakKiB: mem?.peakKiB ?? 0, survivors: mem ? survivors(mem.descendants) : [] });
    });
    child.on('error', (err) => {
      sampler?.stop();
      resolve({ seconds: NaN, cpuSeconds: NaN, code: null, signal: null, peakKiB: 0, survivors: [], stderr: String(err) });
    });
  });
}

/** Writes out dirty pages (of the last copy or removal) so they do not slow the next timed run. */
export function syncFileSystem(dir) {
  if (spawnSync('sync', ['-f', dir]).status !== 0) spawnSync('sync');
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
