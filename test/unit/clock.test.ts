/** clock.ts: milliseconds since the process started, on performance.now()'s scale, never going back. */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { now } from '../../src/clock.js';

describe('now', () => {
  it('reads the same clock as performance.now(), in milliseconds since the process started', () => {
    const before = performance.now();
    const t = now();
    const after = performance.now();
    // Both count from the process's start (Node's origins differ by well under a millisecond).
    expect(t).toBeGreaterThan(before - 2);
    expect(t).toBeLessThan(after + 2);
  });

  it('never goes back, and moves on (a clock that stood still would never leave the loop)', () => {
    let last = now();
    const start = last;
    while (last - start < 5) {
      const t = now();
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
  });
});
