/**
 * V8 code caches (src/code-cache.ts): the build makes one for the CLI's bundle and one for the
 * worker's, and every pcopy process compiles its bundle from it; `loadBundle` itself, on a small
 * bundle of a test's own, in Nodes of their own (its use is process-wide, and a cache is written as
 * a process exits). Needs dist (`npm run build`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeCachePath } from '../../src/code-cache.js';
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

describe('code caches of the built bundles', () => {
  it('the build made one for the CLI and one for the worker, named by their bundles', () => {
    for (const bundle of ['cli.cjs', 'worker.cjs']) {
      const file = path.join(ROOT, 'dist', bundle);
      const cache = codeCachePath(file, fs.readFileSync(file, 'utf8'));
      expect(cache, bundle).toBeDefined();
      expect(fs.statSync(cache!).size, bundle).toBeGreaterThan(10_000);
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
  /** A bundle that shows what it was run with: CommonJS's five names. */
  const BUNDLE = `'use strict';
const path = require('node:path');
function answer(n) { return n * 2; }
module.exports = { answer: answer(21), file: __filename, dir: __dirname, sep: path.sep, same: exports === module.exports };
`;

  /** Loads `file` in a Node of its own: its exports, and how it was compiled. */
  async function load(file: string, make = false): Promise<{ use: string; exports: Record<string, unknown> }> {
    const script = `const { loadBundle } = require(${JSON.stringify(path.join(ROOT, 'dist', 'start-up.cjs'))});
const exports = loadBundle(process.argv[1]);
console.log(JSON.stringify({ use: globalThis[Symbol.for('pcopy.codeCacheUse')], exports }));`;
    const r = await runCommand(process.execPath, ['-e', script, file], { env: plainEnv(), extraEnv: make ? { PCOPY_MAKE_CODE_CACHE: '1' } : {} });
    expect(r.code, clip(r.stderr)).toBe(0);
    return JSON.parse(r.stdout) as { use: string; exports: Record<string, unknown> };
  }

  const expected = (file: string): Record<string, unknown> => ({ answer: 42, file, dir: path.dirname(file), sep: '/', same: true });

  it('compiles a bundle without a build line as Node would, and makes no cache for it', async () => {
    const file = path.join(work, 'plain.cjs');
    fs.writeFileSync(file, BUNDLE);
    expect(codeCachePath(file, BUNDLE)).toBeUndefined();
    expect(await load(file, true)).toEqual({ use: 'none', exports: expected(file) });
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.cache'))).toEqual([]);
  });

  it('a cache made as a process exits is taken by the next; one V8 refuses, or of another build, is not', async () => {
    const file = path.join(work, 'bundle.cjs');
    fs.writeFileSync(file, `${BUNDLE}//# pcopy-build=0123abcd\n`);
    const cache = path.join(work, 'bundle.cjs.0123abcd.cache');
    expect(codeCachePath(file, fs.readFileSync(file, 'utf8'))).toBe(cache);

    expect(await load(file, true)).toEqual({ use: 'none', exports: expected(file) });
    expect(fs.statSync(cache).size).toBeGreaterThan(0);
    // Written under a temp name and renamed: nothing else is left.
    expect(fs.readdirSync(work).sort()).toEqual(['bundle.cjs', 'bundle.cjs.0123abcd.cache', 'src']);
    expect(await load(file)).toEqual({ use: 'used', exports: expected(file) });

    // Damaged: V8 says so, and the bundle is compiled from its source.
    const made = fs.readFileSync(cache);
    fs.writeFileSync(cache, Buffer.concat([made.subarray(0, 16), Buffer.alloc(made.length - 16, 0x5a)]));
    expect(await load(file)).toEqual({ use: 'rejected', exports: expected(file) });

    // Built again (another hash): the old cache is not even read, whatever V8 would say of it.
    fs.writeFileSync(cache, made);
    fs.writeFileSync(file, `${BUNDLE.replace('n * 2', 'n + 21')}//# pcopy-build=4567ef01\n`);
    expect(await load(file)).toEqual({ use: 'none', exports: expected(file) });
  });
});
