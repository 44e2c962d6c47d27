/**
 * Directory listings for the walk (scan.ts): each entry with its type, its name decoded from bytes
 * (see byte-names.ts), and read at once or on the thread pool as the device answers (`Lister`).
 */
import fs from 'node:fs';
import { ThreadClock } from './blocked-time.js';
import { decode, decodeLatin1, osPath } from './byte-names.js';

/**
 * Reads listings at once (synchronously) while the device answers at once, and on the thread pool
 * once WAITS_TO_GO_ASYNC of the last RECENT listings waited for it (a slow disk, a network file
 * system, a hung mount; this machine's virtio disk answers a cold listing in 1-2 ms, fast enough):
 * - warm, an async readdir's hand-off to the thread pool costs three times the CPU of the listing
 *   itself (the real tree's 3,211 directories: 190 vs 63 ms of CPU), all of it the parent's, which
 *   shares the cores with the workers;
 * - cold, listings in flight together keep the device busy, and the parent free to hand out work.
 * A listing waited when, of its wall time, over WAITED_MS and over half was blocked: neither on a CPU
 * nor waiting for one (see blocked-time.ts; measured only after a listing slower than WAITED_MS). A
 * parent preempted by its workers did not wait; a warm listing of 2,000 entries sleeps ~1.4 of its
 * 4 ms (the main thread joins GC helpers), a cold one most of its time; a pause now and then may
 * still look so, hence several. Callbacks still come on a later turn of the event loop
 * (setImmediate), so the workers' reports are taken in between listings, and fast-glob's queue never
 * recurses. A listing that fails is read again on the thread pool, whose error is the one reported;
 * for want of descriptors (EMFILE, ENFILE) the clock's descriptor is closed first and the rest of the
 * walk goes there too.
 * Measured on the real tree, warm (10 alternating runs): pcopy / one plain process 0.880 vs 0.911
 * with every listing on the thread pool.
 */
export class Lister {
  /** One bit per listing, the latest lowest: whether it waited. */
  private recent = 0;
  private clock: Clock | undefined;
  private async = false;
  /** The last listing took over WAITED_MS of wall time: the next one is measured. */
  private afterSlow = false;

  /** `clock`: the thread's times (tests pass their own); without one, every listing is async. */
  constructor(clock: Clock | undefined = ThreadClock.open()) {
    this.clock = clock;
    if (!clock) this.async = true;
  }

  /** Whether listings still go synchronously (for tests). */
  get synchronous(): boolean {
    return !this.async;
  }

  list(dir: string, done: (err: NodeJS.ErrnoException | null, entries: fs.Dirent[]) => void): void {
    const { clock } = this;
    if (this.async || !clock) return readDirents(dir, done);
    // The blocked time (a read of /proc and getrusage) is taken only around a listing that follows a
    // slow one: on a warm tree a few in a run, on a cold one most.
    const measured = this.afterSlow;
    const started = clock.nowMs();
    const before = measured ? clock.blockedMs() : 0;
    let entries: fs.Dirent[];
    try {
      entries = readDirentsSync(dir);
    } catch (err) {
      // Read again on the thread pool, whose error is the one reported. Out of descriptors (the
      // clock holds one), the rest of the walk goes there too.
      const { code } = err as NodeJS.ErrnoException;
      if (code === 'EMFILE' || code === 'ENFILE') this.goAsync();
      return readDirents(dir, done);
    }
    const blocked = measured ? clock.blockedMs() - before : 0;
    const wall = clock.nowMs() - started;
    // Most of it asleep: a big warm directory sleeps too, ~30% of its listing (GC helpers joined).
    const waited = blocked > WAITED_MS && blocked * 2 > wall;
    this.afterSlow = wall > WAITED_MS;
    this.recent = ((this.recent << 1) | Number(waited)) & RECENT_MASK;
    if (waited && bitCount(this.recent) >= WAITS_TO_GO_ASYNC) this.goAsync();
    setImmediate(done, null, entries);
  }

  /** The walk is over: the clock's descriptor goes. */
  close(): void {
    this.clock?.close();
    this.clock = undefined;
  }

  private goAsync(): void {
    this.async = true;
    this.close();
  }
}

const WAITED_MS = 2;
const WAITS_TO_GO_ASYNC = 3;
const RECENT = 16;
const RECENT_MASK = (1 << RECENT) - 1;

function bitCount(bits: number): number {
  let n = 0;
  for (let b = bits; b !== 0; b &= b - 1) n++;
  return n;
}

/** Where a listing's waiting is measured: blocked time in ms (only differences mean anything). */
export interface Clock {
  nowMs(): number;
  blockedMs(): number;
  close(): void;
}

/**
 * A directory's entries with their types, names decoded (see byte-names.ts). They are read as latin1
 * strings (one character per byte: cheaper than a Buffer per name). Where the file system gives no
 * type (ext4 without `filetype`, XFS with ftype=0, some network file systems), Node lstats each
 * entry by a path it rebuilds from that string, as UTF-8: for a name that is not ASCII that is
 * another name, and the whole listing fails. So a listing that fails is read again with Buffer names,
 * which Node joins byte for byte; an error then is the directory's own.
 */
export function readDirents(dir: string, done: (err: NodeJS.ErrnoException | null, entries: fs.Dirent[]) => void): void {
  fs.readdir(osPath(dir), LATIN1_DIRENTS, (err, entries) => {
    if (!err) return done(null, decodeNames(entries));
    fs.readdir(osPath(dir), BYTE_DIRENTS, (again, raw) => done(again, again ? [] : decodeByteNames(raw)));
  });
}

export function readDirentsSync(dir: string): fs.Dirent[] {
  try {
    return decodeNames(fs.readdirSync(osPath(dir), LATIN1_DIRENTS));
  } catch {
    return decodeByteNames(fs.readdirSync(osPath(dir), BYTE_DIRENTS));
  }
}

const LATIN1_DIRENTS = { withFileTypes: true, encoding: 'latin1' } as const;
const BYTE_DIRENTS = { withFileTypes: true, encoding: 'buffer' } as const;

/** Dirents read in latin1 mode, with their names decoded (the same objects: their types stay). */
function decodeNames(entries: fs.Dirent[]): fs.Dirent[] {
  for (const d of entries) d.name = decodeLatin1(d.name);
  return entries;
}

/** Dirents read with Buffer names, with their names decoded. */
function decodeByteNames(entries: fs.Dirent<Buffer>[] | fs.Dirent[]): fs.Dirent[] {
  for (const d of entries as unknown as Array<{ name: Buffer | string }>) d.name = decode(d.name as Buffer);
  return entries as fs.Dirent[];
}
