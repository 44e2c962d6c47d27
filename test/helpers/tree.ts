/**
 * Test helpers: temp directories, running the built CLI, and comparing two trees entry by entry
 * (type, size, content hash, mode, owner, mtime in whole microseconds, symlink target bytes).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'pcopy.js');
export const MAKE_TREE = path.join(ROOT, 'fixtures', 'make-tree.mjs');

/** A fresh temp directory; removed by `cleanup()`. Read-only dirs inside are made writable first. */
export function tempDir(prefix = 'pcopy-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  spawnSync('chmod', ['-R', 'u+rwx', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no TTY: pipes for stdout and stderr) and collects its output. */
export function runCommand(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return collectOutput(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** Resolves with the exit and the whole output of a child spawned with piped stdout and stderr. */
export function collectOutput(child: ChildProcess): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `node bin/pcopy.js …args` to completion, optionally behind a wrapper (setpriv, prlimit…). */
export function runPcopy(args: string[], options: SpawnOptions & { prefix?: string[] } = {}): Promise<RunResult> {
  const { prefix = [], ...spawnOptions } = options;
  const [cmd, ...rest] = [...prefix, process.execPath, BIN, ...args];
  return runCommand(cmd!, rest, spawnOptions);
}

/** Makes a fixtures preset tree (see fixtures/make-tree.mjs) in `dir`. */
export function makeTree(preset: string, dir: string, seed = 42): void {
  const r = spawnSync(process.execPath, [MAKE_TREE, preset, dir, '--seed', String(seed)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-tree failed: ${r.stderr}`);
}

export interface EntryInfo {
  type: 'file' | 'dir' | 'link' | 'other';
  size?: number;
  hash?: string;
  mode: number;
  uid: number;
  gid: number;
  /** Whole microseconds. */
  mtimeUs: bigint;
  target?: string;
}

/** Every entry below `root` (not `root` itself unless `withRoot`), keyed by relative path. Never follows links. */
export function snapshot(root: string, options: { withRoot?: boolean } = {}): Map<string, EntryInfo> {
  const out = new Map<string, EntryInfo>();
  const visit = (rel: string): void => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs, { bigint: true });
    const base = { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeUs: st.mtimeNs / 1000n };
    if (st.isSymbolicLink()) {
      out.set(rel, { type: 'link', ...base, mode: 0, mtimeUs: base.mtimeUs, target: fs.readlinkSync(abs, { encoding: 'buffer' }).toString('hex') });
    } else if (st.isFile()) {
      const hash = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
      out.set(rel, { type: 'file', size: Number(st.size), hash, ...base });
    } else if (st.isDirectory()) {
      if (rel !== '' || options.withRoot) out.set(rel, { type: 'dir', ...base });
      for (const name of fs.readdirSync(abs)) visit(rel === '' ? name : path.join(rel, name));
    } else {
      out.set(rel, { type: 'other', ...base });
    }
  };
  visit('');
  return out;
}

/** Differences between two snapshots, as readable lines (empty when equal). */
export function diffTrees(a: Map<string, EntryInfo>, b: Map<string, EntryInfo>): string[] {
  const lines: string[] = [];
  for (const [rel, ea] of a) {
    const eb = b.get(rel);
    if (!eb) {
      lines.push(`missing in copy: ${rel}`);
      continue;
    }
    for (const key of Object.keys(ea) as Array<keyof EntryInfo>) {
      if (String(ea[key]) !== String(eb[key])) lines.push(`${rel}: ${key} ${String(ea[key])} != ${String(eb[key])}`);
    }
  }
  for (const rel of b.keys()) if (!a.has(rel)) lines.push(`extra in copy: ${rel}`);
  return lines;
}

/** Names anywhere below `root` that look like pcopy temp files (names read as bytes: any name is walked). */
export function findTemps(root: string): string[] {
  const found: string[] = [];
  const visit = (dir: Buffer): void => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const abs = Buffer.concat([dir, Buffer.from('/'), d.name]);
      const name = d.name.toString('latin1');
      if (name.startsWith('.pcopy-') && name.endsWith('.tmp')) found.push(abs.toString());
      if (d.isDirectory()) visit(abs);
    }
  };
  visit(Buffer.from(root));
  return found;
}

/** Inode of every regular file below `root`, keyed by relative path. */
export function inodes(root: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [rel] of snapshot(root)) {
    const st = fs.lstatSync(path.join(root, rel), { bigint: true });
    if (st.isFile()) out.set(rel, st.ino);
  }
  return out;
}

export const isRoot = process.getuid?.() === 0;
