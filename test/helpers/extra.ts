/**
 * Extra test helpers (on top of tree.ts): a temp dir per test, random files, polling, spawning pcopy
 * in its own process group, and looking at processes through /proc.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { BIN, cleanup, collectOutput, tempDir, type RunResult } from './tree.js';

/** A fresh temp directory for every test of the calling file, removed after the test. */
export function tempPerTest(prefix = 'pcopy-core-'): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = fs.realpathSync(tempDir(prefix));
  });
  afterEach(() => {
    if (dir) cleanup(dir);
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error('tempPerTest: no current test');
    return dir;
  };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hashFile(file: string): string {
  return sha256(fs.readFileSync(file));
}

/** Writes `size` random bytes to `file` (parents created) and returns them. */
export function writeRandom(file: string, size: number, mode?: number): Buffer {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const data = randomBytes(size);
  fs.writeFileSync(file, data);
  if (mode !== undefined) fs.chmodSync(file, mode);
  return data;
}

/** Sets atime and mtime (seconds, positive) on a path without following a final symlink. */
export function setTimes(p: string, atime: number, mtime: number = atime): void {
  fs.lutimesSync(p, atime, mtime);
}

export function mtimeUs(p: string): bigint {
  return fs.lstatSync(p, { bigint: true }).mtimeNs / 1000n;
}

export function ino(p: string): bigint {
  return fs.lstatSync(p, { bigint: true }).ino;
}

/** Polls `cond` every `everyMs` until it returns true; throws after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 20_000, everyMs = 5, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<RunResult>;
}

/** Spawns `node bin/pcopy.js …args` (pipes, no TTY) and returns the child at once. */
export function spawnPcopy(args: string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  return { child, done: collectOutput(child) };
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

/** Every process visible in /proc with its parent and process group. */
export function processes(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(name), state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]) });
  }
  return out;
}

export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Live (non-zombie) processes in process group `pgrp`. */
export function groupMembers(pgrp: number): number[] {
  return processes()
    .filter((p) => p.pgrp === pgrp && p.state !== 'Z')
    .map((p) => p.pid);
}

/** Children of `ppid` running pcopy's worker. */
export function workerChildren(ppid: number): number[] {
  return processes()
    .filter((p) => p.ppid === ppid && p.state !== 'Z' && cmdline(p.pid).includes('worker.js'))
    .map((p) => p.pid);
}

/** Paths of the pcopy temp files process `pid` has open. */
export function openTemps(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/\/\.pcopy-[^/]*\.tmp$/.test(target)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Size of a file, or -1 if it is not there (any more). */
export function sizeOr(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? -1;
}

/** Every regular file below `root` (relative paths), never following links. */
export function regularFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : path.join(rel, d.name);
      if (d.isDirectory()) visit(r);
      else if (d.isFile()) out.push(r);
    }
  };
  visit('');
  return out;
}

/** All entries below `root` as relative paths, sorted (a cheap "did anything change" listing). */
export function listing(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : path.join(rel, d.name);
      out.push(r);
      if (d.isDirectory()) visit(r);
    }
  };
  visit('');
  return out.sort();
}

/** Kills a detached child's whole group if it is still running (test clean-up). */
export function killGroup(child: ChildProcess | undefined): void {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
