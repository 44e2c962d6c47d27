/**
 * tier-up.ts: V8's later tier-up takes effect when set at run time, where Node's documentation
 * allows that changing a V8 flag after start "may simply do nothing". In a fresh Node, a function
 * called 450 times is marked for TurboFan by default (here after ~250 calls) and not once
 * `tierUpLater()` ran first (~750 calls).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tiersUpLater } from '../../src/tier-up.js';
import { ROOT } from '../helpers/run.js';

const TIER_UP = pathToFileURL(path.join(ROOT, 'dist', 'tier-up.js')).href;

/** Runs `hot` 450 times in a new Node with --trace-opt; true if V8 marked it for optimization. */
function markedForTurbofan(later: boolean): boolean {
  const script = `
    const { tierUpLater } = await import(${JSON.stringify(TIER_UP)});
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
    console.log('sum', t);
  `;
  const r = spawnSync(process.execPath, ['--trace-opt', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^sum -?\d+$/m);
  return /marking \S+ <JSFunction hot\b/.test(r.stdout);
}

describe('tierUpLater', () => {
  // Measured on Node 20's V8 (11.x) only, and left to its defaults elsewhere (see tier-up.ts).
  it.skipIf(!tiersUpLater)('a function V8 would optimize after ~250 calls is not yet marked after 450 once tierUpLater() ran', () => {
    expect(markedForTurbofan(false)).toBe(true);
    expect(markedForTurbofan(true)).toBe(false);
  });
});
