/**
 * A worker's next report, filled as it works and sent in batches: at most one report per ~100 ms,
 * plus one when the worker runs dry, and whenever the worker forces one (a sized batch, a job that
 * stays in hand past a slice). Never one IPC message per file.
 */
import { now } from './clock.js';
import type { TaskResult, WorkerReport } from './protocol.js';

const FLUSH_MS = 100;
const MAX_RESULTS_PER_REPORT = 4000;

export class ReportBatch {
  sizes: number[] = [];
  away: number[] = [];
  links: Array<[number, string]> = [];
  bytes = 0;
  grown: Array<[id: number, bytes: number]> = [];
  results: Array<number | TaskResult> = [];
  /** Set once the worker answered a `release`. */
  released: number[] | undefined;
  private lastFlush = now();
  private idleReported = false;

  /** New work came: the next time the worker runs dry is worth a report. */
  busy(): void {
    this.idleReported = false;
  }

  /** Bytes read past a size of 0 by job `id` (they add to its size). */
  grow(id: number, n: number): void {
    const last = this.grown[this.grown.length - 1];
    if (last?.[0] === id) last[1] += n;
    else this.grown.push([id, n]);
  }

  /** The report to send now, if one is due (always when `force`); the batch starts again empty. */
  take(force: boolean, idle: boolean, inHand: WorkerReport['inHand']): WorkerReport | undefined {
    const t = now();
    const dry = idle && !this.idleReported;
    const due = force || dry || t - this.lastFlush >= FLUSH_MS || this.results.length >= MAX_RESULTS_PER_REPORT;
    if (!due || (!force && !dry && this.results.length === 0 && this.bytes === 0 && this.grown.length === 0)) return undefined;
    const { sizes, away, links, bytes, grown, results, released } = this;
    if (idle) this.idleReported = true;
    this.sizes = [];
    this.away = [];
    this.links = [];
    this.bytes = 0;
    this.grown = [];
    this.results = [];
    this.released = undefined;
    this.lastFlush = t;
    return { type: 'report', sizes, away, links, bytes, ...(grown.length > 0 && { grown }), results, ...(released && { released }), inHand };
  }
}
