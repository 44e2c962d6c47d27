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

describe('ReadAhead after the queue gave jobs back', () => {
  it('reads ahead the jobs pushed in the places given back, also past empty files it had passed over', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-ra-back-'));
    try {
      const queue = new JobQueue();
      const ra = new ReadAhead(queue, (rel) => path.join(dir, rel), fs.constants.O_RDONLY, 4096, () => {}, true);
      let id = 0;
      const push = (name: string, bytes: number): void => {
        fs.writeFileSync(path.join(dir, name), Buffer.alloc(bytes, 1));
        const st = fs.statSync(path.join(dir, name), { bigint: true });
        queue.push({
          job: { id: id++, kind: 'file', rel: name, attempt: 0, fresh: true },
          st: { size: bytes, blocks: Number(st.blocks), mode: 0o100644, uid: 0, gid: 0, dev: 1, ino: st.ino, nlink: 1, atimeNs: 0n, mtimeNs: 0n },
        });
      };
      for (let i = 0; i < 4; i++) push(`data${i}`, 100);
      for (let i = 0; i < 12; i++) push(`empty${i}`, 0); // passed over, not read
      ra.fill();
      await waitFor(() => [0, 1, 2, 3].every((n) => ra.isReady(n)), 'the first four read ahead');
      // The copy takes the four (closing their descriptors), then the empty tail goes back to the scheduler.
      for (let n = 0; n < 4; n++) {
        fs.closeSync(ra.take(n)!.fd);
        queue.shift();
      }
      expect(queue.giveBack(0, 0, (n) => ra.holds(n)).length).toBeGreaterThan(0);
      ra.rewind(queue.shifted + queue.length);
      const firstNew = queue.shifted + queue.length;
      push('later', 100);
      ra.fill();
      await waitFor(() => ra.isReady(firstNew), 'the job pushed after the give-back read ahead');
      fs.closeSync(ra.take(firstNew)!.fd);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

