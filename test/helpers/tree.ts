/**
 * Trees on disk: temp directories per test, deterministic contents, listings, and the one tree
 * comparison (`snapshot` + `diffTrees`: type, size, content hash, mode, owner, mtime in whole
 * microseconds, symlink target bytes). Also re-exports the pcopy runner, so a test that only copies
 * and compares needs this module alone.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { makeTree as makeFixtureTree } from '../../fixtures/make-tree.mjs';
import { PROBE_NAME } from '../../src/metadata.js';
import { isRoot } from './host.js';
import { killStarted } from './run.js';

export { BIN, ROOT, runPcopy, type RunResult } from './run.js';
export { isRoot } from './host.js';

// ---------------------------------------------------------------------------------------------
// Temp directories

/** A fresh temp directory; removed by `cleanup()`. */
export function tempDir(prefix = 'pcopy-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a temp directory, making read-only directories inside writable first. */
export function cleanup(dir: string): void {
  spawnSync('chmod', ['-R', 'u+rwx', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A fresh temp directory (real path) for every test of the calling file; after the test, every
 * process the test started through ./run.ts is killed and the directory removed.
 */
export function tempPerTest(prefix = 'pcopy-test-'): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = fs.realpathSync(tempDir(prefix));
  });
  afterEach(() => {
    killStarted();
    if (dir) cleanup(dir);
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error('tempPerTest: no current test');
    return dir;
  };
}

export interface SrcDest {
  work: string;
  src: string;
  dest: string;
}

/**
 * Like `tempPerTest`, handing every test `work` (the temp directory), an empty `src` directory in it
 * and a `dest` path beside it, through `use` (called before each test).
 */
export function srcDestPerTest(prefix: string, use: (dirs: SrcDest) => void): void {
  const work = tempPerTest(prefix);
  beforeEach(() => {
    const dirs = { work: work(), src: path.join(work(), 'src'), dest: path.join(work(), 'dest') };
    fs.mkdirSync(dirs.src);
    use(dirs);
  });
}

// ---------------------------------------------------------------------------------------------
// Deterministic contents

/**
 * Deterministic pseudo-random bytes for `seed`: the AES-128-CTR key stream of a key derived from
 * the seed (fast: several hundred MiB/s, so big test files cost little to make).
 */
export function bytesFor(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/** The default seed of a file: its path below the test's temp directory (the same in every run). */
function seedOf(file: string): string {
  const rel = path.relative(os.tmpdir(), path.resolve(file));
  return rel.startsWith('..') ? file : rel.replace(/^[^/]*\//, '');
}

/** Writes `size` deterministic bytes to `file` (parents created); returns them. */
export function writeFile(file: string, size: number, options: { seed?: string; mode?: number } = {}): Buffer {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const data = bytesFor(options.seed ?? seedOf(file), size);
  fs.writeFileSync(file, data);
  if (options.mode !== undefined) fs.chmodSync(file, options.mode);
  return data;
}

export type Spec = { [name: string]: string | Buffer | Spec };

/** Makes files (string/Buffer contents) and directories (objects) below `root`. */
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

/** Makes a fixtures preset tree (see fixtures/make-tree.mjs) in `dir`. */
export function makeTree(preset: string, dir: string, seed = 42): void {
  makeFixtureTree(preset, dir, seed);
}

/**
 * A sparse file of `size` bytes (64 MiB and more: copied in 32 MiB parts) with deterministic 4 KiB
 * blocks at several offsets, including both sides of the 32 MiB part edge; mode 0640, old times.
 */
export function makeHugeFile(file: string, size: number): void {
  const MiB = 1024 * 1024;
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const at of [0, 32 * MiB - 3, 32 * MiB, 64 * MiB + 12345, size - 4096]) {
      const block = Buffer.alloc(4096, at % 251);
      for (let i = 0; i < block.length; i += 7) block[i] = (i * 31 + at) & 0xff;
      fs.writeSync(fd, block, 0, Math.min(block.length, size - at), at);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, 0o640);
  fs.utimesSync(file, 1_500_000_000.25, 1_600_000_000.123456);
}

/**
 * The `random` preset in `src`, with a root mode and a nanosecond mtime of its own and, as root,
 * mixed owners (every 7th file, a dangling link, the `empty` directory). Returns `src`.
 */
export function makeOwnedRandomTree(src: string): string {
  makeTree('random', src);
  if (isRoot) {
    listEntries(src, { files: true }).forEach((rel, i) => {
      if (i % 7 === 0) fs.chownSync(path.join(src, rel), 1000 + i, 2000 + i);
    });
    fs.lchownSync(path.join(src, 'link-dangling'), 4321, 8765);
    fs.chownSync(path.join(src, 'empty'), 3333, 4444);
  }
  fs.chmodSync(src, 0o750);
  touchNs(src, '1555555555.987654321');
  return src;
}

/** Sets atime and mtime to the nanosecond with touch(1) (`seconds` as text: `-300000000.123456`); links not followed. */
export function touchNs(p: string, seconds: string): void {
  const r = spawnSync('touch', ['-h', '-d', `@${seconds}`, p]);
  if (r.status !== 0) throw new Error(String(r.stderr));
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

// ---------------------------------------------------------------------------------------------
// Reading entries

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hashFile(file: string): string {
  return sha256(fs.readFileSync(file));
}

export function read(p: string): string {
  return fs.readFileSync(p, 'utf8');
}

/** lstat with bigint fields (never follows a final symlink). */
export function statOf(p: string): fs.BigIntStats {
  return fs.lstatSync(p, { bigint: true });
}

export function mtimeUs(p: string): bigint {
  return statOf(p).mtimeNs / 1000n;
}

export function ino(p: string): bigint {
  return statOf(p).ino;
}

/** Size of a file, or -1 if it is not there (any more). */
export function sizeOr(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? -1;
}

/** Sets atime and mtime (seconds; fractions and negative values allowed) without following a final symlink. */
export function touch(p: string, atime: number, mtime: number = atime): void {
  fs.lutimesSync(p, atime, mtime);
}

/**
 * Relative paths ('/'-separated) of the entries below `root`, sorted, never following links.
 * `files`: regular files only. `marks`: directories end in `/`, symlinks in `@`.
 */
export function listEntries(root: string, options: { files?: boolean; marks?: boolean } = {}): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        if (!options.files) out.push(options.marks ? `${r}/` : r);
        visit(r);
      } else if (d.isFile() || !options.files) {
        out.push(options.marks && d.isSymbolicLink() ? `${r}@` : r);
      }
    }
  };
  visit('');
  return out.sort();
}

/** True for a pcopy temp file name (any run). */
export function isTempName(rel: string): boolean {
  return /(^|\/)\.pcopy-[^/]*\.tmp$/.test(rel);
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

/**
 * Temp files of copies in progress below `root`: `findTemps` less the probe pcopy makes (and removes
 * at once) in a directory it creates in an existing one, DEST itself among them, to see whether new
 * files keep their modes there (metadata.ts, `keepsCreationModes`). A test that waits for "a copy in
 * progress" must not take that probe for one: under load it was seen before any file was sized.
 */
export function copyTemps(root: string): string[] {
  return findTemps(root).filter((t) => !PROBE_NAME.test(path.basename(t)));
}

/** For `waitFor`: `dir` exists and a copy is in progress below it (see `copyTemps`). */
export function copyInProgress(dir: string): boolean {
  return fs.existsSync(dir) && copyTemps(dir).length > 0;
}

/** Inode of every regular file below `root`, keyed by relative path. */
export function inodes(root: string): Map<string, bigint> {
  return new Map(listEntries(root, { files: true }).map((rel) => [rel, ino(path.join(root, rel))]));
}

// ---------------------------------------------------------------------------------------------
// Comparing trees

export interface EntryInfo {
  type: 'file' | 'dir' | 'link' | 'other';
  size?: number;
  hash?: string;
  mode: number;
  uid: number;
  gid: number;
  /** Whole microseconds. */
  mtimeUs: bigint;
  /** Link target bytes, hex. */
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
      out.set(rel, { type: 'link', ...base, mode: 0, target: fs.readlinkSync(abs, { encoding: 'buffer' }).toString('hex') });
    } else if (st.isFile()) {
      out.set(rel, { type: 'file', size: Number(st.size), hash: hashFile(abs), ...base });
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

/**
 * The checks every partial copy must pass: no pcopy temp file anywhere below `dest`, and each
 * regular file that is there is byte-identical to the source file of the same path.
 * Returns the relative paths of the files present in `dest`.
 */
export function expectPartialCopyIntact(src: string, dest: string, ignore: (rel: string) => boolean = () => false): string[] {
  const temps = findTemps(dest).filter((t) => !ignore(path.relative(dest, t)));
  if (temps.length > 0) throw new Error(`temp files left behind:\n${temps.join('\n')}`);
  const present = listEntries(dest, { files: true }).filter((rel) => !ignore(rel));
  const bad: string[] = [];
  for (const rel of present) {
    const s = path.join(src, rel);
    if (!fs.existsSync(s)) bad.push(`${rel}: not in the source`);
    else if (!fs.readFileSync(s).equals(fs.readFileSync(path.join(dest, rel)))) bad.push(`${rel}: differs from the source`);
  }
  if (bad.length > 0) throw new Error(`files under their final name that are not exact copies:\n${bad.join('\n')}`);
  return present;
}
