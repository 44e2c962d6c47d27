/** When read-ahead starts: decided from the copies' first reads (their median), never from one outlier. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { JobQueue } from '../../src/job-queue.js';
import { ReadAhead } from '../../src/read-ahead.js';

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

  it('follows a big file only once its first MiB came at device speed, in 2 MiB requests, and reads nothing after a stop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-ra-'));
    const file = path.join(dir, 'big');
    fs.writeFileSync(file, Buffer.alloc(64 * MiB, 1));
    const fd = fs.openSync(file, 'r');
    const reads = vi.spyOn(fs, 'read');
    try {
      const ra = make();
      expect(ra.firstRead(-1, 0.5, fd, MiB)).toBeUndefined(); // small: the queue's read-ahead covers it

      // A copy at memory speed: its first MiB in well under 4 ms. Nothing is read ahead.
      const fast = ra.firstRead(-1, 0.004, fd, 64 * MiB)!;
      fast(65536);
      fast(65536 + MiB);
      fast(65536 + 2 * MiB);
      expect(reads).not.toHaveBeenCalled();
      fast(-1);

      // A copy waiting for a device: blocked (here: asleep in a timer) far more than 4 ms for its first
      // MiB. Requests of 2 MiB go out ahead of it.
      const slow = ra.firstRead(-1, 0.5, fd, 64 * MiB)!;
      slow(65536);
      await new Promise((resolve) => setTimeout(resolve, 60));
      slow(65536 + MiB);
      expect(reads.mock.calls.length).toBeGreaterThan(0);
      const calls = reads.mock.calls as unknown as unknown[][];
      expect(calls.every((c) => c[3] === 2 * MiB && (c[4] as number) >= 65536)).toBe(true);
      slow(-1);
      const issued = reads.mock.calls.length;
      slow(65536 + 3 * MiB);
      await new Promise((resolve) => setTimeout(resolve, 50)); // in-flight reads complete: none follows
      expect(reads.mock.calls.length).toBe(issued);
    } finally {
      reads.mockRestore();
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

});
