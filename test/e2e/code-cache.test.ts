/**
 * V8 code caches (src/code-cache.ts): the build makes one for the CLI's bundle and one for the
 * worker's, with the code of what a copy runs, and every pcopy process compiles its bundle from it;
 * `loadBundle` itself, on small bundles of a test's own, in Nodes of their own (its use is
 * process-wide, and a cache is written as a process exits). Needs dist (`npm run build`).
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { codeCachePath } from '../../src/code-cache.js';
import { tiersUpLater } from '../../src/tier-up.js';
import { clip, workerLines } from '../helpers/output.js';
import { envWithoutV8Settings, ROOT, runCommand } from '../helpers/run.js';
import { diffTrees, runPcopy, snapshot, srcDestPerTest, writeFile } from '../helpers/tree.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-code-cache-', (dirs) => ({ work, src, dest } = dirs));

describe('code caches of the built bundles', () => {
  it('the build made one for the CLI and one for the worker, with more than their compiling alone gives', () => {
    for (const bundle of ['cli.cjs', 'worker.cjs']) {
      const file = path.join(ROOT, 'dist', bundle);
      const bytes = fs.readFileSync(file);
      const cache = codeCachePath(file);
      // The build refuses a dynamic import(), which a script loaded from a cache cannot run.
      expect(bytes.toString('utf8'), bundle).not.toMatch(/\bimport\(/);
      // It holds the bundle it was made from, exactly.
      expect(fs.readFileSync(cache).includes(bytes), bundle).toBe(true);
      // Made as a copy's processes exited, it holds the functions they ran, not just the top level.
      const compiledOnly = new vm.Script(bytes.toString('utf8'), { filename: file }).createCachedData().length;
      expect(fs.statSync(cache).size - bytes.length, bundle).toBeGreaterThan(1.5 * compiledOnly);
    }
  });

  it("were made under Node's own V8 flags: a process loads its bundle before it sets pcopy's (tier-up.ts)", async () => {
    // So Node's modules that a bundle requires load from Node's caches too, which V8 takes only
    // under the flags they were made with.
    for (const bundle of ['cli.cjs', 'worker.cjs']) {
      const script = `const { loadBundle } = require(${JSON.stringify(path.join(ROOT, 'dist', 'start-up.cjs'))});
loadBundle(${JSON.stringify(path.join(ROOT, 'dist', bundle))});
console.log(globalThis[Symbol.for('pcopy.codeCacheUse')]);`;
      const r = await runCommand(process.execPath, ['-e', script], { env: envWithoutV8Settings() });
      expect(r.code, clip(r.stderr)).toBe(0);
      expect(r.stdout.trim(), bundle).toBe('used');
    }
  });

  it('a run compiles the parent and every worker from them', async () => {
    for (let i = 0; i < 40; i++) writeFile(path.join(src, `d${i % 4}`, `f${i}`), 1000 + i);
    const r = await runPcopy([src, dest], { env: envWithoutV8Settings(), extraEnv: { PCOPY_DEBUG_TIMING: '1' } });
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
    const r = await runCommand(process.execPath, ['-e', script, file], { env: envWithoutV8Settings(), extraEnv: make ? { PCOPY_MAKE_CODE_CACHE: '1' } : {} });
    expect(r.code, clip(r.stderr)).toBe(0);
    return JSON.parse(r.stdout) as Loaded;
  }

  const expected = (file: string): Record<string, unknown> => ({ answer: 42, file, dir: path.dirname(file), sep: '/', same: true, self: true });

  it('runs a bundle as require does: its five names, this, stack traces at its own line and column', async () => {
    const file = path.join(work, 'bundle.cjs');
    fs.writeFileSync(file, BUNDLE);
    const required = await load(file, { with: 'require' });
    const loaded = await load(file);
    expect(loaded.exports).toEqual(expected(file));
    expect(required.exports).toEqual(expected(file));
    expect(required.thrownAt).toBe(`${file}:1:25`);
    expect(loaded.thrownAt).toBe(required.thrownAt);
  });

  it('compiles a bundle without a cache as Node would', async () => {
    const file = path.join(work, 'plain.cjs');
    fs.writeFileSync(file, BUNDLE);
    const loaded = await load(file);
    expect(loaded.use).toBe('none');
    expect(loaded.exports).toEqual(expected(file));
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.cache'))).toEqual([]);
  });

  it('a cache made as a process exits is taken by the next; one V8 refuses, or made from another bundle, is not', async () => {
    const file = path.join(work, 'bundle.cjs');
    fs.writeFileSync(file, BUNDLE);
    const cache = codeCachePath(file);

    expect((await load(file, { make: true })).use).toBe('none');
    expect(fs.statSync(cache).size).toBeGreaterThan(BUNDLE.length);
    // Written under a temp name and renamed: nothing else is left.
    expect(fs.readdirSync(work).sort()).toEqual(['bundle.cjs', 'bundle.cjs.cache', 'src']);
    const used = await load(file);
    expect(used.use).toBe('used');
    expect(used.exports).toEqual(expected(file));

    // Damaged in V8's part: V8 says so, and the bundle is compiled from its source.
    const made = fs.readFileSync(cache);
    const v8Part = made.length - made.lastIndexOf(Buffer.from(BUNDLE)) - BUNDLE.length;
    fs.writeFileSync(cache, Buffer.concat([made.subarray(0, made.length - v8Part + 16), Buffer.alloc(v8Part - 16, 0x5a)]));
    expect(await load(file)).toMatchObject({ use: 'rejected', exports: expected(file) });
    fs.writeFileSync(cache, made);
    expect((await load(file)).use).toBe('used');

    // Edited to the same length: V8 would take the cache (it checks only the length) and run the
    // old code; the cache was made from another bundle, so it is not used.
    const edited = BUNDLE.replace('n * 2', 'n + 9');
    expect(edited.length).toBe(BUNDLE.length);
    fs.writeFileSync(file, edited);
    expect(await load(file)).toMatchObject({ use: 'none', exports: { ...expected(file), answer: 30 } });

    // Not a cache of ours at all: compiled as usual.
    fs.writeFileSync(cache, 'garbage');
    expect(await load(file)).toMatchObject({ use: 'none', exports: { ...expected(file), answer: 30 } });
  });
});

describe.skipIf(!tiersUpLater)('loadProcessBundle', () => {
  /** A bundle with a hot function, run until V8 marks it for TurboFan (see unit/tier-up.test.ts). */
  const HOT = `module.exports.callsUntilMarked = function () {
  function hot(x) { let s = 0; for (let i = 0; i < 20; i++) s += i % 3 === 0 ? x * i : x - i; return s; }
  let calls = 0;
  for (; calls < 100000 && (%GetOptimizationStatus(hot) & (16 | 256 | 512 | 1024)) === 0; calls++) hot(calls);
  return calls;
};
`;

  /** Loads `file` with `how` in a Node of its own: how its bundle was compiled, and the hot function's calls until marked. */
  async function run(file: string, how: 'loadBundle' | 'loadProcessBundle', make = false): Promise<{ use: string; calls: number }> {
    const script = `const loader = require(${JSON.stringify(path.join(ROOT, 'dist', 'start-up.cjs'))});
const calls = loader.${how}(process.argv[1]).callsUntilMarked();
console.log(JSON.stringify({ use: globalThis[Symbol.for('pcopy.codeCacheUse')], calls }));`;
    const r = await runCommand(process.execPath, ['--allow-natives-syntax', '-e', script, file], { env: envWithoutV8Settings('PCOPY_TEST_BIG_RUN'), extraEnv: make ? { PCOPY_MAKE_CODE_CACHE: '1' } : {} });
    expect(r.code, clip(r.stderr)).toBe(0);
    return JSON.parse(r.stdout) as { use: string; calls: number };
  }

  it("loads a process's bundle from its cache (made under Node's flags), then tiers up later", async () => {
    const file = path.join(work, 'hot.cjs');
    fs.writeFileSync(file, HOT);
    await run(file, 'loadProcessBundle', true);
    const later = await run(file, 'loadProcessBundle');
    const plain = await run(file, 'loadBundle');
    expect(later.use).toBe('used');
    expect(plain.use).toBe('used');
    // ~200 calls at Node's budget, ten times as many at the young one.
    expect(plain.calls).toBeLessThan(500);
    expect(later.calls).toBeGreaterThan(4 * plain.calls);
  });
});
