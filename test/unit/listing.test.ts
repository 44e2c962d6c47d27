import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decode } from '../../src/byte-names.js';
import { ThreadClock } from '../../src/blocked-time.js';
import { Lister, type Clock } from '../../src/listing.js';

type Listed = { err: NodeJS.ErrnoException | null; names: string[]; types: string[]; later: boolean };

/** Lists `dir`, and whether the callback came only after `list` returned (it always must). */
function list(lister: Lister, dir: string): Promise<Listed> {
  return new Promise((resolve) => {
    let returned = false;
    lister.list(dir, (err, entries) => {
      const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
      resolve({ err, names: sorted.map((d) => d.name), types: sorted.map((d) => (d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'link' : 'file')), later: returned });
    });
    returned = true;
  });
}

/**
 * A clock the test drives: each listing (between two readings of `nowMs`) takes `wall` ms, of which
 * `blocked` asleep. Counts the readings of blocked time.
 */
function fakeClock(): Clock & { wall: number; blocked: number; blockedReadings: number; closed: boolean } {
  let now = 0;
  let asleep = 0;
  let nowReadings = 0;
  return {
    wall: 0.1,
    blocked: 0,
    blockedReadings: 0,
    closed: false,
    // Both clocks are read in pairs around a listing: the second of a pair is its end.
    nowMs() {
      if (nowReadings++ % 2 === 1) now += this.wall;
      return now;
    },
    blockedMs() {
      if (this.blockedReadings++ % 2 === 1) asleep += this.blocked;
      return asleep;
    },
    close() {
      this.closed = true;
    },
  };
}

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-listing-'));
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'a.txt'), 'a');
  fs.symlinkSync('a.txt', path.join(root, 'link'));
  // A name that is not UTF-8: listed as its bytes, decoded (see byte-names.ts).
  fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x63, 0x61, 0x66, 0xe9])]), 'x');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const expectedNames = (): string[] => ['a.txt', decode(Buffer.from([0x63, 0x61, 0x66, 0xe9])), 'link', 'sub'].sort();

describe('the walk lists directories at once while the device answers at once', () => {
  it('a cache-speed listing is read synchronously and handed on a later turn; a failed one reports its error and the walk stays synchronous', async () => {
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
    // A failed listing is read again on the thread pool (its error reported); the walk stays synchronous.
    expect(lister.synchronous).toBe(true);
    expect((await list(lister, path.join(root, 'a.txt'))).err?.code).toBe('ENOTDIR');
    expect(lister.synchronous).toBe(true);
    expect((await list(lister, root)).names).toEqual(expectedNames());
    lister.close();
  });

  it('goes to the thread pool once 3 of the last 16 listings waited (over 2 ms and over half of them asleep; measured after a slow one), and lists the same', async () => {
    const clock = fakeClock();
    const lister = new Lister(clock);
    const listing = async (wall: number, blocked: number): Promise<void> => {
      [clock.wall, clock.blocked] = [wall, blocked];
      await list(lister, root);
      [clock.wall, clock.blocked] = [0.1, 0];
    };
    for (let i = 0; i < 8; i++) await list(lister, root);
    // Fast listings are not measured: /proc is not read.
    expect(clock.blockedReadings).toBe(0);
    // Slow but not asleep (a big directory, a parent preempted by its workers): the next is measured, no wait.
    for (let i = 0; i < 4; i++) await listing(5, 0.5);
    // A big warm directory: 10 ms, 3 of them asleep (GC helpers joined), again and again: not a device.
    for (let i = 0; i < 6; i++) await listing(10, 3);
    expect(clock.blockedReadings).toBeGreaterThan(0);
    expect(lister.synchronous).toBe(true);
    // Waits far apart: still synchronous.
    for (let round = 0; round < 4; round++) {
      await listing(5, 0);
      await listing(5, 5);
      for (let i = 0; i < 8; i++) await list(lister, root);
    }
    expect(lister.synchronous).toBe(true);
    for (let i = 0; i < 16; i++) await list(lister, root);
    // A device that makes the parent wait: the first slow listing arms the clock, three more waits go async.
    await listing(5, 5);
    await listing(5, 5);
    await listing(5, 5);
    expect(lister.synchronous).toBe(true);
    expect(clock.closed).toBe(false);
    await listing(5, 5);
    expect(lister.synchronous).toBe(false);
    expect(clock.closed).toBe(true);
    // From now on: fs.readdir on the thread pool, and the clock is not read any more.
    const readings = clock.blockedReadings;
    const asyncListed = await list(lister, root);
    expect(clock.blockedReadings).toBe(readings);
    expect(asyncListed.names).toEqual(expectedNames());
    expect(asyncListed.later).toBe(true);
    const missing = await list(lister, path.join(root, 'gone'));
    expect(missing.err?.code).toBe('ENOENT');
    expect(missing.names).toEqual([]);
  });

  it("the thread clock counts this thread's time on a CPU apart from its sleeping", () => {
    const clock = ThreadClock.open();
    expect(clock, 'Linux has /proc/thread-self/schedstat').toBeDefined();
    // 50 ms spells, far above a scheduler tick and the clock's noise: what is checked is which side
    // each lands on, not how fast anything is (time waiting for a CPU, on a loaded machine, is not
    // counted as blocked either).
    const busy = clock!.blockedMs();
    const until = performance.now() + 50;
    while (performance.now() < until);
    const afterBusy = clock!.blockedMs();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    const afterSleep = clock!.blockedMs();
    clock!.close();
    expect(afterBusy - busy).toBeLessThan(25);
    expect(afterSleep - afterBusy).toBeGreaterThan(25);
  });
});
