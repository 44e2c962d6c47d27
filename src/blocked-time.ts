/**
 * How long a thread has been blocked (asleep in the kernel: neither on a CPU nor waiting for one),
 * the sign that a device makes it wait. Read-ahead (read-ahead.ts, in the workers) and the walk's
 * listings (listing.ts, in the parent) decide by it.
 *
 * Wall time less the process's CPU time (process.cpuUsage) less this thread's time waiting for a CPU
 * (Linux's /proc/thread-self/schedstat, second field): a process preempted by its siblings is not
 * blocked. Not schedstat's first field for CPU time: for a running thread it lags by up to a
 * scheduler tick (4 ms here), so a warm listing of a big directory looked blocked. getrusage is dear
 * in the parent while its workers run (35-200 µs a call): callers read the clock sparingly.
 */
import fs from 'node:fs';
import { now } from './clock.js';

export class ThreadClock {
  private readonly buffer = Buffer.alloc(128);

  private constructor(private fd: number) {}

  /** The clock, or undefined where there is no schedstat (not Linux, no /proc, no descriptor left). */
  static open(): ThreadClock | undefined {
    try {
      return new ThreadClock(fs.openSync('/proc/thread-self/schedstat', 'r'));
    } catch {
      return undefined;
    }
  }

  nowMs(): number {
    return now();
  }

  /** Blocked time so far (ms); only differences mean anything. */
  blockedMs(): number {
    return wallLessCpuMs() - this.queuedMs();
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** This thread's time waiting on a run queue so far (ms); 0 if schedstat cannot be read. */
  private queuedMs(): number {
    try {
      const n = fs.readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      return Number(this.buffer.toString('latin1', 0, n).split(' ', 2)[1]) / 1e6;
    } catch {
      return 0;
    }
  }
}

function wallLessCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return now() - (user + system) / 1000;
}

/** A clock kept open for the process's life (a worker's); undefined until first used, null where there is none. */
let shared: ThreadClock | null | undefined;

/** Blocked time so far (ms) by the shared clock; without schedstat, wall less CPU time. */
export function blockedMs(): number {
  if (shared === undefined) shared = ThreadClock.open() ?? null;
  return shared ? shared.blockedMs() : wallLessCpuMs();
}
