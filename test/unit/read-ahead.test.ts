/** When read-ahead starts: decided from the copies' first reads (their median), never from one outlier. */
import { describe, expect, it } from 'vitest';
import { JobQueue } from '../../src/job-queue.js';
import { ReadAhead } from '../../src/read-ahead.js';

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

  it('follows big files only (small ones are covered by the queue\'s read-ahead), and a stopped follower reads nothing', () => {
    const ra = make();
    expect(ra.firstRead(-1, 0.5, 99, 1024 * 1024)).toBeUndefined();
    const follow = ra.firstRead(-1, 0.004, -1, 64 * 1024 * 1024);
    expect(typeof follow).toBe('function');
    follow!(65536);
    follow!(-1); // stopped: no read is issued on the (invalid) descriptor
  });
});
