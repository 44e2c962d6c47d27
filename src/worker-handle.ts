/**
 * One forked worker's life: fork, typed messages both ways, and its end. It knows nothing of jobs.
 * It tells a crash from an ordinary exit: a worker that exits without having been told to `end` or
 * `abort` died, and `onExit` says how. After `abort` the worker gets a grace period to remove its
 * temp file, then it is killed.
 */
import type { ChildProcess } from 'node:child_process';
import { testWorkerStartMs } from './diagnostics.js';
import { toWire, type ParentMessage, type WorkerInit, type WorkerReport } from './protocol.js';
import { forkWorker } from './worker-process.js';

/** How long an aborted worker gets to clean up before it is killed. */
const ABORT_GRACE_MS = 3000;
/**
 * How long a worker may take to start (to its first report) before it is killed: Node starts in
 * ~20 ms here, ~0.1-0.3 s from a cold disk. Out of processes or threads, a child can stay stuck in
 * Node's own start-up forever, and the run with it.
 */
const START_MS = testWorkerStartMs() ?? 30_000;

export interface WorkerHandleEvents {
  report(report: WorkerReport): void;
  /** `how` is undefined for an exit after `end` or `abort`, else e.g. `killed by SIGKILL`. */
  exit(how: string | undefined): void;
}

export class WorkerHandle {
  /** Undefined when fork itself threw. */
  private readonly child: ChildProcess | undefined;
  private told = false;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;

  constructor(init: WorkerInit, events: WorkerHandleEvents) {
    const cannotStart = (err: NodeJS.ErrnoException): void => events.exit(`could not start (${err.code ?? err.message})`);
    try {
      this.child = forkWorker();
    } catch (err) {
      // Node reports most spawn failures as 'error' (below), but fork may also throw: the same end,
      // after the caller has recorded this worker.
      this.child = undefined;
      this.exited = new Promise((resolve) =>
        setImmediate(() => {
          cannotStart(err as NodeJS.ErrnoException);
          resolve();
        }),
      );
      return;
    }
    const child = this.child;
    // Killed for not starting in time (the timer stops at the first report).
    let stuck = false;
    const startTimer = setTimeout(() => {
      stuck = true;
      child.kill('SIGKILL');
    }, START_MS);
    startTimer.unref();
    child.on('message', (m: WorkerReport) => {
      clearTimeout(startTimer);
      events.report(m);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        clearTimeout(startTimer);
        const how = stuck ? `did not start within ${START_MS / 1000} s` : signal ? `killed by ${signal}` : `exit code ${code}`;
        events.exit(this.told ? undefined : how);
        resolve();
      });
      // A failed send shows up as 'exit' too; a process that could not start (out of descriptors or
      // processes) never exits: it ends here, as a worker that died at once.
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return;
        cannotStart(err);
        resolve();
      });
    });
    this.send(init);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  send(message: ParentMessage): void {
    if (message.type === 'end' || message.type === 'abort') this.told = true;
    const { child } = this;
    if (!child) return;
    if (message.type === 'abort') {
      const timer = setTimeout(() => child.kill('SIGKILL'), ABORT_GRACE_MS);
      void this.exited.then(() => clearTimeout(timer));
    }
    if (child.connected) child.send(toWire(message));
  }
}
