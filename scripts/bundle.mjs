/**
 * Bundles the entry points that start processes, after `tsc` has type-checked and compiled src/, so
 * that each process reads one file instead of ~150 modules (commander, fast-glob and its helpers,
 * our own): on a tiny tree start-up is most of the run (the parent's imports took ~85 ms, ~25 ms as
 * one bundle). All are CommonJS, as is bin/pcopy.js (bin/package.json says so): Node starts a
 * CommonJS entry point without its ES module loader, which took ~5 ms of pcopy's start on a tiny
 * tree, and a forked worker that loads an ES module spends ~10 ms more of a core starting up.
 * - dist/start-up.cjs: what bin/pcopy.js loads first (start-up.ts: V8's tier-up, the first worker's
 *   fork, and the loader of the next bundle);
 * - dist/cli.cjs: the CLI, which bin/pcopy.js loads next, from its code cache;
 * - dist/worker-start.cjs: what a worker runs (worker-start.ts), which loads dist/worker.cjs from its
 *   code cache.
 * Whitespace and syntax are minified (names are kept, for stack traces): the CLI's bundle went from
 * 475 to 292 KB, and a run on npm's tree (1,943 files) took 2% less time (16 alternating runs).
 *
 * Then the code caches of cli.cjs and worker.cjs (see code-cache.ts): a small real copy with
 * PCOPY_MAKE_CODE_CACHE=1 writes them, dist/cli.cjs.cache and dist/worker.cjs.cache. They hold V8's
 * code for this Node's V8 only: another Node compiles the bundles as usual.
 *
 * The other files of dist/ stay as tsc wrote them (ES modules): the library (dist/index.js) and its
 * declarations. `import.meta.url` (where a module finds the worker and package.json) becomes the
 * bundle's own file URL.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
};
const withFileUrl = {
  define: { 'import.meta.url': '__pcopyFileUrl' },
  banner: { js: "const __pcopyFileUrl = require('node:url').pathToFileURL(__filename).href;" },
};

await build({ ...common, ...withFileUrl, entryPoints: ['src/start-up.ts'], outfile: 'dist/start-up.cjs' });
await build({ ...common, ...withFileUrl, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.cjs' });
await build({ ...common, ...withFileUrl, entryPoints: ['src/worker-start.ts'], outfile: 'dist/worker-start.cjs' });
await build({ ...common, entryPoints: ['src/worker.ts'], outfile: 'dist/worker.cjs' });

removeCodeCaches();
for (const bundle of ['dist/cli.cjs', 'dist/worker.cjs']) {
  // Loaded from a code cache, a script has no callback for import() (see code-cache.ts).
  if (/\bimport\(/.test(fs.readFileSync(bundle, 'utf8'))) throw new Error(`${bundle}: a dynamic import(), which a bundle loaded from its code cache cannot run`);
}
makeCodeCaches();

/**
 * Copies a small tree with PCOPY_MAKE_CODE_CACHE=1: the parent writes the CLI's cache as it exits,
 * the worker its own. Then copies it again to check that both processes take their caches. Without
 * NODE_OPTIONS or pcopy's own test settings (one of them changes V8's flags during a run): V8 takes a
 * cache only with the flags it was made with. A failure leaves the bundles to compile as usual, and
 * says why.
 */
function makeCodeCaches() {
  let dir;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-code-cache-'));
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, 'a', `f${i}.txt`), 'x'.repeat(i * 100));
    fs.writeFileSync(path.join(src, 'a', 'b', 'big.bin'), Buffer.alloc(200 * 1024, 7));
    fs.symlinkSync('f1.txt', path.join(src, 'a', 'link'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PCOPY_|NODE_OPTIONS$|NODE_V8_COVERAGE$)/.test(k)));
    const copy = (dest, extra) =>
      spawnSync(process.execPath, ['bin/pcopy.js', src, path.join(dir, dest)], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });
    const made = copy('made', { PCOPY_MAKE_CODE_CACHE: '1' });
    if (made.status !== 0) throw new Error(`pcopy exited ${made.status ?? made.signal}: ${made.stderr}`);
    const check = copy('check', { PCOPY_DEBUG_TIMING: '1' });
    const used = check.stderr.split('\n').filter((l) => l.includes('code cache used')).length;
    if (check.status !== 0 || used < 2) throw new Error(`a run with them did not use both: ${check.stderr}`);
  } catch (err) {
    console.warn(`bundle: code caches not made, the bundles will compile as usual (${err.message})`);
    removeCodeCaches();
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes the code caches in dist/, and any temp a cache run left (see code-cache.ts). */
function removeCodeCaches() {
  for (const f of fs.readdirSync('dist').filter((f) => /\.cache(\.\d+\.tmp)?$/.test(f))) fs.rmSync(path.join('dist', f));
}
