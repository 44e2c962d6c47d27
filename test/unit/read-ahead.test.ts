/** When read-ahead starts: decided from the copies' first reads (their median), never from one outlier. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { JobQueue } from '../../src/job-queue.js';
import { ReadAhead } from '../../src/read-ahead.js';
import { waitFor } from '../helpers/run.js';

const MiB = 1024 * 1024;
const make = (): ReadAhead => new ReadAhead(new JobQueue(), (rel) => `/nonexistent/${rel}`, 0, 65536, () => {});

describe('ReadAhead decides from first reads', () => {
  it('stays off while first reads come from memory, even with a few slow outliers', () => {
    const ra = make();
    for (let i = 0; i < 100; i++) ra.observe(i, i % 5 === 0 ? 5 : 0.004);
    expect(ra.isActive).toBe(false);
  });

  it('starts once the typical first read waits for a device', () => {
    const ra = make();
    for (let i = 0; i < 15; i++) ra.observe(i, 0.4);
    expect(ra.isActive).toBe(false); // not before it has seen enough
    ra.observe(15, 0.4);
    expect(ra.isActive).toBe(true);
  });

  it('follows a big file only once its first MiB came at device speed, in 2 MiB requests, reads nothing after a stop, and closes the descriptor once its reads are in', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-ra-'));
    const file = path.join(dir, 'big');
    fs.writeFileSync(file, Buffer.alloc(64 * MiB, 1));
    const ino = fs.statSync(file).ino;
    // Open on this file: a closed number may be reused by another open, of another file.
    const isOpen = (fd: number): boolean => {
      try {
        return fs.fstatSync(fd).ino === ino;
      } catch {
        return false;
      }
    };
    // A follower owns its descriptor once told -1; these stay open only if the test fails first.
    const [small, fdFast, fdSlow] = [0, 1, 2].map(() => fs.openSync(file, 'r'));
    const reads = vi.spyOn(fs, 'read');
    try {
      const ra = make();
      expect(ra.firstRead(-1, 0.5, small!, MiB)).toBeUndefined(); // small: the queue's read-ahead covers it

      // A copy at memory speed: its first MiB in well under 4 ms. Nothing is read ahead.
      const fast = ra.firstRead(-1, 0.004, fdFast!, 64 * MiB)!;
      fast(65536);
      fast(65536 + MiB);
      fast(65536 + 2 * MiB);
      expect(reads).not.toHaveBeenCalled();
      fast(-1);
      expect(isOpen(fdFast!)).toBe(false); // nothing in flight: closed at once

      // A copy waiting for a device: blocked (here: asleep in a timer) far more than 4 ms for its first
      // MiB. Requests of 2 MiB go out ahead of it.
      const slow = ra.firstRead(-1, 0.5, fdSlow!, 64 * MiB)!;
      slow(65536);
      await new Promise((resolve) => setTimeout(resolve, 60));
      slow(65536 + MiB);
      expect(reads.mock.calls.length).toBeGreaterThan(0);
      const calls = reads.mock.calls as unknown as unknown[][];
      expect(calls.every((c) => c[3] === 2 * MiB && (c[4] as number) >= 65536)).toBe(true);
      slow(-1);
      // Its reads are still out (their callbacks run after this turn): the descriptor stays open for them.
      expect(isOpen(fdSlow!)).toBe(true);
      const issued = reads.mock.calls.length;
      slow(65536 + 3 * MiB);
      await waitFor(() => !isOpen(fdSlow!), 'the last read in to close it', { timeoutMs: 2_000 });
      expect(reads.mock.calls.length).toBe(issued); // none follows a stop
    } finally {
      reads.mockRestore();
      for (const fd of [small!, fdFast!, fdSlow!]) if (isOpen(fd)) fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
