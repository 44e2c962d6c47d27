/**
 * V8 code caches (src/code-cache.ts): the build makes one for the CLI's bundle and one for the
 * worker's, with the code of what a copy runs, and every pcopy process compiles its bundle from it;
 * `loadBundle` itself, on small bundles of a test's own, in Nodes of their own (its use is
 * process-wide, and a cache is written as a process exits). Needs dist (`npm run build`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BUILD_LINE, codeCachePath } from '../../src/code-cache.js';
import { clip, workerLines } from '../helpers/output.js';
import { ROOT, runCommand } from '../helpers/run.js';
import { diffTrees, runPcopy, snapshot, srcDestPerTest, writeFile } from '../helpers/tree.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-code-cache-', (dirs) => ({ work, src, dest } = dirs));

/** V8 takes a cache only with the flags it was made with: none inherited from the test runner. */
function plainEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _options, NODE_V8_COVERAGE: _coverage, ...env } = process.env;
  return env;
}

/** The build's hash of a bundle's contents (scripts/bundle.mjs). */
const hashOf = (source: Uint8Array | string): string => createHash('sha256').update(source).digest('hex').slice(0, 16);

/** `source` with the build's last line. */
const built = (source: string): string => `${source}${BUILD_LINE}${hashOf(source)}\n`;

describe('code caches of the built bundles', () => {
  it('the build made one for the CLI and one for the worker, with more than their compiling alone gives', () => {
    for (const bundle of ['cli.cjs', 'worker.cjs']) {
      const file = path.join(ROOT, 'dist', bundle);
      const bytes = fs.readFileSync(file);
      const cache = codeCachePath(file, bytes);
      // The build refuses a dynamic import(), which a script loaded from a cache cannot run.
      expect(bytes.toString('utf8'), bundle).not.toMatch(/\bimport\(/);
      expect(cache, bundle).toBe(`${file}.${hashOf(bytes.subarray(0, bytes.lastIndexOf(BUILD_LINE)))}.cache`);
      // Made after its bundle: not older, so taken.
      expect(fs.statSync(cache!).mtimeMs, bundle).toBeGreaterThanOrEqual(fs.statSync(file).mtimeMs);
      // Made as a copy's processes exited, it holds the functions they ran, not just the top level.
      const compiledOnly = new vm.Script(bytes.toString('utf8'), { filename: file }).createCachedData().length;
      expect(fs.statSync(cache!).size, bundle).toBeGreaterThan(1.5 * compiledOnly);
    }
  });

  it('a run compiles the parent and every worker from them', async () => {
    for (let i = 0; i < 40; i++) writeFile(path.join(src, `d${i % 4}`, `f${i}`), 1000 + i);
    const r = await runPcopy([src, dest], { env: plainEnv(), extraEnv: { PCOPY_DEBUG_TIMING: '1' } });
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(r.stderr).toMatch(/^pcopy timing .*, code cache used$/m);
    const workers = workerLines(r.stderr);
    expect(workers.length).toBeGreaterThan(0);
    for (const line of workers) expect(line).toContain(', code cache used, ');
  });
});

describe('loadBundle', () => {
  /** A bundle that shows what it was run with: CommonJS's five names, `this`, a throw on line 1. */
  const BUNDLE = `function boom() { throw new Error('boom'); } 'use strict';
const path = require('node:path');
function answer(n) { return n * 2; }
module.exports = { answer: answer(21), file: __filename, dir: __dirname, sep: path.sep, same: exports === module.exports, self: this === module.exports, boom };
`;

  interface Loaded {
    use: string;
    exports: Record<string, unknown>;
    /** Where `boom` threw: file:line:column of the top frame. */
    thrownAt: string;
  }

  /** Loads `file` in a Node of its own (with `loadBundle`, or with `require` to compare): its exports, how it was compiled, where it throws. */
  async function load(file: string, { make = false, with: how = 'loadBundle' }: { make?: boolean; with?: 'loadBundle' | 'require' } = {}): Promise<Loaded> {
    const script = `const { loadBundle } = require(${JSON.stringify(path.join(ROOT, 'dist', 'start-up.cjs'))});
const exports = ${how === 'require' ? 'require' : 'loadBundle'}(process.argv[1]);
let thrownAt = '';
try { exports.boom(); } catch (err) { thrownAt = /\\((.*)\\)/.exec(err.stack.split('\\n')[1])[1]; }
console.log(JSON.stringify({ use: globalThis[Symbol.for('pcopy.codeCacheUse')] ?? 'none', exports, thrownAt }));`;
    const r = await runCommand(process.execPath, ['-e', script, file], { env: plainEnv(), extraEnv: make ? { PCOPY_MAKE_CODE_CACHE: '1' } : {} });
    expect(r.code, clip(r.stderr)).toBe(0);
    return JSON.parse(r.stdout) as Loaded;
  }

  const expected = (file: string): Record<string, unknown> => ({ answer: 42, file, dir: path.dirname(file), sep: '/', same: true, self: true });

  it('runs a bundle as require does: its five names, this, stack traces at its own line and column', async () => {
    const file = path.join(work, 'bundle.cjs');
    fs.writeFileSync(file, built(BUNDLE));
    const required = await load(file, { with: 'require' });
    const loaded = await load(file);
    expect(loaded.exports).toEqual(expected(file));
    expect(required.exports).toEqual(expected(file));
    expect(required.thrownAt).toBe(`${file}:1:25`);
    expect(loaded.thrownAt).toBe(required.thrownAt);
  });

  it('compiles a bundle without a build line as Node would, and makes no cache for it', async () => {
    const file = path.join(work, 'plain.cjs');
    fs.writeFileSync(file, BUNDLE);
    expect(codeCachePath(file, Buffer.from(BUNDLE))).toBeUndefined();
    const loaded = await load(file, { make: true });
    expect(loaded.use).toBe('none');
    expect(loaded.exports).toEqual(expected(file));
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.cache'))).toEqual([]);
  });

  it('a cache made as a process exits is taken by the next; one V8 refuses, or of another build, is not', async () => {
    const file = path.join(work, 'bundle.cjs');
    fs.writeFileSync(file, built(BUNDLE));
    const cache = codeCachePath(file, fs.readFileSync(file))!;
    expect(cache).toMatch(/bundle\.cjs\.[0-9a-f]{16}\.cache$/);

    expect((await load(file, { make: true })).use).toBe('none');
    expect(fs.statSync(cache).size).toBeGreaterThan(0);
    // Written under a temp name and renamed: nothing else is left.
    expect(fs.readdirSync(work).sort()).toEqual(['bundle.cjs', path.basename(cache), 'src']);
    const used = await load(file);
    expect(used.use).toBe('used');
    expect(used.exports).toEqual(expected(file));

    // Damaged: V8 says so, and the bundle is compiled from its source.
    const made = fs.readFileSync(cache);
    fs.writeFileSync(cache, Buffer.concat([made.subarray(0, 16), Buffer.alloc(made.length - 16, 0x5a)]));
    expect(await load(file)).toMatchObject({ use: 'rejected', exports: expected(file) });
    fs.writeFileSync(cache, made);

    // Edited to the same length, build line kept: V8 would take the cache (it checks only the
    // length) and run the old code; the bundle is now newer than its cache, which is not read.
    // (The cache is set a second back first: a file's time may not move within a clock tick.)
    const edited = fs.readFileSync(file, 'utf8').replace('n * 2', 'n + 9');
    expect(edited.length).toBe(fs.statSync(file).size);
    const { atime, mtime } = fs.statSync(cache);
    fs.utimesSync(cache, atime, new Date(mtime.getTime() - 1000));
    fs.writeFileSync(file, edited);
    expect(await load(file)).toMatchObject({ use: 'none', exports: { ...expected(file), answer: 30 } });
    // Both of one time, as npm installs a package: taken.
    fs.utimesSync(cache, atime, fs.statSync(file).mtime);
    fs.writeFileSync(file, built(BUNDLE));
    fs.utimesSync(file, atime, fs.statSync(cache).mtime);
    expect(await load(file)).toMatchObject({ use: 'used', exports: expected(file) });

    // Built again: another hash, another cache name.
    fs.writeFileSync(file, built(BUNDLE.replace('n * 2', 'n + 9')));
    expect(codeCachePath(file, fs.readFileSync(file))).not.toBe(cache);
    expect(await load(file)).toMatchObject({ use: 'none', exports: { ...expected(file), answer: 30 } });
  });
});
