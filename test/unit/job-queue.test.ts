/** The worker's column store of queued jobs: what goes in comes out, in order, across growth and compaction. */
import { describe, expect, it } from 'vitest';
import { JobQueue, type QueuedJob } from '../../src/job-queue.js';
import type { SourceStat } from '../../src/metadata.js';

function stat(i: number): SourceStat {
  return {
    size: i * 1000 + 7,
    // Sparse for odd i: fewer blocks than the size needs.
    blocks: i % 2 ? i : i * 2 + 8,
    mode: 0o100644 + (i % 8),
    uid: i % 3,
    gid: 1000 + (i % 5),
    dev: 2049,
    ino: 2n ** 62n + BigInt(i),
    nlink: 1 + (i % 3),
    atimeNs: -1_234_567_891n * BigInt(i),
    mtimeNs: 1_600_000_000_123_456_789n + BigInt(i),
  };
}

describe('JobQueue', () => {
  // ext4 keeps times up to 2446; nanoseconds since 1970 pass 2^63 in 2262.
  it('keeps times after 2262 and before 1970 to the nanosecond, and inode numbers up to 2^64 - 1', () => {
    const q = new JobQueue();
    // Jobs shifted and the columns grown and compacted first, so a job's slot is not its place in
    // the order of jobs ever pushed (the far times are kept by that place).
    for (let i = 0; i < 1500; i++) q.push({ job: { id: 100 + i, kind: 'file', rel: `pad${i}`, attempt: 0, fresh: false }, st: stat(i) });
    for (let i = 0; i < 1400; i++) q.shift();
    const times = [10_413_792_000_999_999_999n, 15_000_000_000_000_000_001n, -5_000_000_000_000_000_001n, -1n, 0n, 999_999_999n];
    const far = (i: number): QueuedJob => ({ job: { id: i, kind: 'file', rel: `f${i}`, attempt: 0, fresh: false }, st: { ...stat(i), ino: 2n ** 64n - 1n - BigInt(i), atimeNs: -times[i]!, mtimeNs: times[i]! } });
    for (let round = 0; round < 400; round++) times.forEach((_, i) => q.push(far(i)));
    for (let i = 0; i < 100; i++) expect(q.shift()?.job.rel).toBe(`pad${1400 + i}`);
    for (let round = 0; round < 400; round++) times.forEach((_, i) => expect(q.shift()).toEqual(far(i)));
    expect(q.length).toBe(0);
  });

  it('returns jobs with their stats exactly, first in first out, through growth and compaction', () => {
    const q = new JobQueue();
    let next = 0;
    let expected = 0;
    const push = (n: number): void => {
      for (let k = 0; k < n; k++, next++) {
        q.push({
          job: { id: next, kind: next % 4 === 0 ? 'link' : 'file', rel: `d/${next}`, attempt: next % 2, fresh: next % 3 === 0 },
          st: stat(next),
        });
      }
    };
    const take = (n: number): void => {
      for (let k = 0; k < n; k++, expected++) {
        const got = q.shift();
        expect(got?.job).toEqual({ id: expected, kind: expected % 4 === 0 ? 'link' : 'file', rel: `d/${expected}`, attempt: expected % 2, fresh: expected % 3 === 0 });
        expect(got?.st).toEqual(stat(expected));
      }
    };
    push(1500);
    take(1000);
    push(3000); // compaction and growth
    take(2000);
    push(10);
    expect(q.length).toBe(1510);
    take(1510);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('gives back the end of the queue, about half the work left by weight, never a job it is told to keep', () => {
    const q = new JobQueue();
    const job = (i: number, size: number, far = false): QueuedJob => ({
      job: { id: i, kind: 'file', rel: `f${i}`, attempt: 0, fresh: false },
      st: { ...stat(i), size, ...(far && { mtimeNs: 10_413_792_000_999_999_999n }) },
    });
    for (let i = 0; i < 10; i++) q.push(job(i, 100));
    q.shift(); // job 0 is in hand elsewhere: n counts from here on
    // 9 queued of weight 100 + 10, and 90 in hand: 1080 in all, so at most 540 goes: four jobs.
    expect(q.giveBack(90, 10, () => false)).toEqual([9, 8, 7, 6]);
    expect(q.length).toBe(5);
    // Job n = 5 (id 5) is being read ahead: it and what is before it stay, whatever the weights.
    expect(q.giveBack(0, 10, (n) => n === 5)).toEqual([]);
    expect(q.giveBack(0, 0, (n) => n === 3)).toEqual([5, 4]);
    // A big job in hand keeps everything back but nothing of the queue: all of it may go.
    expect(q.giveBack(10_000, 0, () => false)).toEqual([3, 2, 1]);
    expect(q.length).toBe(0);
    expect(q.giveBack(0, 0, () => false)).toEqual([]);
    // The queue goes on as before: a job pushed after the give-back takes the place of the ones given
    // back, and a far time is not mixed up with one of a job given back.
    q.push(job(20, 5, true));
    q.push(job(21, 5));
    expect(q.giveBack(0, 0, () => false)).toEqual([21]);
    q.push(job(22, 5));
    expect(q.shift()).toEqual(job(20, 5, true));
    expect(q.shift()).toEqual(job(22, 5));
    expect(q.shift()).toBeUndefined();
  });
});
