/**
 * Helpers for the feature tests (test/e2e/features-*.test.ts): small trees from a spec, shell
 * commands (for umask, unshare, script), a pseudo-terminal run, and output clean-up.
 */
import type { SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, runCommand, type RunResult } from './tree.js';

export { BIN, ROOT };

/** Quotes one word for `sh -c`. */
export function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `node bin/pcopy.js …args` as one shell command line. */
export function pcopyCommand(args: string[]): string {
  return [process.execPath, BIN, ...args].map(q).join(' ');
}

/** Runs `sh -c script` to completion with stdout and stderr piped (no TTY). */
export function sh(script: string, options: SpawnOptions = {}): Promise<RunResult> {
  return runCommand('sh', ['-c', script], options);
}

/**
 * Runs a shell command under a pseudo-terminal with `script`: the command's stdout and stderr are
 * the terminal, and everything it printed comes back (raw, with control codes) as `output`.
 * `script -e` returns the command's exit code.
 */
export async function runInPty(command: string, env: Record<string, string> = {}, cwd = ROOT): Promise<{ code: number | null; output: string }> {
  const r = await sh(`script -qfec ${q(command)} /dev/null`, {
    cwd,
    env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '200', LINES: '50', ...env },
  });
  return { code: r.code, output: r.stdout + r.stderr };
}

/** Removes ANSI/VT100 control sequences. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b[()][0-9A-Za-z]/g, '').replace(/\x1b[=>78]/g, '');
}

export const ESC = '\x1b';

export type Spec = { [name: string]: string | Buffer | Spec };

/** Makes files (string/Buffer) and directories (objects) below `root`. */
export function build(root: string, spec: Spec): void {
  fs.mkdirSync(root, { recursive: true });
  for (const [name, value] of Object.entries(spec)) {
    const p = path.join(root, name);
    if (typeof value === 'string' || Buffer.isBuffer(value)) {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, value);
    } else build(p, value);
  }
}

/** Relative paths of all regular files below `root` (never following links), sorted. */
export function filesBelow(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) visit(r);
      else if (d.isFile()) out.push(r);
    }
  };
  visit('');
  return out.sort();
}

/** Relative paths of all entries below `root` with a type suffix (`/` dirs, `@` links), sorted. */
export function entriesBelow(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        out.push(`${r}/`);
        visit(r);
      } else out.push(d.isSymbolicLink() ? `${r}@` : r);
    }
  };
  visit('');
  return out.sort();
}

export function read(p: string): string {
  return fs.readFileSync(p, 'utf8');
}

/** Sets atime and mtime to whole seconds (no symlink following). */
export function touch(p: string, seconds: number): void {
  fs.lutimesSync(p, seconds, seconds);
}

export function statOf(p: string): fs.BigIntStats {
  return fs.lstatSync(p, { bigint: true });
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}
