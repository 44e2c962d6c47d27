/**
 * The job book on its own: its typed columns grow as jobs come, and every job keeps what was
 * recorded for it across the growth (the scheduler's tests drive it with a few jobs at a time).
 */
import { describe, expect, it } from 'vitest';
import { JobBook, State } from '../../src/job-book.js';
import type { CopyOutcome } from '../../src/protocol.js';
import type { SerializedError } from '../../src/errors.js';

const MiB = 1024 * 1024;
/** Several times the columns' first length (1,024), so they double three times. */
const JOBS = 5000;

/** What job `id` was given in this test, by rules that differ from one column to the next. */
const expected = (id: number) => ({
  kind: id % 3 === 0 ? 'link' : 'file',
  rel: `d${id % 17}/f${id}.txt`,
  fresh: id % 2 === 0,
  // Sizes past 2^32 (no 32-bit column holds them); every 5th job stays unsized.
  size: id % 5 === 4 ? -1 : 5e12 + id * 4099,
  attempt: id % 7 === 0 ? 1 : 0,
  // Every 4th job is at worker 3 for sizing, every 6th other one done; the rest wait.
  state: id % 4 === 0 ? State.sizing : id % 6 === 0 ? State.done : State.queued,
});

describe('JobBook', () => {
  it(`keeps every job's kind, path, freshness, size, attempt, state and worker as its columns grow (${JOBS} jobs)`, () => {
    const completed: Array<[number, CopyOutcome | SerializedError]> = [];
    const book = new JobBook(8 * MiB, (id, result) => completed.push([id, result]));
    book.addWorker(3);
    for (let id = 0; id < JOBS; id++) {
      const e = expected(id);
      expect(book.add(e.kind as 'file' | 'link', e.rel, e.fresh)).toBe(id);
      // Recorded while the columns are still growing: a job added before a growth must keep it.
      if (e.size >= 0) book.setSize(id, e.size);
      if (e.attempt) book.retry(id);
      if (e.state === State.sizing) book.move(id, State.sizing, 3);
      if (e.state === State.done) book.move(id, State.done, -1, 'copied');
    }
    expect(book.length).toBe(JOBS);
    for (let id = 0; id < JOBS; id++) {
      const e = expected(id);
      expect({ kind: book.kind(id), rel: book.rel(id), fresh: book.isFresh(id), size: book.size(id), attempt: book.attempt(id), state: book.state(id) }).toEqual(e);
      expect(book.sizedBytes(id)).toBe(Math.max(e.size, 0));
      expect(book.worker(id)).toBe(e.state === State.sizing ? 3 : -1);
      expect(book.ref(id)).toEqual({ id, kind: e.kind, rel: e.rel, attempt: e.attempt, fresh: e.fresh });
    }
    const atWorker = [...Array(JOBS).keys()].filter((id) => expected(id).state === State.sizing);
    const done = [...Array(JOBS).keys()].filter((id) => expected(id).state === State.done);
    expect(book.jobsAt(3)).toEqual(atWorker);
    expect(book.load(3)).toBe(atWorker.length);
    expect(book.jobsIn(State.done)).toEqual(done);
    expect(completed.map(([id]) => id)).toEqual(done);
    expect(book.count(State.queued)).toBe(JOBS - atWorker.length - done.length);
    // Waiting jobs leave in the order they came, passing over those that moved on (0 and 4: sizing; 6: done).
    expect(book.take('queued', 5)).toEqual([1, 2, 3, 5, 7]);
  });
});
