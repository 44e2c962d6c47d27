/**
 * The parts of huge files being copied in parts (see split-file.ts): for each part, whether it waits
 * for an idle worker, is at one, or is written; a part whose worker died is written again, once.
 * Pure bookkeeping for the scheduler, which decides when a file is split and what a failure means.
 */
import type { WireStat } from './metadata.js';

const WAITING = -2;
const WRITTEN = -1;

interface Split {
  st: WireStat;
  /** Per part: WAITING, WRITTEN, or the worker it is at. */
  where: number[];
  attempts: number[];
  written: number;
}

/** One part to copy: bytes [offset, offset + length) of job `id`. */
export interface PartTask {
  id: number;
  part: number;
  offset: number;
  length: number;
}

export class SplitBook {
  private readonly splits = new Map<number, Split>();
  /** Parts waiting for an idle worker, in order. */
  private readonly queue: Array<[id: number, part: number]> = [];

  constructor(private readonly partBytes: number) {}

  get count(): number {
    return this.splits.size;
  }

  get waiting(): number {
    return this.queue.length;
  }

  has(id: number): boolean {
    return this.splits.has(id);
  }

  ids(): number[] {
    return [...this.splits.keys()];
  }

  st(id: number): WireStat {
    return this.splits.get(id)!.st;
  }

  /** Splits a file of `st.size` bytes into parts, all waiting. */
  start(id: number, st: WireStat): void {
    const parts = Math.max(1, Math.ceil(st.size / this.partBytes));
    this.splits.set(id, { st, where: new Array<number>(parts).fill(WAITING), attempts: new Array<number>(parts).fill(0), written: 0 });
    for (let part = 0; part < parts; part++) this.queue.push([id, part]);
  }

  /** The next waiting part, now at worker `w`. */
  take(w: number): PartTask | undefined {
    const next = this.queue.shift();
    if (!next) return undefined;
    const [id, part] = next;
    const split = this.splits.get(id)!;
    split.where[part] = w;
    const offset = part * this.partBytes;
    return { id, part, offset, length: Math.min(this.partBytes, split.st.size - offset) };
  }

  /** A part reported written by `w`: `all` when it was the last, `stale` when not expected from `w`. */
  written(id: number, part: number, w: number): 'all' | 'more' | 'stale' {
    const split = this.splits.get(id);
    if (!split || split.where[part] !== w) return 'stale';
    split.where[part] = WRITTEN;
    return ++split.written === split.where.length ? 'all' : 'more';
  }

  /** Forgets a split: its bytes not written, and the workers that still hold parts of it. */
  drop(id: number): { unwritten: number; heldBy: number[] } {
    const split = this.splits.get(id);
    if (!split) return { unwritten: 0, heldBy: [] };
    this.splits.delete(id);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]![0] === id) this.queue.splice(i, 1);
    let unwritten = 0;
    const heldBy: number[] = [];
    split.where.forEach((where, part) => {
      if (where >= 0) heldBy.push(where);
      if (where !== WRITTEN) unwritten += Math.min(this.partBytes, split.st.size - part * this.partBytes);
    });
    return { unwritten, heldBy };
  }

  /**
   * Worker `w` died. Its parts wait again (first in line); a part it had in hand is written again if
   * it was its first try (`retried`), else its file is `lost` (the caller fails and drops it).
   */
  interrupted(w: number, inHand: (id: number, part: number) => boolean): { retried: Array<[id: number, part: number]>; lost: number[] } {
    const retried: Array<[number, number]> = [];
    const lost: number[] = [];
    for (const [id, split] of this.splits) {
      split.where.forEach((where, part) => {
        if (where !== w || lost.includes(id)) return;
        if (inHand(id, part)) {
          if (split.attempts[part]! >= 1) return lost.push(id);
          split.attempts[part]!++;
          retried.push([id, part]);
        }
        split.where[part] = WAITING;
        this.queue.unshift([id, part]);
      });
    }
    return { retried, lost };
  }
}
