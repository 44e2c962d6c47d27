/**
 * One forked worker's life: fork, typed messages both ways, and its end. It knows nothing of jobs.
 * It tells a crash from an ordinary exit: a worker that exits without having been told to `end` or
 * `abort` died, and `onExit` says how. After `abort` the worker gets a grace period to remove its
 * temp file, then it is killed.
 */
import type { ChildProcess } from 'node:child_process';
import type { ParentMessage, WorkerInit, WorkerReport } from './protocol.js';
import { forkWorker } from './worker-process.js';

/** How long an aborted worker gets to clean up before it is killed. */
const ABORT_GRACE_MS = 3000;

export interface WorkerHandleEvents {
  report(report: WorkerReport): void;
  /** `how` is undefined for an exit after `end` or `abort`, else e.g. `killed by SIGKILL`. */
  exit(how: string | undefined): void;
}

export class WorkerHandle {
  private readonly child: ChildProcess;
  private told = false;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;

  constructor(init: WorkerInit, events: WorkerHandleEvents) {
    this.child = forkWorker();
    this.child.on('message', (m: WorkerReport) => events.report(m));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        events.exit(this.told ? undefined : signal ? `killed by ${signal}` : `exit code ${code}`);
        resolve();
      });
      // A failed send shows up as 'exit' too; a process that could not start (out of descriptors or
      // processes) never exits: it ends here, as a worker that died at once.
      this.child.on('error', (err: NodeJS.ErrnoException) => {
        if (this.child.pid !== undefined) return;
        events.exit(`could not start (${err.code ?? err.message})`);
        resolve();
      });
    });
    this.send(init);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ParentMessage): void {
    if (message.type === 'end' || message.type === 'abort') this.told = true;
    if (message.type === 'abort') {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), ABORT_GRACE_MS);
      void this.exited.then(() => clearTimeout(timer));
    }
    if (this.child.connected) this.child.send(message);
  }
}
