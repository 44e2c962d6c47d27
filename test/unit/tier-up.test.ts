/**
 * tier-up.ts: V8's tier-up budgets take effect when set at run time, where Node's documentation
 * allows that changing a V8 flag after start "may simply do nothing". Each case runs a hot function
 * in a fresh Node until V8 marks it for TurboFan, and counts the calls (deterministic: V8 marks a
 * function when the bytecode it ran uses up its budget). Here: ~200 by default, ~2,000 once
 * `tierUpLater()` ran, ~1,070 when `settleWhen` hears of a big run after the first 450 calls.
 * The inlining limit is seen in V8's own trace of what TurboFan inlines.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tiersUpLater } from '../../src/tier-up.js';
import { distUrl, envWithoutV8Settings } from '../helpers/run.js';

const TIER_UP = distUrl('tier-up.js');
/** The run size tier-up.ts calls big (without PCOPY_TEST_BIG_RUN). */
const BIG_RUN = 16000;

/**
 * Calls `hot` until V8 marks it for optimization (or has optimized it), in a new Node; after the
 * first 450 calls `settleWhen(found)` is told of `found` jobs. Returns how many calls it took.
 */
function callsUntilMarked(later: boolean, found = 0): number {
  const script = `
    const { settleWhen, tierUpLater } = await import(${JSON.stringify(TIER_UP)});
    if (${later}) tierUpLater();
    function hot(x) {
      let s = 0;
      for (let i = 0; i < 20; i++) {
        if (i % 3 === 0) s += x * i;
        else if (i % 3 === 1) s -= x + i;
        else s ^= x - i;
      }
      return s;
    }
    // Optimized, marked (also for concurrent compiling), or being compiled.
    const MARKED = 16 | 256 | 512 | 1024;
    let calls = 0;
    let sum = 0;
    for (; calls < 100000 && (%GetOptimizationStatus(hot) & MARKED) === 0; calls++) {
      if (calls === 450) settleWhen(${found});
      sum += hot(calls);
    }
    console.log(JSON.stringify({ calls, sum }));
  `;
  // Coverage or options inherited from the test run would change the bytecode, or the budgets.
  const env = envWithoutV8Settings('PCOPY_TEST_BIG_RUN');
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  const { calls } = JSON.parse(r.stdout) as { calls: number };
  expect(calls).toBeLessThan(100000);
  return calls;
}

/**
 * How many callees TurboFan inlines when it optimizes a function that calls four others of ~150
 * bytes of bytecode each, in a new Node (V8's trace of its inlining decisions, one line each).
 */
function inlinedCallees(later: boolean): number {
  const callee = (k: number): string =>
    `(x) => { ${Array.from({ length: 12 }, (_, i) => `if (x % ${i + 2} === ${k}) x = x * ${i + 3} + ${k}; else x = x - ${i + 1};`).join(' ')} return x; }`;
  const script = `
    const { tierUpLater } = await import(${JSON.stringify(TIER_UP)});
    if (${later}) tierUpLater();
    const a = ${callee(1)}, b = ${callee(2)}, c = ${callee(3)}, d = ${callee(4)};
    function outer(x) { return a(x) + b(x) + c(x) + d(x); }
    %PrepareFunctionForOptimization(outer);
    for (let i = 0; i < 100; i++) outer(i);
    %OptimizeFunctionOnNextCall(outer);
    outer(7);
    console.log(%GetOptimizationStatus(outer) & 16 ? 'optimized' : 'not optimized');
  `;
  const env = envWithoutV8Settings('PCOPY_TEST_BIG_RUN');
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--trace-turbo-inlining', '--input-type=module', '-e', script], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^optimized$/m);
  return r.stdout.split('\n').filter((line) => line.startsWith('Inlining ')).length;
}

// Measured on Node 20's V8 (11.3) only, and left to its defaults elsewhere (see tier-up.ts).
describe.skipIf(!tiersUpLater)('tierUpLater and settleWhen', () => {
  it('young, V8 marks a hot function after many times the calls it takes by default', () => {
    const byDefault = callsUntilMarked(false);
    const young = callsUntilMarked(true);
    expect(byDefault).toBeGreaterThan(50);
    expect(young).toBeGreaterThan(5 * byDefault);
  });

  it('settled by a big run, V8 marks it much sooner than young; a run one job short changes nothing', () => {
    const young = callsUntilMarked(true);
    expect(callsUntilMarked(true, BIG_RUN - 1)).toBe(young);
    const settled = callsUntilMarked(true, BIG_RUN);
    expect(settled).toBeGreaterThan(450);
    expect(settled).toBeLessThan(0.7 * young);
  });

  it('tierUpLater keeps TurboFan from inlining callees that it inlines by default', () => {
    expect(inlinedCallees(false)).toBeGreaterThan(0);
    expect(inlinedCallees(true)).toBe(0);
  });
});
