/**
 * Helpers for the fault / bad-input acceptance tests: running pcopy with a hang guard (and killing
 * its whole process group if it hangs), watching its process tree through /proc (worker pids, peak
 * RSS), polling for conditions, deterministic file contents, and the common assertions of a copy
 * that was allowed to be partial (every file that arrived is byte-identical, no temp files).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { BIN, ROOT, cleanup, findTemps, tempDir, type RunResult } from './tree.js';

export { BIN, ROOT };

/** Quotes one word for `sh -c`. */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Runs as root without any capability: file modes apply, as for an ordinary user. */
export const NO_CAPS = ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--'];

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${shq(cmd)}`]).status === 0;
}

/** True when the trick works here: as root without capabilities, a mode-000 file cannot be read. */
export function canDropCaps(): boolean {
  if (!hasCommand('setpriv') || process.getuid?.() !== 0) return false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-caps-'));
  try {
    const file = path.join(dir, 'locked');
    fs.writeFileSync(file, 'x', { mode: 0o000 });
    fs.chmodSync(file, 0o000);
    const r = spawnSync(NO_CAPS[0]!, [...NO_CAPS.slice(1), 'cat', file]);
    return r.status !== 0 && r.error === undefined && /denied/i.test(String(r.stderr));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** True when a private mount namespace with a tmpfs can be made (root, unshare, mount). */
export function canUnshareMount(): boolean {
  if (process.getuid?.() !== 0 || !hasCommand('unshare')) return false;
  return spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp']).status === 0;
}

export interface Running {
  child: ChildProcess;
  pid: number;
  /** Settles when the process has exited and its pipes closed. */
  done: Promise<RunResult>;
  stdout(): string;
  stderr(): string;
}

export interface StartOptions extends SpawnOptions {
  /** Commands put before `node bin/pcopy.js` (setpriv, prlimit, unshare …). */
  prefix?: string[];
  /** Extra environment on top of process.env. */
  extraEnv?: Record<string, string>;
}

const started = new Set<number>();

/**
 * Starts `node bin/pcopy.js …args` in its own process group (detached), stdout/stderr piped.
 * Its pid is also the process group id, so `process.kill(-pid, sig)` reaches pcopy and its workers.
 */
export function startPcopy(args: string[], options: StartOptions = {}): Running {
  const { prefix = [], extraEnv = {}, ...spawnOptions } = options;
  const [cmd, ...rest] = [...prefix, process.execPath, BIN, ...args];
  const child = spawn(cmd!, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    cwd: ROOT,
    env: { ...process.env, ...extraEnv },
    ...spawnOptions,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const pid = child.pid!;
  started.add(pid);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, pid, done, stdout: () => stdout, stderr: () => stderr };
}

/** Kills (SIGKILL) the process groups of every pcopy this module started that may still be running. */
export function killStarted(): void {
  for (const pid of started) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  started.clear();
}

/** Resolves with `p`, or kills the run's process group and rejects if it takes longer than `ms` (a hang). */
export async function withinOrKill<T>(p: Promise<T>, ms: number, run: Running | undefined, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (run) {
        try {
          process.kill(-run.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      reject(new Error(`${what}: still running after ${ms} ms (a hang?)${run ? `\nstderr so far:\n${run.stderr()}` : ''}`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs pcopy to completion; a run longer than `timeoutMs` is a hang: its group is killed and the test fails. */
export async function run(args: string[], options: StartOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  const { timeoutMs = 45_000, ...rest } = options;
  const r = startPcopy(args, rest);
  return withinOrKill(r.done, timeoutMs, r, `pcopy ${args.join(' ')}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `cond` every `intervalMs` until it returns a truthy value; throws after `timeoutMs`, or as
 * soon as `running` (if given) has exited without the condition having become true.
 */
export async function waitFor<T>(
  cond: () => T | undefined | null | false,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number; running?: Running } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 5, running } = options;
  const end = Date.now() + timeoutMs;
  let exited = false;
  void running?.done.then(() => (exited = true), () => (exited = true));
  for (;;) {
    const v = cond();
    if (v) return v;
    const tail = running ? `\nstdout: ${clip(running.stdout())}\nstderr: ${clip(running.stderr())}` : '';
    if (exited) throw new Error(`pcopy exited before ${what}${tail}`);
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${tail}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// /proc: process trees, liveness, memory

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields after it start after the last ')'.
  const after = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: after[0]!, ppid: Number(after[1]), startTime: after[19]! };
}

/** A process identity that survives pid reuse: pid plus its start time. */
export interface ProcId {
  pid: number;
  startTime: string;
}

export function procId(pid: number): ProcId | undefined {
  const st = readStat(pid);
  return st ? { pid, startTime: st.startTime } : undefined;
}

/** True while that very process exists and is not a zombie. */
export function isAlive(id: ProcId): boolean {
  const st = readStat(id.pid);
  return !!st && st.startTime === id.startTime && st.state !== 'Z' && st.state !== 'X';
}

/** All live descendants of `pid` (children, grandchildren …). */
export function descendants(pid: number): ProcId[] {
  const children = new Map<number, ProcStat[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st || st.state === 'Z') continue;
    const list = children.get(st.ppid) ?? [];
    list.push(st);
    children.set(st.ppid, list);
  }
  const out: ProcId[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push({ pid: c.pid, startTime: c.startTime });
      stack.push(c.pid);
    }
  }
  return out;
}

/** Resident set size of one process in KiB (0 if gone). */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The command line of a process ('' if gone). */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export interface TreeWatch {
  /** Every process seen below (and including) the root while watching. */
  seen: Map<string, ProcId>;
  /** Largest sum of RSS of the root and all its descendants at one sample, KiB. */
  peakTotalKiB: number;
  /** Largest RSS of any single process, KiB. */
  peakSingleKiB: number;
  samples: number;
  stop(): void;
}

/** Samples the process tree under `rootPid` every `intervalMs`: who ran, and peak memory. */
export function watchTree(rootPid: number, intervalMs = 25): TreeWatch {
  const watch: TreeWatch = {
    seen: new Map(),
    peakTotalKiB: 0,
    peakSingleKiB: 0,
    samples: 0,
    stop: () => clearInterval(timer),
  };
  const sample = (): void => {
    const root = procId(rootPid);
    if (!root) return;
    const all = [root, ...descendants(rootPid)];
    let total = 0;
    for (const p of all) {
      watch.seen.set(`${p.pid}/${p.startTime}`, p);
      const rss = rssKiB(p.pid);
      total += rss;
      watch.peakSingleKiB = Math.max(watch.peakSingleKiB, rss);
    }
    watch.peakTotalKiB = Math.max(watch.peakTotalKiB, total);
    watch.samples++;
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return watch;
}

/** Worker processes (children running dist/worker.js) of a pcopy parent. */
export function workersOf(parentPid: number): ProcId[] {
  return descendants(parentPid).filter((p) => cmdline(p.pid).includes('worker.js'));
}

/** A pid that belonged to a process which has exited (and was reaped). */
export function deadPid(): number {
  const r = spawnSync('true');
  return r.pid!;
}

// ---------------------------------------------------------------------------------------------
// Files

/** Deterministic pseudo-random bytes (a SHA-256 counter stream) for `seed`. */
export function bytesFor(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  let block = 0;
  while (off < size) {
    const h = createHash('sha256').update(`${seed}:${block++}`).digest();
    off += h.copy(out, off, 0, Math.min(h.length, size - off));
  }
  return out;
}

/** Writes `size` deterministic bytes to `file` (parents created). Returns the bytes. */
export function writeFile(file: string, size: number, seed = file): Buffer {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const data = bytesFor(seed, size);
  fs.writeFileSync(file, data);
  return data;
}

/**
 * `count` small files (`fNNNNNN`, 32 bytes to ~2 KiB) spread over `perDir`-sized folders under `dir`.
 * Cheap to make: one short unique header plus a shared filler.
 */
export function makeManyFiles(dir: string, count: number, perDir = 100): void {
  const filler = bytesFor('filler', 4096);
  let folder = '';
  for (let i = 0; i < count; i++) {
    if (i % perDir === 0) {
      folder = path.join(dir, `d${String(Math.floor(i / perDir)).padStart(5, '0')}`);
      fs.mkdirSync(folder, { recursive: true });
    }
    const name = `f${String(i).padStart(6, '0')}`;
    const size = 32 + ((i * 7919) % 2000);
    const head = Buffer.from(`${name}\n`);
    fs.writeFileSync(path.join(folder, name), Buffer.concat([head, filler.subarray(0, size - head.length)]));
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Regular files below `root`, relative paths (never follows links). */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, d.name) : d.name;
      if (d.isDirectory()) visit(r);
      else if (d.isFile()) out.push(r);
    }
  };
  visit('');
  return out.sort();
}

/**
 * The checks every partial copy must pass: no pcopy temp file anywhere below `dest`, and each
 * regular file that is there is byte-identical to the source file of the same path.
 * Returns the relative paths of the files present in `dest`.
 */
export function expectPartialCopyIntact(src: string, dest: string, ignore: (rel: string) => boolean = () => false): string[] {
  const temps = findTemps(dest).filter((t) => !ignore(path.relative(dest, t)));
  if (temps.length > 0) throw new Error(`temp files left behind:\n${temps.join('\n')}`);
  const present = listFiles(dest).filter((rel) => !ignore(rel));
  const bad: string[] = [];
  for (const rel of present) {
    const s = path.join(src, rel);
    if (!fs.existsSync(s)) bad.push(`${rel}: not in the source`);
    else if (!fs.readFileSync(s).equals(fs.readFileSync(path.join(dest, rel)))) bad.push(`${rel}: differs from the source`);
  }
  if (bad.length > 0) throw new Error(`files under their final name that are not exact copies:\n${bad.join('\n')}`);
  return present;
}

// ---------------------------------------------------------------------------------------------
// Output

/** `pcopy: Cannot copy …` lines on stderr. */
export function failureLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('pcopy: Cannot copy '));
}

/** The failed count of the summary line on stdout (undefined if no summary). */
export function failedCount(stdout: string): number | undefined {
  const m = /, ([\d,]+) failed,/.exec(stdout);
  return m ? Number(m[1]!.replace(/,/g, '')) : undefined;
}

/** Lines that look like a JavaScript stack trace or an uncaught error. */
export function crashLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at \S|node:internal|Uncaught|internal error|^\w*Error\b|Error \[E/.test(l));
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** Long output shortened for assertion messages: the first and last lines. */
export function clip(text: string, max = 1500): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max / 2)}\n… (${text.length - max} characters left out) …\n${text.slice(-max / 2)}`;
}

/** Runs `sh -c script` (its own process group, killed on a hang) with extra environment. */
export async function runShell(script: string, env: Record<string, string> = {}, timeoutMs = 45_000): Promise<RunResult> {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: ROOT, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  started.add(child.pid!);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const running: Running = { child, pid: child.pid!, done, stdout: () => stdout, stderr: () => stderr };
  return withinOrKill(done, timeoutMs, running, `sh -c ${script}`);
}

/** True for a pcopy temp file name (any run). */
export function isTempName(rel: string): boolean {
  return /(^|\/)\.pcopy-[^/]*\.tmp$/.test(rel);
}

/** For `it.skipIf(…)`: true when `missing`, and then says why on stderr (a skip always has a stated reason). */
export function unavailable(missing: boolean, reason: string): boolean {
  if (missing) process.stderr.write(`pcopy acceptance: skipping a test: ${reason}\n`);
  return missing;
}

export const REASON = {
  caps: 'needs root and setpriv(1) to run pcopy as root without capabilities (for EACCES)',
  mount: 'needs root, unshare(1) and mount(8) for a private tmpfs / read-only bind mount',
  script: 'needs script(1) from util-linux for a real pseudo-terminal',
  prlimit: 'needs prlimit(1) from util-linux',
} as const;

export interface SrcDest {
  work: string;
  src: string;
  dest: string;
}

/**
 * Every test of the calling file gets a fresh `work` directory with an empty `src` in it and a `dest`
 * path beside it; after the test, any pcopy it started is killed and the directory removed.
 */
export function srcDestPerTest(prefix: string, use: (dirs: SrcDest) => void): void {
  let work: string | undefined;
  beforeEach(() => {
    work = tempDir(prefix);
    const dirs = { work, src: path.join(work, 'src'), dest: path.join(work, 'dest') };
    fs.mkdirSync(dirs.src);
    use(dirs);
  });
  afterEach(() => {
    killStarted();
    if (work) cleanup(work);
  });
}
