/**
 * Loads a bundle (dist/cli.cjs, dist/worker.cjs) with the V8 code cache the build made for it, so
 * a process starts without parsing and compiling the functions a copy runs: the CLI's ~290 KB and a
 * worker's ~30 KB, in every pcopy process. On trees of 1,200-2,000 files, where start-up is a large
 * part of the run, pcopy / plain node went from 1.09 to 1.01 (python3.11), 1.20 to 1.12
 * (/usr/share/perl) and 1.20 to 1.15 (npm's tree); warm tmpfs, 14 alternating runs against the build
 * before.
 *
 * The cache is made once, by the build (scripts/bundle.mjs): it runs a small real copy with
 * PCOPY_MAKE_CODE_CACHE=1, and each process writes its bundle's cache as it exits, with every
 * function the copy compiled. A run never writes one, so an install that cannot be written to loses
 * nothing. V8 takes a cache only from its own version and with the same flags (it says so in
 * `cachedDataRejected`), so a process sets its own (tier-up.ts) once its bundle has loaded, and the
 * cache run puts Node's back before it writes a cache: bundles and Node's own modules, which come
 * with caches of their own, all load under Node's flags. V8 checks a cache's source only by its
 * length, so a cache holds a copy of the bundle it was made from, and the loader takes it only if the bundle is
 * still exactly that (a compare of ~290 KB in memory): an edited or rebuilt bundle, even one of the
 * same length, never runs old code from a cache. (Neither hashing, whose module alone takes ~2 ms to
 * load, nor file times, which npm sets anew on install, would do.) Without a cache, or with one V8
 * refuses, the bundle is compiled as Node would. A bundle so loaded cannot use a dynamic `import()`:
 * Node 20 loses a script's import callback when it comes from a cache (nodejs/node#43663 and its
 * kin), so the build refuses a bundle that has one.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { tierUpAsNode, tierUpLater } from './tier-up.js';

/** How the last bundle loaded: 'used' its cache, 'rejected' by V8, or 'none' to be had (PCOPY_DEBUG_TIMING shows it). */
export type CodeCacheUse = 'used' | 'rejected' | 'none';

/** Process-wide: the loader is bundled apart from the diagnostics that report it. */
const USE = Symbol.for('pcopy.codeCacheUse');
type Slot = { [USE]?: CodeCacheUse };

/** A cache file: MAGIC, the length of the bundle it was made from, that bundle, then V8's data. */
const MAGIC = Buffer.from('pcopy-code-cache-1\n');
const HEADER = MAGIC.length + 4;

/** Where the build puts the cache of `file`. */
export function codeCachePath(file: string): string {
  return `${file}.cache`;
}

/** V8's data in `cache`, if it was made from exactly `bundle`. */
function cachedDataFor(cache: Buffer, bundle: Buffer): Buffer | undefined {
  if (cache.length < HEADER || !cache.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const length = cache.readUInt32LE(MAGIC.length);
  const end = HEADER + length;
  return length === bundle.length && end < cache.length && cache.subarray(HEADER, end).equals(bundle) ? cache.subarray(end) : undefined;
}

/**
 * Runs the CommonJS bundle `file` as Node's own loader would (the five names of a module, `this` its
 * exports, stack traces at its own lines and columns) and returns its exports, compiled from its
 * code cache where V8 takes it.
 */
export function loadBundle(file: string): unknown {
  const bytes = fs.readFileSync(file);
  const cachePath = codeCachePath(file);
  let cachedData: Buffer | undefined;
  try {
    cachedData = cachedDataFor(fs.readFileSync(cachePath), bytes);
  } catch {
    // not built, or not readable: compiled as usual
  }
  // The wrapper has a line of its own, which lineOffset takes back.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${bytes.toString('utf8')}\n})`, {
    filename: file,
    lineOffset: -1,
    cachedData,
  });
  (globalThis as Slot)[USE] = script.cachedDataRejected === false ? 'used' : cachedData ? 'rejected' : 'none';
  if (process.env.PCOPY_MAKE_CODE_CACHE === '1') writeCacheAtExit(script, bytes, cachePath);
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (this: unknown, e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

/**
 * Loads the bundle a pcopy process runs (the CLI's, a worker's), then sets the process's own V8
 * flags (`tierUpLater`): after, never before, as its cache and Node's own modules' caches were made
 * under Node's flags (see above).
 */
export function loadProcessBundle(file: string): unknown {
  const exports = loadBundle(file);
  tierUpLater();
  return exports;
}

/** How this process's bundle was loaded, if through `loadBundle`. */
export function codeCacheUse(): CodeCacheUse | undefined {
  return (globalThis as Slot)[USE];
}

/**
 * The build's cache run: as the process exits, with everything the copy compiled, under a temp name
 * renamed into place (two workers of the run may write the same cache). A cache that cannot be
 * written is not made: the build says so.
 */
function writeCacheAtExit(script: vm.Script, bundle: Buffer, cachePath: string): void {
  process.once('exit', () => {
    const temp = `${cachePath}.${process.pid}.tmp`;
    try {
      tierUpAsNode(); // the flags a process loads its bundle with
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bundle.length);
      fs.writeFileSync(temp, Buffer.concat([MAGIC, length, bundle, script.createCachedData()]), { mode: 0o644 });
      fs.renameSync(temp, cachePath);
    } catch {
      fs.rmSync(temp, { force: true });
    }
  });
}
