/**
 * Running things: the one way to spawn pcopy (`startPcopy` in the background, `runPcopy` to
 * completion), other commands and shell scripts, a pseudo-terminal, the one `waitFor`, and a hang
 * guard. Every child is spawned in its own process group (detached), so a signal to `-pid` reaches
 * it and all its workers as a terminal's Ctrl-C would, and `killStarted()` (called after every test
 * by `tempPerTest` / `srcDestPerTest`) leaves nothing running behind a failed test.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clip } from './output.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'pcopy.js');
/** The URL of a built module (`dist/<file>`), for a script a test runs in a Node of its own to import. */
export const distUrl = (file: string): string => pathToFileURL(path.join(ROOT, 'dist', file)).href;

/**
 * This environment without what would change a child Node's V8 flags or bytecode (NODE_OPTIONS, the
 * test runner's coverage), nor the given variables: for tests of V8's tier-up and code caches.
 */
export function envWithoutV8Settings(...also: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['NODE_OPTIONS', 'NODE_V8_COVERAGE', ...also]) delete env[name];
  return env;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  /** Also the process group id: `process.kill(-pid, sig)` reaches the whole group. */
  pid: number;
  /** Settles when the process has exited and its pipes are closed. */
  done: Promise<RunResult>;
  stdout(): string;
  stderr(): string;
}

export interface StartOptions extends SpawnOptions {
  /** Commands put before the command itself (setpriv, prlimit, unshare …). */
  prefix?: string[];
  /** Extra environment on top of `env` (or process.env). */
  extraEnv?: Record<string, string>;
}

export interface RunOptions extends StartOptions {
  /** A run longer than this is a hang: its process group is killed and the promise rejects. */
  timeoutMs?: number;
}

const started = new Set<number>();

/** Starts `cmd args` in its own process group, stdout and stderr piped (no TTY), cwd ROOT by default. */
export function start(cmd: string, args: string[], options: StartOptions = {}): Running {
  const { prefix = [], extraEnv = {}, env = process.env, ...spawnOptions } = options;
  const [command, ...rest] = [...prefix, cmd, ...args];
  const child = spawn(command!, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    ...spawnOptions,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const pid = child.pid ?? -1;
  if (pid > 0) started.add(pid);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, pid, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `cmd args` to completion under the hang guard (see `RunOptions.timeoutMs`, default 45 s). */
export function runCommand(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { timeoutMs = 45_000, ...rest } = options;
  const running = start(cmd, args, rest);
  return withinOrKill(running.done, timeoutMs, running, `${cmd} ${args.join(' ')}`);
}

/** Starts `node bin/pcopy.js …args` in the background (see `start`). */
export function startPcopy(args: string[], options: StartOptions = {}): Running {
  return start(process.execPath, [BIN, ...args], options);
}

/** Runs `node bin/pcopy.js …args` to completion, optionally behind a wrapper (`prefix`: setpriv, prlimit…). */
export function runPcopy(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runCommand(process.execPath, [BIN, ...args], options);
}

/** Quotes one word for `sh -c`. */
export function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `node bin/pcopy.js …args` as one shell command line (for runShell: umask, unshare, pipes). */
export function pcopyCommand(args: string[]): string {
  return [process.execPath, BIN, ...args].map(q).join(' ');
}

/** Runs `sh -c script` to completion (see `runCommand`). */
export function runShell(script: string, options: RunOptions = {}): Promise<RunResult> {
  return runCommand('sh', ['-c', script], options);
}

/**
 * Runs a shell command under a pseudo-terminal with util-linux `script`: the command's stdout and
 * stderr are the terminal, and everything it printed comes back (raw, with control codes) as
 * `output`. `script -e` returns the command's exit code.
 */
export async function runInPty(command: string, env: Record<string, string> = {}, cwd = ROOT): Promise<{ code: number | null; output: string }> {
  const r = await runShell(`script -qfec ${q(command)} /dev/null`, {
    cwd,
    extraEnv: { TERM: 'xterm-256color', COLUMNS: '200', LINES: '50', ...env },
  });
  return { code: r.code, output: r.stdout + r.stderr };
}

/** Kills (SIGKILL) the process group of every child started here that may still be running. */
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
export async function withinOrKill<T>(p: Promise<T>, ms: number, running: Running | undefined, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (running) {
        try {
          process.kill(-running.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      reject(new Error(`${what}: still running after ${ms} ms (a hang?)${running ? `\nstderr so far:\n${clip(running.stderr())}` : ''}`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `cond` every `intervalMs` (default 5) until it returns a truthy value, and returns that value.
 * Throws after `timeoutMs` (default 20 s), or as soon as `running` (if given) has exited without the
 * condition having become true; the error names `what` and shows the run's output so far.
 */
export async function waitFor<T>(
  cond: () => T | undefined | null | false,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number; running?: Running } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 5, running } = options;
  const end = Date.now() + timeoutMs;
  let exited = false;
  void running?.done.then(
    () => (exited = true),
    () => (exited = true),
  );
  for (;;) {
    const v = cond();
    if (v) return v;
    const tail = running ? `\nstdout: ${clip(running.stdout())}\nstderr: ${clip(running.stderr())}` : '';
    if (exited) throw new Error(`the process exited before ${what}${tail}`);
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${tail}`);
    await sleep(intervalMs);
  }
}
