/**
 * What this machine allows: root without capabilities (for real EACCES), private mount namespaces
 * (tmpfs, read-only bind mounts), util-linux tools. CI runs as root on Linux, where all of these
 * work; elsewhere a test that needs one is skipped with its reason on stderr.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { q } from './run.js';

export const isRoot = process.getuid?.() === 0;

/** Runs as root without any capability: file modes apply, as for an ordinary user. */
export const NO_CAPS = ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--'];

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${q(cmd)}`]).status === 0;
}

/** Runs as an ordinary user (nobody), without capabilities. */
export const AS_USER = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...NO_CAPS.slice(1)];

/** True when `AS_USER` works here (root with setpriv). */
export function canRunAsUser(): boolean {
  return isRoot && hasCommand('setpriv') && spawnSync(AS_USER[0]!, [...AS_USER.slice(1), 'true']).status === 0;
}

/** True when the trick works here: as root without capabilities, a mode-000 file cannot be read. */
export function canDropCaps(): boolean {
  if (!hasCommand('setpriv') || !isRoot) return false;
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
  if (!isRoot || !hasCommand('unshare')) return false;
  return spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp']).status === 0;
}

/**
 * True when an ext4 image can be made from a directory (mke2fs -d) and mounted from a loop device
 * in a private mount namespace: a file system with the features a test asks for.
 */
export function canMountImage(): boolean {
  if (!isRoot || !hasCommand('unshare') || !hasCommand('mkfs.ext4')) return false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-image-'));
  try {
    const img = path.join(dir, 'img');
    fs.mkdirSync(path.join(dir, 'mnt'));
    if (spawnSync('mkfs.ext4', ['-q', '-F', img, '1M']).status !== 0) return false;
    return spawnSync('unshare', ['-m', 'mount', '-o', 'loop,ro', img, path.join(dir, 'mnt')]).status === 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** For `it.skipIf(…)`: true when `missing`, and then says why on stderr (a skip always has a stated reason). */
export function unavailable(missing: boolean, reason: string): boolean {
  if (missing) process.stderr.write(`pcopy tests: skipping a test: ${reason}\n`);
  return missing;
}

export const REASON = {
  caps: 'needs root and setpriv(1) to run pcopy as root without capabilities (for EACCES)',
  mount: 'needs root, unshare(1) and mount(8) for a private tmpfs / read-only bind mount',
  script: 'needs script(1) from util-linux for a real pseudo-terminal',
  prlimit: 'needs prlimit(1) from util-linux',
  user: 'needs root and setpriv(1) to run pcopy as an ordinary user',
  image: 'needs root, unshare(1), mkfs.ext4 and a loop device to mount a file system image',
} as const;
