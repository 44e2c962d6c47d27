/**
 * The scheduler driven by fake workers: no processes, no files. Each test plays the workers' side of
 * the protocol (reports with sizes, results, jobs in hand, exits) and checks what the scheduler sends,
 * forks, removes and reports.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/scheduler.js';
import { JOBS_PER_EXTRA_WORKER, LOW_WATER, MAX_BATCH, MAX_OUTSTANDING, MAX_OUTSTANDING_GROWING, REGROW_AFTER_JOBS, type SchedulerSettings } from '../../src/scheduler-settings.js';
import type { JobRef, ParentMessage, TaskResult, WorkerReport } from '../../src/protocol.js';
import type { WireStat } from '../../src/metadata.js';
import type { SerializedError } from '../../src/errors.js';

const MiB = 1024 * 1024;

class FakePool {
  forks: number[] = [];
  sent: Array<[number, ParentMessage]> = [];
  removed: JobRef[] = [];
  sizedBytes = 0;
  sizedFiles = 0;
  bytes = 0;
  done = new Map<number, string[]>();
  failed = new Map<number, SerializedError>();
  linked: Array<[number, string]> = [];
  warnings: string[] = [];
  readonly s: Scheduler;

  constructor(settings: Partial<SchedulerSettings> = {}) {
    this.s = new Scheduler(
      { workers: 2, initialWorkers: 2, bigFileBytes: 8 * MiB, splitFileBytes: Infinity, partBytes: 32 * MiB, ...settings },
      {
        fork: (w) => this.forks.push(w),
        send: (w, m) => this.sent.push([w, m]),
        removeTemps: (jobs) => this.removed.push(...jobs),
        sized: (b, f) => {
          this.sizedBytes += b;
          this.sizedFiles += f;
        },
        bytes: (n) => (this.bytes += n),
        done: (id, o) => this.done.set(id, [...(this.done.get(id) ?? []), o]),
        failed: (id, e) => {
          expect(this.failed.has(id), `job ${id} failed twice`).toBe(false);
          this.failed.set(id, e);
        },
        hardLinked: (id, key) => this.linked.push([id, key]),
        warn: (m) => this.warnings.push(m),
      },
    );
  }

  /** Messages sent to worker `w` (or to all) since the last call, of one type. */
  take<T extends ParentMessage['type']>(type: T, w?: number): Array<[number, Extract<ParentMessage, { type: T }>]> {
    const hits = this.sent.filter(([to, m]) => m.type === type && (w === undefined || to === w)) as Array<[number, Extract<ParentMessage, { type: T }>]>;
    this.sent = this.sent.filter((e) => !hits.includes(e as never));
    return hits;
  }

  /**
   * Worker `w` sizes the jobs of every `size` message it got, with `sizeOf(id)`, in one report, and
   * applies each message's rule as a worker does: it keeps files under `keepBelow` not linked (-H).
   */
  sizeAll(w: number, sizeOf: (id: number) => number, links: Array<[number, string]> = []): number[] {
    const linked = new Set(links.map(([id]) => id));
    const sizes: number[] = [];
    const away: number[] = [];
    for (const [, m] of this.take('size', w)) {
      for (const j of m.jobs) {
        sizes.push(j.id, sizeOf(j.id));
        if (linked.has(j.id) || sizeOf(j.id) >= m.keepBelow) away.push(j.id);
      }
    }
    this.report(w, { sizes, away, links });
    return sizes.filter((_, i) => i % 2 === 0);
  }

  report(w: number, r: Partial<WorkerReport>): void {
    this.s.onReport(w, { type: 'report', sizes: [], away: [], links: [], bytes: 0, results: [], inHand: [], ...r });
  }

  results(w: number, results: TaskResult[], bytes = 0): void {
    this.report(w, { results, bytes });
  }
}

const copied = (...ids: number[]): TaskResult[] => ids.map((id) => ({ id, outcome: 'copied' }));
/** The ids of the jobs worker `w` was sent to size since the last look. */
const sizedAt = (p: FakePool, w: number): number[] => p.take('size', w).flatMap(([, m]) => m.jobs.map((j) => j.id));

function wire(size: number): WireStat {
  return { size, blocks: Math.ceil(size / 512), mode: 0o100644, uid: 0, gid: 0, dev: 1, ino: '7', nlink: 1, atimeNs: '0', mtimeNs: '0' };
}

describe('Scheduler: batches and routing', () => {
  it('sends jobs in growing batches to the least-loaded worker, each job to exactly one worker', () => {
    const p = new FakePool();
    expect(p.forks).toEqual([0, 1]);
    for (let i = 0; i < 100; i++) p.s.add('file', `f${i}`, true);
    p.s.finishInput();
    const sizes = p.take('size');
    const ids = sizes.flatMap(([, m]) => m.jobs.map((j) => j.id)).sort((a, b) => a - b);
    expect(ids).toEqual([...Array(100).keys()]);
    // The first batch is small so a worker starts at once; the last ones split the rest evenly.
    expect(sizes[0]![1].jobs).toHaveLength(16);
    expect(sizes[1]![1].jobs).toHaveLength(32);
    const perWorker = [0, 1].map((w) => sizes.filter(([to]) => to === w).reduce((n, [, m]) => n + m.jobs.length, 0));
    expect(Math.abs(perWorker[0]! - perWorker[1]!)).toBeLessThanOrEqual(16);
    expect(sizes[0]![1].jobs[0]).toEqual({ id: 0, kind: 'file', rel: 'f0', attempt: 0, fresh: true });
  });

  it('tells each size batch how many jobs the walk has found so far (a big run tiers up sooner)', () => {
    const p = new FakePool();
    for (let i = 0; i < 16; i++) p.s.add('file', `f${i}`, true);
    for (let i = 16; i < 40; i++) p.s.add('file', `f${i}`, true);
    p.s.finishInput();
    const found = p.take('size').map(([, m]) => m.found);
    expect(found[0]).toBe(16);
    expect(found.at(-1)).toBe(40);
    expect(found).toEqual([...found].sort((x, y) => x - y));
  });

  it('takes a bare id among a report\'s results as `copied`, in the order the worker finished them beside the results that say more', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    const ids = [0, 1, 2, 3].map((i) => p.s.add('file', `f${i}`, false));
    p.s.finishInput();
    p.sizeAll(0, () => 10);
    // f1 finished between two bare ids: -v lists entries in that order.
    p.report(0, { results: [ids[0]!, { id: ids[1]!, outcome: 'same' }, ids[2]!], bytes: 20 });
    expect(ids.map((id) => p.s.jobs.stateName(id))).toEqual(['done', 'done', 'done', 'at']);
    expect([...p.done.entries()]).toEqual([
      [ids[0], ['copied']],
      [ids[1], ['same']],
      [ids[2], ['copied']],
    ]);
    // Once only: a late duplicate changes nothing.
    p.report(0, { results: [ids[0]!] });
    expect(p.done.get(ids[0]!)).toEqual(['copied']);
    p.report(0, { results: [ids[3]!], bytes: 10 });
    expect(p.s.complete).toBe(true);
  });

  it('routes sized jobs once, by the rule sent with the batch: small ones stay with the worker that sized them, big ones wait for an idle worker', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    const big = p.s.add('file', 'big', false);
    const small = p.s.add('file', 'small', false);
    p.s.finishInput();
    expect(p.sent.filter(([, m]) => m.type === 'size').map(([, m]) => (m as { keepBelow: number }).keepBelow)).toEqual([8 * MiB]);
    p.sizeAll(0, (id) => (id === big ? 20 * MiB : 100));
    expect(p.sizedBytes).toBe(20 * MiB + 100);
    expect([p.s.jobs.stateName(small), p.s.jobs.worker(small)]).toEqual(['at', 0]);
    // The worker still has the small file: it is not idle, so the big file waits.
    expect(p.s.jobs.stateName(big)).toBe('big');
    expect(p.take('tasks')).toEqual([]);
    // Once it reports the small one done, it is idle and gets the big file, with its sized bytes.
    p.results(0, copied(small), 100);
    expect(p.take('tasks')).toEqual([[0, { type: 'tasks', tasks: [{ t: 'copy', job: { id: big, kind: 'file', rel: 'big', attempt: 0, fresh: false }, size: 20 * MiB }] }]]);
    expect([p.s.jobs.stateName(big), p.s.jobs.worker(big)]).toEqual(['at', 0]);
    expect(p.done.get(small)).toEqual(['copied']);
  });

  it('gives big work one piece at a time, only to idle workers, so big files spread over the pool', () => {
    const p = new FakePool();
    for (let i = 0; i < 4; i++) p.s.add('file', `big${i}`, false);
    p.s.finishInput();
    for (const w of [0, 1]) p.sizeAll(w, () => 100 * MiB);
    const given = p.take('tasks');
    expect(given.map(([w, m]) => [w, m.tasks.length])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    // No worker gets a second big file before it reports the first one done.
    p.report(0, { inHand: [given[0]![1].tasks[0]!.job.id] });
    expect(p.take('tasks')).toEqual([]);
    p.results(0, copied(given[0]![1].tasks[0]!.job.id), 100 * MiB);
    expect(p.take('tasks').map(([w]) => w)).toEqual([0]);
  });

  it('while no worker has a big file in hand, the least-loaded busy one takes one; the last (to be split) waits for idle workers', () => {
    const p = new FakePool({ splitFileBytes: 64 * MiB });
    const small: number[] = [];
    for (let i = 0; i < 40; i++) small.push(p.s.add('file', `f${i}`, true));
    const big = [0, 1, 2].map((i) => p.s.add('file', `big${i}`, true));
    p.s.flush();
    const isBig = (id: number): boolean => big.includes(id);
    const keptAt = [0, 1].map((w) => p.sizeAll(w, (id) => (isBig(id) ? 100 * MiB : 1000)).filter((id) => !isBig(id)));
    expect(keptAt[0]!.length + keptAt[1]!.length).toBe(40);
    // Both workers hold small files, and none has a big one: the least loaded takes one, before its queue.
    const least = keptAt[0]!.length <= keptAt[1]!.length ? 0 : 1;
    const first = p.take('tasks');
    expect(first.map(([w, m]) => [w, m.tasks.map((t) => t.t)])).toEqual([[least, ['copy']]]);
    const firstId = first[0]![1].tasks[0]!.job.id;
    expect(isBig(firstId)).toBe(true);
    // One at a time: while it is in hand, nothing more is given to busy workers.
    p.results(1 - least, copied(keptAt[1 - least]![0]!), 1000);
    expect(p.take('tasks')).toEqual([]);
    // Done: the next one goes out the same way.
    p.results(least, copied(firstId), 100 * MiB);
    const second = p.take('tasks');
    expect(second.map(([, m]) => m.tasks.map((t) => t.t))).toEqual([['copy']]);
    // The last big file, with nothing else to come, is not given to a busy worker: it waits to be split.
    p.s.finishInput();
    p.results(second[0]![0], copied(second[0]![1].tasks[0]!.job.id), 100 * MiB);
    expect(p.take('tasks')).toEqual([]);
    const last = big.find((id) => id !== firstId && id !== second[0]![1].tasks[0]!.job.id)!;
    expect(p.s.jobs.stateName(last)).toBe('big');
    for (const w of [0, 1]) p.results(w, copied(...keptAt[w]!.filter((id) => !p.done.has(id))), 0);
    expect(p.take('tasks').flatMap(([, m]) => m.tasks.map((t) => [t.t, t.job.id]))).toEqual([['open', last]]);
  });

  it('while the walk goes on, a part batch waits for more unless a worker runs low; whole batches and the end go at once', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    // Enough jobs for whole batches, the batch size grown to MAX_BATCH: the worker now holds more than LOW_WATER.
    let n = 0;
    const add = (count: number): void => {
      for (let i = 0; i < count; i++) p.s.add('file', `f${n++}`, false);
    };
    add(16 + 32 + 64 + 128 + 256 + 512);
    p.s.flush();
    const held = sizedAt(p, 0);
    expect(held).toHaveLength(n);
    expect(p.s.jobs.load(0)).toBeGreaterThanOrEqual(LOW_WATER);
    // A listing of 10 more: flushed, but a part batch to a busy worker waits.
    add(10);
    p.s.flush();
    expect(sizedAt(p, 0)).toEqual([]);
    // Once the waiting jobs make a whole batch, it goes.
    add(MAX_BATCH - 10);
    const batch = sizedAt(p, 0);
    expect(batch).toHaveLength(MAX_BATCH);
    add(5);
    p.s.flush();
    expect(sizedAt(p, 0)).toEqual([]);
    // Results of the first jobs: the worker still holds a whole batch, so the 5 still wait.
    p.report(0, { sizes: held.flatMap((id) => [id, 10]) });
    p.results(0, copied(...held), held.length * 10);
    expect(sizedAt(p, 0)).toEqual([]);
    // Its report that brings it under LOW_WATER sends them.
    p.report(0, { sizes: batch.flatMap((id) => [id, 10]) });
    p.results(0, copied(...batch), batch.length * 10);
    expect(sizedAt(p, 0)).toHaveLength(5);
    // The end of the walk sends whatever waits, however little, to a busy worker too.
    add(LOW_WATER * 2);
    p.s.flush();
    expect(sizedAt(p, 0)).toHaveLength(LOW_WATER * 2);
    add(3);
    p.s.flush();
    expect(sizedAt(p, 0)).toEqual([]);
    p.s.finishInput();
    expect(sizedAt(p, 0)).toHaveLength(3);
  });

  it('a part batch goes at once to a worker running low (under LOW_WATER)', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    for (let i = 0; i < 10; i++) p.s.add('file', `f${i}`, false);
    p.s.flush();
    expect(sizedAt(p, 0)).toHaveLength(10);
    for (let i = 10; i < 15; i++) p.s.add('file', `f${i}`, false);
    p.s.flush();
    expect(sizedAt(p, 0)).toHaveLength(5);
  });

  it('holds jobs back when every worker has MAX_OUTSTANDING, and sends more as results come in', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    const n = MAX_OUTSTANDING + 1000;
    for (let i = 0; i < n; i++) p.s.add('file', `f${i}`, true);
    p.s.finishInput();
    const sentIds = (): number[] => p.take('size').flatMap(([, m]) => m.jobs.map((j) => j.id));
    const first = sentIds();
    expect(first).toHaveLength(MAX_OUTSTANDING);
    p.sizeAll(0, () => 1); // sizing alone frees nothing
    expect(sentIds()).toEqual([]);
    p.results(0, copied(...first.slice(0, 600)), 600);
    expect(sentIds()).toHaveLength(600);
  });

  it('bytes read past a size of 0 (/proc files) grow the job, the total and the done bytes, before the result', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    const proc = p.s.add('file', 'ostype', true);
    p.s.finishInput();
    p.sizeAll(0, () => 0);
    expect(p.sizedBytes).toBe(0);
    p.report(0, { grown: [[proc, 6]], results: copied(proc) });
    expect([p.sizedBytes, p.bytes, p.s.jobs.sizedBytes(proc)]).toEqual([6, 6, 6]);
    expect(p.done.get(proc)).toEqual(['copied']);
  });
});

describe('Scheduler: how many workers', () => {
  it('a small tree stays with one worker: no second fork for 500 files of 1 KiB, and every job reaches the first', () => {
    const p = new FakePool({ initialWorkers: 1 });
    for (let i = 0; i < 500; i++) p.s.add('file', `f${i}`, false);
    p.s.finishInput();
    const ids: number[] = [];
    // The lone worker of a pool that may grow holds MAX_OUTSTANDING_GROWING jobs at most; as it
    // completes them, the rest follows.
    while (ids.length < 500) {
      const batch = sizedAt(p, 0);
      expect(batch.length).toBeGreaterThan(0);
      ids.push(...batch);
      p.report(0, { sizes: batch.flatMap((id) => [id, 1024]) });
      expect(p.s.jobs.load(0)).toBeLessThanOrEqual(MAX_OUTSTANDING_GROWING);
      p.results(0, copied(...batch), batch.length * 1024);
    }
    expect(p.forks).toEqual([0]);
    expect(ids.sort((a, b) => a - b)).toEqual([...Array(500).keys()]);
  });

  it('500 files of 4 MiB fork a second worker once their sizes are known, and the jobs not yet sent are shared out', () => {
    const p = new FakePool({ initialWorkers: 1 });
    for (let i = 0; i < 500; i++) p.s.add('file', `f${i}`, false);
    p.s.finishInput();
    const first = sizedAt(p, 0);
    expect(first.length).toBe(MAX_OUTSTANDING_GROWING);
    expect(p.forks).toEqual([0]);
    p.report(0, { sizes: first.flatMap((id) => [id, 4 * MiB]) });
    expect(p.forks).toEqual([0, 1]);
    const more = sizedAt(p, 0);
    const second = sizedAt(p, 1);
    expect([...first, ...more, ...second].sort((a, b) => a - b)).toEqual([...Array(500).keys()]);
    // The two hold about as many jobs each: the first one's head start is MAX_OUTSTANDING_GROWING at most.
    expect(Math.abs(p.s.jobs.load(0) - p.s.jobs.load(1))).toBeLessThanOrEqual(MAX_OUTSTANDING_GROWING);
  });

  it('a lone big file copied whole (not split) forks nothing: the idle worker takes it, and its bytes do not weigh', () => {
    const p = new FakePool({ workers: 8, initialWorkers: 1 });
    const id = p.s.add('file', 'disk.img', false);
    p.s.finishInput();
    p.sizeAll(0, () => 1024 * MiB);
    expect(p.take('tasks')).toEqual([[0, { type: 'tasks', tasks: [expect.objectContaining({ t: 'copy' })] }]]);
    // Progress of that copy: nothing else is left to do, so nothing more is forked.
    p.report(0, { bytes: 64 * MiB, inHand: [id] });
    p.report(0, { bytes: 64 * MiB, inHand: [id] });
    expect(p.forks).toEqual([0]);
  });

  it(`${JOBS_PER_EXTRA_WORKER} jobs waiting fork a second worker before any size is known`, () => {
    const p = new FakePool({ initialWorkers: 1 });
    for (let i = 0; i < JOBS_PER_EXTRA_WORKER + MAX_OUTSTANDING_GROWING; i++) p.s.add('file', `f${i}`, false);
    expect(p.forks).toEqual([0, 1]);
  });
});

describe('Scheduler: the end of a run', () => {
  /**
   * 40 files of 4 MiB all sized by worker 0, the only one at first (what a mixed tree's medium files
   * can leave); their bytes fork worker 1, which finds nothing left to send.
   */
  function oneSided(): { p: FakePool; kept: number[] } {
    const p = new FakePool({ initialWorkers: 1 });
    for (let i = 0; i < 40; i++) p.s.add('file', `m${i}`, false);
    p.s.finishInput();
    const kept = sizedAt(p, 0);
    expect(kept).toHaveLength(40);
    p.report(0, { sizes: kept.flatMap((id) => [id, 4 * MiB]), inHand: [kept[0]!] });
    expect(p.forks).toEqual([0, 1]);
    return { p, kept };
  }

  it('a worker that runs dry gets the end of the busiest queue: that worker is asked to release, and what it gives back goes to the idle one', () => {
    const { p, kept } = oneSided();
    // Worker 1, still starting, is not counted idle: its first report says it is up (and idle). Then
    // worker 0 (40 jobs) is asked once, not again while it answers.
    expect(p.take('release')).toEqual([]);
    p.report(1, {});
    expect(p.take('release')).toEqual([[0, { type: 'release' }]]);
    p.report(1, {});
    p.report(0, { inHand: [kept[0]!] });
    expect(p.take('release')).toEqual([]);
    // It gives back its last 19 jobs, last first: worker 1 sizes them (a `size` batch, the same rule), in order.
    p.report(0, { released: kept.slice(21).reverse(), inHand: [kept[0]!] });
    expect(p.take('size').map(([w, m]) => [w, m.jobs.map((j) => j.id), m.keepBelow])).toEqual([[1, kept.slice(21), 8 * MiB]]);
    expect(kept.slice(21).map((id) => [p.s.jobs.stateName(id), p.s.jobs.worker(id)])).toEqual(kept.slice(21).map(() => ['sizing', 1]));
    expect([p.s.jobs.load(0), p.s.jobs.load(1)]).toEqual([21, 19]);
    // Worker 1 sizes and copies them; every job completes once, and the sizes count once.
    p.report(1, { sizes: kept.slice(21).flatMap((id) => [id, 4 * MiB]) });
    expect(p.sizedBytes).toBe(40 * 4 * MiB);
    expect(p.sizedFiles).toBe(40);
    p.results(1, copied(...kept.slice(21)), 19 * 4 * MiB);
    p.results(0, copied(...kept.slice(0, 21)), 21 * 4 * MiB);
    expect([...p.done.keys()].sort((a, b) => a - b)).toEqual([...kept].sort((a, b) => a - b));
    expect([...p.done.values()].every((o) => o.length === 1)).toBe(true);
    expect(p.bytes).toBe(40 * 4 * MiB);
    expect(p.take('end').map(([w]) => w).sort()).toEqual([0, 1]);
  });

  it('a worker that gives nothing back is not asked again until it gets new jobs; nothing is asked before the scan ends', () => {
    const { p, kept } = oneSided();
    p.report(1, {});
    expect(p.take('release')).toHaveLength(1);
    p.report(0, { released: [], inHand: [kept[0]!] });
    p.report(1, {});
    p.results(0, copied(kept[0]!), 4 * MiB);
    expect(p.take('release')).toEqual([]);
    expect(p.take('size')).toEqual([]);

    // While the scan goes on, an idle worker waits for new jobs instead.
    const q = new FakePool({ initialWorkers: 1 });
    for (let i = 0; i < 40; i++) q.s.add('file', `m${i}`, false);
    q.s.flush();
    const ids = sizedAt(q, 0);
    q.report(0, { sizes: ids.flatMap((id) => [id, 4 * MiB]), inHand: [ids[0]!] });
    expect(q.forks).toEqual([0, 1]);
    q.report(1, {});
    expect(q.take('release')).toEqual([]);
  });

  it('jobs given back when the idle worker has died go to its replacement, and each is copied once', () => {
    const { p, kept } = oneSided();
    p.report(1, {});
    expect(p.take('release')).toHaveLength(1);
    p.s.onExit(1, 'killed by SIGKILL');
    p.report(0, { released: kept.slice(30).reverse(), inHand: [kept[0]!] });
    const resent = p.sent.filter(([, m]) => m.type === 'size').map(([w, m]) => [w, (m as { jobs: JobRef[] }).jobs.map((j) => j.id)]);
    expect(resent.flatMap(([, ids]) => ids as number[]).sort((a, b) => a - b)).toEqual(kept.slice(30));
    // The replacement (worker 2, not up yet) is the least loaded: they wait and go to it as usual.
    expect(p.forks).toEqual([0, 1, 2]);
    expect(resent.every(([w]) => w === 2)).toBe(true);
  });
});

describe('Scheduler: huge files in parts', () => {
  it('splits the last big file: open at an idle worker, parts to idle workers, seal by the last writer', () => {
    const p = new FakePool({ splitFileBytes: 64 * MiB, partBytes: 32 * MiB });
    const id = p.s.add('file', 'huge', false);
    p.s.finishInput();
    const size = 80 * MiB; // three parts: 32 + 32 + 16 MiB
    const w = p.take('size')[0]![0];
    p.report(w, { sizes: [id, size], away: [id] });
    const [opener, open] = p.take('tasks')[0]!;
    expect(open.tasks).toEqual([{ t: 'open', job: { id, kind: 'file', rel: 'huge', attempt: 0, fresh: false } }]);
    expect(p.s.jobs.stateName(id)).toBe('opening');
    p.results(opener, [{ id, outcome: 'opened', st: wire(size) }]);
    expect(p.s.jobs.stateName(id)).toBe('parts');
    const parts = p.take('tasks').map(([to, m]) => [to, m.tasks[0]]);
    expect(parts).toEqual([
      [0, { t: 'part', job: expect.objectContaining({ id }), part: 0, offset: 0, length: 32 * MiB }],
      [1, { t: 'part', job: expect.objectContaining({ id }), part: 1, offset: 32 * MiB, length: 32 * MiB }],
    ]);
    p.results(0, [{ id, part: 0, outcome: 'written' }], 32 * MiB);
    expect(p.take('tasks')).toEqual([[0, { type: 'tasks', tasks: [{ t: 'part', job: expect.objectContaining({ id }), part: 2, offset: 64 * MiB, length: 16 * MiB }] }]]);
    p.results(0, [{ id, part: 2, outcome: 'written' }], 16 * MiB);
    expect(p.take('tasks')).toEqual([]);
    p.results(1, [{ id, part: 1, outcome: 'written' }], 32 * MiB);
    expect(p.s.jobs.stateName(id)).toBe('sealing');
    expect(p.take('tasks')).toEqual([[1, { type: 'tasks', tasks: [{ t: 'seal', job: expect.objectContaining({ id }), st: wire(size) }] }]]);
    p.results(1, [{ id, outcome: 'copied' }]);
    expect(p.done.get(id)).toEqual(['copied']);
    expect(p.bytes).toBe(size);
    expect(p.take('end').map(([to]) => to)).toEqual([0, 1]);
  });

  it('a part sent to a worker that never starts goes to the one that runs; the file is sealed and the run completes', () => {
    const p = new FakePool({ splitFileBytes: 64 * MiB, partBytes: 32 * MiB });
    const id = p.s.add('file', 'huge', false);
    p.s.finishInput();
    const size = 96 * MiB;
    p.report(0, { sizes: [id, size], away: [id] }); // worker 0 started; worker 1 has not reported
    const opener = p.take('tasks')[0]![0];
    p.results(opener, [{ id, outcome: 'opened', st: wire(size) }]);
    const parts = p.take('tasks').map(([to, m]) => [to, (m.tasks[0] as { part: number }).part]);
    expect(parts).toEqual([
      [0, 0],
      [1, 1],
    ]);
    p.s.onExit(1, 'could not start (EAGAIN)');
    p.results(0, [{ id, part: 0, outcome: 'written' }], 32 * MiB);
    // Parts 1 and 2 both go to worker 0 in turn.
    for (const part of [1, 2]) {
      const next = p.take('tasks');
      expect(next.map(([to, m]) => [to, (m.tasks[0] as { part: number }).part])).toEqual([[0, part]]);
      p.results(0, [{ id, part, outcome: 'written' }], 32 * MiB);
    }
    expect(p.take('tasks')).toEqual([[0, { type: 'tasks', tasks: [{ t: 'seal', job: expect.objectContaining({ id }), st: wire(size) }] }]]);
    p.results(0, [{ id, outcome: 'copied' }]);
    expect(p.done.get(id)).toEqual(['copied']);
    expect(p.s.complete).toBe(true);
  });

  it('a single file SRC (path \'\') is named "the file" in the warning of a part written again', () => {
    const p = new FakePool({ splitFileBytes: 64 * MiB, partBytes: 32 * MiB });
    const id = p.s.add('file', '', false);
    p.s.finishInput();
    p.report(p.take('size')[0]![0], { sizes: [id, 96 * MiB], away: [id] });
    p.results(p.take('tasks')[0]![0], [{ id, outcome: 'opened', st: wire(96 * MiB) }]);
    p.take('tasks');
    p.report(0, { inHand: [[id, 0]] });
    p.s.onExit(0, 'killed by SIGKILL');
    expect(p.warnings).toEqual(['worker 0 died (killed by SIGKILL) while copying part 1 of the file: writing that part again']);
  });

  it('a part whose worker dies is written again once; a second death fails the file, removes its temp and completes its bytes', () => {
    const p = new FakePool({ splitFileBytes: 64 * MiB, partBytes: 32 * MiB });
    const id = p.s.add('file', 'huge', false);
    p.s.finishInput();
    const w = p.take('size')[0]![0];
    p.report(w, { sizes: [id, 96 * MiB], away: [id] });
    const opener = p.take('tasks')[0]![0];
    p.results(opener, [{ id, outcome: 'opened', st: wire(96 * MiB) }]);
    p.take('tasks');
    // Worker 0 dies with part 0 in hand: a new worker is forked and writes it again.
    p.report(0, { inHand: [[id, 0]] });
    p.s.onExit(0, 'killed by SIGKILL');
    expect(p.warnings).toEqual(['worker 0 died (killed by SIGKILL) while copying part 1 of `huge`: writing that part again']);
    expect(p.forks).toEqual([0, 1, 2]);
    const again = p.take('tasks');
    expect(again).toEqual([[2, { type: 'tasks', tasks: [expect.objectContaining({ t: 'part', part: 0 })] }]]);
    // It dies again on the same part: the file fails once, its temp goes, the bar completes.
    p.report(2, { inHand: [[id, 0]] });
    p.s.onExit(2, 'killed by SIGKILL');
    expect(p.failed.get(id)?.code).toBe('CRASHED');
    expect(p.removed.map((j) => j.id)).toContain(id);
    expect(p.bytes).toBe(96 * MiB);
    expect(p.s.jobs.stateName(id)).toBe('failed');
  });
});

describe('Scheduler: workers that die', () => {
  it('retries the jobs in hand once (another temp name), queues the rest again, removes every temp they may have left', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    for (let i = 0; i < 5; i++) p.s.add('file', `f${i}`, false);
    p.s.finishInput();
    p.sizeAll(0, () => 1000);
    // The worker holds two jobs at once (as an asynchronous worker may) and has three more queued.
    p.report(0, { results: copied(0), inHand: [1, 2], bytes: 1000 });
    p.s.onExit(0, 'killed by SIGKILL');
    expect(p.warnings).toEqual([
      'worker 0 died (killed by SIGKILL) while copying `f1`: trying it once more',
      'worker 0 died (killed by SIGKILL) while copying `f2`: trying it once more',
    ]);
    expect(p.removed.map((j) => [j.id, j.attempt]).sort()).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
    ]);
    expect(p.forks).toEqual([0, 1]);
    const resent = p.take('size', 1).flatMap(([, m]) => m.jobs);
    expect(resent.map((j) => [j.id, j.attempt]).sort()).toEqual([
      [1, 1],
      [2, 1],
      [3, 0],
      [4, 0],
    ]);
    // The new worker copies them: every job completes exactly once.
    p.sizeAll(1, () => 1000);
    p.results(1, copied(1, 2, 3, 4), 4000);
    expect([...p.done.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    for (const outcomes of p.done.values()) expect(outcomes).toEqual(['copied']);
    expect(p.s.complete).toBe(true);
  });

  it('fails a job whose worker dies twice while it is in hand, and still copies the others', () => {
    const p = new FakePool({ workers: 2, initialWorkers: 2 });
    const poison = p.s.add('file', 'poison', false);
    const other = p.s.add('file', 'other', false);
    p.s.finishInput();
    const holder = (id: number): number => p.s.jobs.worker(id);
    const w1 = holder(poison);
    p.report(w1, { inHand: [poison] });
    p.s.onExit(w1, 'killed by SIGSEGV');
    expect(p.s.jobs.attempt(poison)).toBe(1);
    const w2 = holder(poison);
    expect(w2).not.toBe(w1);
    p.report(w2, { inHand: [poison] });
    p.s.onExit(w2, 'killed by SIGSEGV');
    expect(p.failed.get(poison)).toEqual({ code: 'CRASHED', message: 'the worker copying it died (killed by SIGSEGV), twice' });
    const w3 = holder(other);
    p.results(w3, copied(other));
    expect(p.done.get(other)).toEqual(['copied']);
    expect(p.s.complete).toBe(true);
  });

  it('-H: a lead passed on after the pool gave up fails at once (it would wait for a worker forever)', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    const leader = p.s.add('file', 'a', false);
    const follower = p.s.add('file', 'b', false);
    p.s.finishInput();
    p.report(0, { sizes: [leader, 10, follower, 10], away: [leader, follower], links: [[leader, '1:7'], [follower, '1:7']] });
    p.s.copyAsLeader(leader);
    for (let deaths = 0; deaths < 3 && p.s.liveWorkers().length > 0; deaths++) p.s.onExit(p.s.liveWorkers()[0]!, 'exit code 1');
    expect(p.failed.get(leader)?.code).toBe('GAVE_UP');
    // The link groups hand the lead to the follower, as after any failure of a leader.
    p.s.copyAsLeader(follower);
    expect(p.failed.get(follower)?.code).toBe('GAVE_UP');
    expect(p.s.complete).toBe(true);
  });

  it('gives up after more deaths in a row than the pool has workers: the rest fails with one error, no more forks', () => {
    const p = new FakePool({ workers: 2, initialWorkers: 2 });
    for (let i = 0; i < 300; i++) p.s.add('file', `f${i}`, false);
    p.s.finishInput();
    let deaths = 0;
    let gaveUpAt = 0;
    while (p.s.liveWorkers().length > 0 && deaths < 50) {
      // Each worker starts (its first report), then dies: nothing in hand, nothing done.
      for (const w of p.s.liveWorkers()) p.report(w, {});
      p.s.onExit(p.s.liveWorkers()[0]!, 'exit code 1');
      deaths++;
      if (!gaveUpAt && p.warnings.some((m) => /keep dying/.test(m))) gaveUpAt = deaths;
    }
    expect(gaveUpAt).toBe(3); // 2 workers: the third death in a row gives up
    expect(p.warnings.filter((m) => /keep dying/.test(m))).toHaveLength(1);
    expect(p.forks.length).toBeLessThanOrEqual(4);
    expect(p.failed.size).toBe(300);
    const messages = new Set([...p.failed.values()].map((e) => e.message));
    expect([...messages]).toEqual(['not copied: workers keep dying (3 in a row with nothing completed, last exit code 1)']);
    expect(p.warnings.at(-1)).toMatch(/workers keep dying/);
    expect(p.s.complete).toBe(true);
    // Jobs found later fail at once rather than fork again.
    const late = p.s.add('file', 'late', false);
    expect(p.failed.get(late)?.code).toBe('GAVE_UP');
    expect(p.forks.length).toBeLessThanOrEqual(4);
  });

  it('a worker that never starts while another runs: the pool stays at one, its jobs go to the other, nothing fails', () => {
    const p = new FakePool({ workers: 2, initialWorkers: 2 });
    const ids: number[] = [];
    for (let i = 0; i < 300; i++) ids.push(p.s.add('file', `f${i}`, false));
    p.s.flush();
    p.report(0, {}); // worker 0 started; worker 1 never reports
    const sentTo1 = p.take('size', 1).flatMap(([, m]) => m.jobs.map((j) => j.id));
    expect(sentTo1.length, 'jobs went to worker 1 before it could start').toBeGreaterThan(0);
    p.s.onExit(1, 'could not start (EAGAIN)');
    expect(p.warnings).toEqual(['another worker could not start (EAGAIN): going on with 1']);
    expect(p.failed.size).toBe(0);
    // More work than a second worker would be forked for: the pool does not try again.
    for (let i = 300; i < 5000; i++) ids.push(p.s.add('file', `f${i}`, false));
    p.s.finishInput();
    expect(p.forks).toEqual([0, 1]);
    expect(p.s.liveWorkers()).toEqual([0]);
    // Worker 0 copies everything, the jobs worker 1 had among them.
    for (let round = 0; round < 100 && p.done.size < ids.length; round++) {
      const sized = p.sizeAll(0, () => 10);
      p.results(0, copied(...sized));
    }
    expect(p.done.size).toBe(ids.length);
    for (const id of sentTo1) expect(p.done.get(id)).toEqual(['copied']);
    expect(p.s.complete).toBe(true);
  });

  it('a pool that stopped growing tries again after REGROW_AFTER_JOBS more jobs completed (said once)', () => {
    const p = new FakePool({ workers: 2, initialWorkers: 2 });
    const total = REGROW_AFTER_JOBS + 5000;
    for (let i = 0; i < total; i++) p.s.add('file', `f${i}`, false);
    p.s.flush();
    p.report(0, {});
    p.s.onExit(1, 'could not start (EAGAIN)');
    expect(p.warnings).toHaveLength(1);
    let completed = 0;
    // Worker 0 copies alone until REGROW_AFTER_JOBS jobs have completed since; then a worker is forked again.
    const sized: number[] = [];
    for (let round = 0; round < 100 && p.forks.length === 2 && completed < total; round++) {
      if (completed >= sized.length) sized.push(...p.sizeAll(0, () => 10));
      const next = sized.slice(completed, completed + 1000);
      p.results(0, copied(...next));
      completed += next.length;
    }
    expect(completed, `${p.done.size} done`).toBeGreaterThanOrEqual(REGROW_AFTER_JOBS);
    expect(p.forks).toEqual([0, 1, 2]);
    // It cannot start either: the pool goes on with one again, and says nothing more.
    p.s.onExit(2, 'could not start (EAGAIN)');
    expect(p.warnings).toHaveLength(1);
    expect(p.failed.size).toBe(0);
  });

  it('the last worker never starting is a death: forked again, and given up after as many in a row', () => {
    const p = new FakePool({ workers: 2, initialWorkers: 1 });
    for (let i = 0; i < 10; i++) p.s.add('file', `f${i}`, false);
    p.s.finishInput();
    for (let deaths = 0; deaths < 10 && p.s.liveWorkers().length > 0; deaths++) p.s.onExit(p.s.liveWorkers()[0]!, 'did not start within 30 s');
    expect(p.forks).toHaveLength(3);
    expect(p.warnings).toEqual(['workers keep dying (3 in a row, last did not start within 30 s): the entries not copied yet fail']);
    expect(p.failed.size).toBe(10);
  });

  it('a completed job between deaths resets the count', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    for (let i = 0; i < 10; i++) p.s.add('file', `f${i}`, false);
    p.s.finishInput();
    for (let round = 0; round < 5; round++) {
      const w = p.s.liveWorkers()[0]!;
      const ids = p.sizeAll(w, () => 1);
      p.results(w, copied(ids[0]!));
      p.s.onExit(w, 'exit code 1');
    }
    expect(p.failed.size).toBe(0);
    expect(p.done.size).toBe(5);
    expect(p.s.liveWorkers()).toHaveLength(1);
  });
});

describe('Scheduler: -H, end and abort', () => {
  it('holds files with several links for the link groups: a leader is copied by an idle worker, a follower settled', () => {
    const p = new FakePool({ workers: 1, initialWorkers: 1 });
    const a = p.s.add('file', 'a', false);
    const b = p.s.add('file', 'b', false);
    p.s.finishInput();
    p.sizeAll(0, () => 10, [
      [a, '1:5'],
      [b, '1:5'],
    ]);
    expect([p.s.jobs.worker(a), p.s.jobs.worker(b)]).toEqual([-1, -1]);
    expect(p.linked).toEqual([
      [a, '1:5'],
      [b, '1:5'],
    ]);
    expect([p.s.jobs.stateName(a), p.s.jobs.stateName(b)]).toEqual(['held', 'held']);
    p.s.copyAsLeader(a);
    expect(p.take('tasks')).toEqual([[0, { type: 'tasks', tasks: [{ t: 'copy', job: expect.objectContaining({ id: a }), size: 10 }] }]]);
    p.results(0, copied(a), 10);
    p.s.settle(b, 'copied');
    expect(p.done.get(b)).toEqual(['copied']);
    expect(p.bytes).toBe(20);
    expect(p.take('end')).toEqual([[0, { type: 'end' }]]);
  });

  it('ends each worker once every job has completed, not before', () => {
    const p = new FakePool();
    const id = p.s.add('link', 'l', true);
    p.s.finishInput();
    const w = p.s.jobs.worker(id);
    p.sizeAll(w, () => 0);
    expect(p.take('end')).toEqual([]);
    expect(p.s.complete).toBe(false);
    p.results(w, [{ id, outcome: 'same' }]);
    expect(p.take('end').map(([to]) => to).sort()).toEqual([0, 1]);
    expect(p.s.complete).toBe(true);
    // A worker that exits after `end` is no crash: nothing is retried or forked.
    p.s.onExit(0, undefined);
    p.s.onExit(1, undefined);
    expect(p.forks).toEqual([0, 1]);
    expect(p.warnings).toEqual([]);
  });

  it('abort tells every worker, removes split temps, sends nothing more, and a death after it is no crash', () => {
    const p = new FakePool({ splitFileBytes: 64 * MiB });
    const huge = p.s.add('file', 'huge', false);
    p.s.finishInput();
    p.sizeAll(p.s.jobs.worker(huge), () => 100 * MiB);
    const opener = p.take('tasks')[0]![0];
    p.results(opener, [{ id: huge, outcome: 'opened', st: wire(100 * MiB) }]);
    p.take('tasks');
    p.s.abort();
    expect(p.take('abort').map(([w]) => w).sort()).toEqual([0, 1]);
    expect(p.removed.map((j) => j.id)).toEqual([huge]);
    expect(p.s.complete).toBe(true);
    p.s.add('file', 'late', false);
    p.s.flush();
    p.s.onExit(0, 'killed by SIGKILL');
    expect(p.sent).toEqual([]);
    expect(p.forks).toEqual([0, 1]);
  });
});
