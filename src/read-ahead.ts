/**
 * Read-ahead for a worker's queue. A worker copies one file at a time with synchronous calls: where
 * the data is in memory (a warm cache, tmpfs) that is the cheapest way, but where it must come from
 * a device (a cold cache on a disk, a network file system) one reader keeps the device at a queue
 * depth of one, and a disk reads many files at once about three times faster than one by one.
 *
 * So the worker times each copy's first read of a file: from memory it takes microseconds, from a
 * device a good part of a millisecond. When the typical first read says "device", the worker also
 * reads the next files of its queue ahead, asynchronously, on libuv's thread pool (many requests in
 * flight), and the copy takes a file only once its read-ahead is in: it then finds the bytes in the
 * page cache. Now and then a few files are left to the copy alone, to check: when their first reads
 * come from memory after all, read-ahead stops. Nothing is decided from the file system or the path.
 */
import fs from 'node:fs';
import { blockedMs } from './blocked-time.js';
import { osPath } from './byte-names.js';
import type { Follower, ReadStart } from './copy-file.js';
import type { JobQueue } from './job-queue.js';
import { WORKER_THREADS } from './worker-threads.js';

/** A first read of a file slower than this (ms) came from the device, not from memory. */
const DEVICE_MS = 0.05;
/** First reads watched to decide (their median): on its own, then again in each probe. */
const WATCH = 16;
/** After this many files read ahead, the next WATCH files are left to the copy alone, to check. */
const PROBE_EVERY = 1024;
/** Files read ahead at once, per worker: one request per thread of the worker's pool. */
const READ_AHEAD_DEPTH = WORKER_THREADS;
/** Files at least this big are followed: read ahead within, FOLLOW_REQUESTS requests at a time. */
const FOLLOW_BYTES = 8 * 1024 * 1024;
const MiB = 1024 * 1024;
/**
 * A copy blocked (asleep in the kernel: neither running nor waiting for a CPU) more than this per MiB
 * (ms) waits for a device. Wall time alone misleads on a busy machine: a copy from memory that
 * loses its CPU for a few ms looks as slow as a disk (seen on tmpfs under load: big files read twice).
 */
const DEVICE_MS_PER_MIB = 4;
const FOLLOW_REQUEST_BYTES = 2 * 1024 * 1024;
const FOLLOW_REQUESTS = 8;
/** At most this far ahead of the copy in one file (the copy takes in completions at least every ~5 ms). */
const FOLLOW_AHEAD = 32 * 1024 * 1024;
/** How far ahead of the copy, in files, at most. */
const MAX_AHEAD = 512;

export class ReadAhead {
  private active = false;
  /** Files whose first chunk was read ahead, so far (shown by PCOPY_DEBUG_TIMING). */
  filesRead = 0;
  /** Index (in the queue's order of jobs ever pushed) of the next job to read ahead. */
  private next = 0;
  private readonly pending = new Set<number>();
  /** Read-aheads that are in, by job: their descriptors are open until the copy takes them. */
  private readonly ready = new Map<number, ReadStart>();
  private readonly buffers: Buffer[] = [];
  private readonly followBuffers: Buffer[] = [];
  private readonly waits: number[] = [];
  private sinceProbe = 0;
  /** Jobs [probeFrom, probeTo) are not read ahead: their copies' first reads tell if the device is still slow. */
  private probeFrom = -1;
  private probeTo = -1;

  /** `wake` is called when the read-ahead the copy waits for is in. */
  constructor(
    private readonly queue: JobQueue,
    private readonly pathOf: (rel: string) => string,
    private readonly openFlags: number,
    private readonly chunkSize: number,
    private readonly wake: () => void,
    /** Test-only: read ahead from the start and never stop (see diagnostics.ts). */
    private readonly forced = false,
  ) {
    this.active = forced;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** True when job `n`'s read-ahead is in: its copy can start without waiting. */
  isReady(n: number): boolean {
    return this.ready.has(n);
  }

  /**
   * The queue gave back its jobs from `end` on (see JobQueue.giveBack): jobs pushed later take those
   * places, so reading ahead goes on from there (it may have passed them: empty files and links are
   * not read, only passed over).
   */
  rewind(end: number): void {
    if (this.next > end) this.next = end;
  }

  /** True while job `n` is read ahead or being read: its descriptor and buffer are held here. */
  holds(n: number): boolean {
    return this.pending.has(n) || this.ready.has(n);
  }

  /** True while job `n` (the next to copy) is being read ahead: the copy should wait for it. */
  isPending(n: number): boolean {
    return this.pending.has(n);
  }

  /** The copy of job `n` (-1: not from the queue) waited `ms` for its first read. */
  observe(n: number, ms: number): void {
    const alone = !this.active || n >= this.next || (n >= this.probeFrom && n < this.probeTo);
    if (!alone) return;
    this.waits.push(ms);
    if (!this.active) {
      // Decided once per WATCH first reads: cheap enough for every file of a warm copy.
      if (this.waits.length < WATCH) return;
      this.active = medianAbove(this.waits, DEVICE_MS);
      this.waits.length = 0;
      this.fill();
    } else if (n === this.probeTo - 1) {
      // The probe is over: the device no longer makes the copy wait (the data is cached after all).
      if (!medianAbove(this.waits, DEVICE_MS) && !this.forced) this.active = false;
      this.waits.length = 0;
    }
  }

  /**
   * A copy read the first chunk of a file in `ms`: the answer to the copy's `onFirstRead`. A big file
   * is followed: once the copy has gone through its first MiB, if that took as long as a device takes
   * (or read-ahead is on anyway), it is read further ahead in big requests (the kernel's own
   * read-ahead asks for too little at a time to keep a disk busy).
   */
  firstRead(n: number, ms: number, fd: number, size: number): Follower | undefined {
    this.observe(n, ms);
    return size >= FOLLOW_BYTES ? this.follow(fd, size) : undefined;
  }

  private follow(fd: number, size: number): Follower {
    let next = 0;
    let copied = 0;
    let inFlight = 0;
    let stopped = false;
    let reading = this.active;
    let decided = reading;
    let start: { position: number; blocked: number } | undefined;
    const more = (): void => {
      // Stopped: the descriptor is closed by the last read to come in (or now, when none is out).
      if (stopped) {
        if (inFlight === 0) closeQuietly(fd);
        return;
      }
      while (reading && inFlight < FOLLOW_REQUESTS && next < size && next - copied < FOLLOW_AHEAD) {
        const at = Math.max(next, copied);
        const length = Math.min(FOLLOW_REQUEST_BYTES, size - at);
        next = at + length;
        inFlight++;
        const buffer = this.followBuffers.pop() ?? Buffer.allocUnsafe(FOLLOW_REQUEST_BYTES);
        // The bytes only warm the page cache, where the copy's own reads find them.
        fs.read(fd, buffer, 0, length, at, () => {
          inFlight--;
          this.followBuffers.push(buffer);
          more();
        });
      }
    };
    return (position) => {
      if (stopped) return;
      if (position < 0) stopped = true;
      else {
        copied = position;
        if (!start) start = { position, blocked: blockedMs() };
        else if (!decided && position - start.position >= MiB) {
          decided = true;
          reading = blockedMs() - start.blocked > (DEVICE_MS_PER_MIB * (position - start.position)) / MiB;
        }
      }
      more();
    };
  }

  /** Starts reading ahead as far as allowed. */
  fill(): void {
    if (!this.active) return;
    const front = this.queue.shifted;
    if (this.next < front) this.next = front;
    while (this.pending.size + this.ready.size < READ_AHEAD_DEPTH && this.next - front < MAX_AHEAD) {
      const job = this.queue.peek(this.next - front);
      if (!job) return;
      const n = this.next++;
      if (++this.sinceProbe >= PROBE_EVERY) {
        this.sinceProbe = 0;
        this.probeFrom = this.next;
        this.probeTo = this.next += WATCH;
        this.waits.length = 0;
      }
      if (job.size > 0 && !job.link) this.read(n, this.pathOf(job.rel), job.size);
    }
  }

  /** The read-ahead of job `n`, if it is in: the copy takes over its descriptor and first chunk. */
  take(n: number): ReadStart | undefined {
    const start = this.ready.get(n);
    this.ready.delete(n);
    return start;
  }

  /** Opens job `n`'s source and reads its first chunk, to hand both over to the copy. */
  private read(n: number, path: string, bytes: number): void {
    // Opened here and now: sizing has just read the inode, so only the data waits for the device,
    // and one thread-pool request per file (the read) costs half of two (cold small tree: 1.81 vs
    // 2.06 s, 3.2 vs 3.6 s of CPU).
    let fd: number;
    try {
      fd = fs.openSync(osPath(path), this.openFlags);
    } catch (err) {
      // Out of descriptors: read-ahead holds some of them, so it stops; the copy opens files itself
      // (and reports any other failure).
      const { code } = err as NodeJS.ErrnoException;
      if (!this.forced && (code === 'EMFILE' || code === 'ENFILE')) this.active = false;
      return;
    }
    this.pending.add(n);
    this.filesRead++;
    const buffer = this.buffers.pop() ?? Buffer.allocUnsafe(this.chunkSize);
    const done = (start?: ReadStart): void => {
      this.pending.delete(n);
      if (start) this.ready.set(n, start);
      else this.buffers.push(buffer);
      if (n === this.queue.shifted) this.wake();
      this.fill();
    };
    fs.read(fd, buffer, 0, Math.min(buffer.length, bytes), null, (e, got) => {
      if (e) {
        fs.close(fd, () => {});
        return done();
      }
      done({ fd, buffer, bytes: got, release: () => this.buffers.push(buffer) });
    });
  }
}

/** A source's descriptor: nothing was written through it, so a failing close loses nothing. */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // EBADF/EIO on a read-only descriptor: nothing to save
  }
}

/** Whether the median of `values` (the upper one of an even count) is above `limit`, without sorting. */
function medianAbove(values: number[], limit: number): boolean {
  let above = 0;
  for (const v of values) if (v > limit) above++;
  return above >= values.length - (values.length >> 1);
}
