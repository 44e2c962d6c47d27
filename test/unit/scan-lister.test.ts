import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decode } from '../../src/byte-names.js';
import { Lister } from '../../src/scan.js';

type Listed = { err: NodeJS.ErrnoException | null; names: string[]; types: string[] };

/** Lists `dir`, and whether the callback came only after `list` returned (it always must). */
function list(lister: Lister, dir: string): Promise<Listed & { later: boolean }> {
  return new Promise((resolve) => {
    let returned = false;
    lister.list(dir, (err, entries) => {
      const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
      resolve({ err, names: sorted.map((d) => d.name), types: sorted.map((d) => (d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'link' : 'file')), later: returned });
    });
    returned = true;
  });
}

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-lister-'));
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'a.txt'), 'a');
  fs.symlinkSync('a.txt', path.join(root, 'link'));
  // A name that is not UTF-8: listed as its bytes, decoded (see byte-names.ts).
  fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x63, 0x61, 0x66, 0xe9])]), 'x');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const expectedNames = (): string[] => ['a.txt', decode(Buffer.from([0x63, 0x61, 0x66, 0xe9])), 'link', 'sub'].sort();

describe('the walk lists directories at once while the device answers at once', () => {
  it('a cache-speed listing is read synchronously and handed on a later turn; errors as the async read gives them', async () => {
    const lister = new Lister();
    for (let i = 0; i < 20; i++) {
      const got = await list(lister, root);
      expect(got.err).toBeNull();
      expect(got.later).toBe(true);
      expect(got.names).toEqual(expectedNames());
      expect(got.types[got.names.indexOf('sub')]).toBe('dir');
      expect(got.types[got.names.indexOf('link')]).toBe('link');
    }
    expect(lister.synchronous).toBe(true);
    const missing = await list(lister, path.join(root, 'gone'));
    expect(missing.err?.code).toBe('ENOENT');
    expect(missing.names).toEqual([]);
    expect(missing.later).toBe(true);
    const notDir = await list(lister, path.join(root, 'a.txt'));
    expect(notDir.err?.code).toBe('ENOTDIR');
  });

  it('goes to the thread pool once 3 of the last 16 listings waited (slept, and over 1 ms not on the CPU), and lists the same', async () => {
    let at = { wallMs: 0, cpuMs: 0, sleeps: 0 };
    // Each reading of the clock adds `step`: a listing (two readings apart) took that much.
    let step = { wallMs: 0.1, cpuMs: 0.1, sleeps: 0 };
    const lister = new Lister(() => (at = { wallMs: at.wallMs + step.wallMs, cpuMs: at.cpuMs + step.cpuMs, sleeps: at.sleeps + step.sleeps }));
    const waitedOnce = async (): Promise<void> => {
      step = { wallMs: 5, cpuMs: 0.1, sleeps: 1 };
      await list(lister, root);
      step = { wallMs: 0.1, cpuMs: 0.1, sleeps: 0 };
    };
    // Not waits: 5 ms off the CPU without sleeping (preempted), and a sleep of under 1 ms.
    step = { wallMs: 5, cpuMs: 0.1, sleeps: 0 };
    for (let i = 0; i < 4; i++) await list(lister, root);
    step = { wallMs: 0.5, cpuMs: 0.1, sleeps: 1 };
    for (let i = 0; i < 4; i++) await list(lister, root);
    expect(lister.synchronous).toBe(true);
    // Waits far apart (a big directory now and then): still synchronous.
    for (let round = 0; round < 4; round++) {
      await waitedOnce();
      for (let i = 0; i < 8; i++) await list(lister, root);
    }
    expect(lister.synchronous).toBe(true);
    for (let i = 0; i < 16; i++) await list(lister, root);
    // Three within 16 listings: a device that makes the parent wait.
    await waitedOnce();
    for (let i = 0; i < 5; i++) await list(lister, root);
    await waitedOnce();
    expect(lister.synchronous).toBe(true);
    await waitedOnce();
    expect(lister.synchronous).toBe(false);
    // From now on: fs.readdir on the thread pool, and the clock is not read any more.
    const readings = at.wallMs;
    const asyncListed = await list(lister, root);
    expect(at.wallMs).toBe(readings);
    expect(asyncListed.names).toEqual(expectedNames());
    expect(asyncListed.later).toBe(true);
    const missing = await list(lister, path.join(root, 'gone'));
    expect(missing.err?.code).toBe('ENOENT');
    expect(missing.names).toEqual([]);
  });
});
