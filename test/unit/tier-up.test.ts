/**
 * tier-up.ts: V8's later tier-up takes effect when set at run time, where Node's documentation
 * allows that changing a V8 flag after start "may simply do nothing". In a fresh Node, a function
 * called 450 times is marked for TurboFan by default (here after ~250 calls), and not once
 * `tierUpLater()` ran first, not even after 1,650 calls (~2,200 here); it is within those 1,650
 * once `settleWhen` was told of enough work after the first 450 (~1,200 here).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tiersUpLater } from '../../src/tier-up.js';
import { ROOT } from '../helpers/run.js';

const TIER_UP = pathToFileURL(path.join(ROOT, 'dist', 'tier-up.js')).href;

/**
 * Runs `hot` 450 times, then `settleWhen(seen, 100)`, then `hot` `more` times, in a new Node with
 * --trace-opt; true if V8 marked it for optimization.
 */
function markedForTurbofan(later: boolean, seen = 0, more = 0): boolean {
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
    let t = 0;
    for (let i = 0; i < 450; i++) t += hot(i);
    settleWhen(${seen}, 100);
    for (let i = 0; i < ${more}; i++) t += hot(i);
    console.log('sum', t);
  `;
  const r = spawnSync(process.execPath, ['--trace-opt', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^sum -?\d+$/m);
  return /marking \S+ <JSFunction hot\b/.test(r.stdout);
}

// Measured on Node 20's V8 (11.x) only, and left to its defaults elsewhere (see tier-up.ts).
describe.skipIf(!tiersUpLater)('tierUpLater and settleWhen', () => {
  it('a function V8 would optimize after ~250 calls is not yet marked after 450 once tierUpLater() ran', () => {
    expect(markedForTurbofan(false)).toBe(true);
    expect(markedForTurbofan(true)).toBe(false);
  });

  it('young, it is still not marked after 1,650 calls, nor when settleWhen hears of less than enough work', () => {
    expect(markedForTurbofan(true, 0, 1200)).toBe(false);
    expect(markedForTurbofan(true, 99, 1200)).toBe(false);
  });

  it('once settleWhen hears of enough work, it is marked within 1,200 more calls', () => {
    expect(markedForTurbofan(true, 100, 1200)).toBe(true);
  });
});
