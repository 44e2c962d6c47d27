/**
 * Loads a bundle (dist/cli.cjs, dist/worker.cjs) with the V8 code cache the build made for it, so
 * a process starts without parsing and compiling the functions a copy runs: the CLI's ~290 KB and a
 * worker's ~30 KB, in every pcopy process. On trees of 1,400-2,000 files, where start-up is a large
 * part of the run, pcopy / plain node went from 1.10 to 1.02 (python3.11) and 1.20 to 1.14 (npm's
 * tree); warm tmpfs, 12-16 alternating runs.
 *
 * The cache is made once, by the build (scripts/bundle.mjs): it runs a small real copy with
 * PCOPY_MAKE_CODE_CACHE=1, and each process writes its bundle's cache as it exits, with every
 * function the copy compiled. A run never writes one, so an install that cannot be written to loses
 * nothing. V8 takes a cache only from its own version and with the same flags (it says so in
 * `cachedDataRejected`), so the flags a process sets at run time (tier-up.ts) are set before its
 * bundle loads, as when the cache was made. V8 checks a cache's source only by its length: the
 * cache's name holds a hash of the bundle (the build's `//# pcopy-build` line, its last), so a
 * bundle built again never meets an older cache. Without a cache, or with one V8 refuses, the
 * bundle is compiled as Node would.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/** How the last bundle loaded: 'used' its cache, 'rejected' by V8, or 'none' found (PCOPY_DEBUG_TIMING shows it). */
export type CodeCacheUse = 'used' | 'rejected' | 'none';

/** Process-wide: the loader is bundled apart from the diagnostics that report it. */
const USE = Symbol.for('pcopy.codeCacheUse');
type Slot = { [USE]?: CodeCacheUse };

/** The last line of a built bundle: its hash, which names its cache. */
const BUILD_LINE = /\/\/# pcopy-build=([0-9a-f]+)\s*$/;

/** Where the cache of `file` is, or undefined if it was not built (no `//# pcopy-build` line). */
export function codeCachePath(file: string, source: string): string | undefined {
  const hash = BUILD_LINE.exec(source.slice(-100))?.[1];
  return hash ? `${file}.${hash}.cache` : undefined;
}

/** Runs the CommonJS bundle `file` and returns its exports, compiled from its code cache where V8 takes it. */
export function loadBundle(file: string): unknown {
  const source = fs.readFileSync(file, 'utf8');
  const cachePath = codeCachePath(file, source);
  let cachedData: Buffer | undefined;
  try {
    if (cachePath) cachedData = fs.readFileSync(cachePath);
  } catch {
    // not built, or not readable: compiled as usual
  }
  // Node's own wrapper, so the bundle runs as if `require`d (and its stack traces name its file).
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, { filename: file, cachedData });
  (globalThis as Slot)[USE] = !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  if (process.env.PCOPY_MAKE_CODE_CACHE === '1' && cachePath) writeCacheAtExit(script, cachePath);
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string) => void;
  run(module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

/** How this process's bundle was loaded, if through `loadBundle`. */
export function codeCacheUse(): CodeCacheUse | undefined {
  return (globalThis as Slot)[USE];
}

/**
 * The build's cache run: as the process exits, with everything the copy compiled, under a temp name
 * renamed into place (two workers of the run may write the same cache).
 */
function writeCacheAtExit(script: vm.Script, cachePath: string): void {
  process.once('exit', () => {
    const temp = `${cachePath}.${process.pid}.tmp`;
    fs.writeFileSync(temp, script.createCachedData(), { mode: 0o644 });
    fs.renameSync(temp, cachePath);
  });
}
