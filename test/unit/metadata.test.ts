import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { micros, mtimesMatch, PROBE_NAME, probeName, utimeSeconds } from '../../src/metadata.js';
import { TEMP_NAME_PATTERN, tempName } from '../../src/protocol.js';
import { prng } from '../../fixtures/make-tree.mjs';
import { tempPerTest } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-meta-');

/** Times from 1906 to 2096 in bigint nanoseconds, with random sub-microsecond parts. */
function randomTimes(count: number, seed: number, { negative }: { negative: boolean }): bigint[] {
  const rand = prng(seed);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const seconds = BigInt(Math.floor(rand() * 2e9)) * (negative ? -1n : 1n) + (negative ? 0n : BigInt(Math.floor(rand() * 2e9)));
    out.push(seconds * 1_000_000_000n + BigInt(Math.floor(rand() * 1e9)));
  }
  return out;
}

describe('probe names', () => {
  it('are temp names (a later run removes one left behind) that PROBE_NAME tells from every copy temp', () => {
    for (const n of [0, 35, 1296]) {
      expect(probeName(n)).toMatch(PROBE_NAME);
      expect(probeName(n)).toMatch(TEMP_NAME_PATTERN);
    }
    for (const [id, attempt] of [[0, 0], [35, 1], [123456, 0]] as const) expect(tempName(`${process.pid}-a1b2c3`, id, attempt)).not.toMatch(PROBE_NAME);
  });
});

describe('micros', () => {
  it.each([
    [0n, 0n],
    [999n, 0n],
    [1000n, 1n],
    [1999n, 1n],
    [1_600_000_000_123_456_789n, 1_600_000_000_123_456n],
    [-1n, -1n],
    [-999n, -1n],
    [-1000n, -1n],
    [-1001n, -2n],
    [-1_500_000_000n, -1_500_000n],
    [-1_000_000_001n, -1_000_001n],
  ])('micros(%s) is %s (rounded down, also before 1970)', (ns, us) => {
    expect(micros(ns)).toBe(us);
  });
});

describe('utimeSeconds round trip through utimes and a bigint lstat', () => {
  function roundTrip(times: bigint[]): string[] {
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    const wrong: string[] = [];
    for (let i = 0; i < times.length; i++) {
      const mtime = times[i]!;
      const atime = times[(i + 1) % times.length]!;
      fs.utimesSync(file, utimeSeconds(atime), utimeSeconds(mtime));
      const st = fs.lstatSync(file, { bigint: true });
      if (st.mtimeNs !== micros(mtime) * 1000n) wrong.push(`mtime ${mtime} ns → ${st.mtimeNs} ns, want ${micros(mtime) * 1000n}`);
      if (st.atimeNs !== micros(atime) * 1000n) wrong.push(`atime ${atime} ns → ${st.atimeNs} ns, want ${micros(atime) * 1000n}`);
    }
    return wrong;
  }

  it('gives the exact microsecond for 3,000 random times after 1970', () => {
    const times = randomTimes(3000, 7, { negative: false });
    // whole seconds, whole microseconds and a hair below/above a microsecond too
    times.push(0n, 1000n, 1_000_000_000n, 1_600_000_000_000_000_000n, 1_600_000_000_000_000_999n, 1_600_000_000_999_999_999n);
    expect(roundTrip(times).slice(0, 5)).toEqual([]);
  });

  it('gives the exact microsecond for 3,000 random times before 1970', () => {
    const times = randomTimes(3000, 11, { negative: true });
    times.push(-1n, -1000n, -1001n, -1_000_000_000n, -1_000_000_001n, -1_999_999_999n, -86_400_000_000_123n);
    expect(roundTrip(times).slice(0, 5)).toEqual([]);
  });

  // From 2^32 s (2106) a double of seconds cannot hold every microsecond: the nearest double often
  // lands a hair below the time, which libuv truncates to the microsecond before.
  it('gives the exact microsecond from 2106 to 2242 (2^32 to 2^33 s), where a double of seconds is ~1 µs apart', () => {
    const rand = prng(19);
    const times: bigint[] = [];
    for (let i = 0; i < 3000; i++) {
      const seconds = 2n ** 32n + BigInt(Math.floor(rand() * 2 ** 32));
      times.push(seconds * 1_000_000_000n + BigInt(Math.floor(rand() * 1e9)));
    }
    // 2150-06-01 12:00:00.999999, which a rerun used to copy again every time (it landed on .999998)
    times.push(5_616_936_000_999_999_000n, 2n ** 32n * 1_000_000_000n + 999_999_999n, (2n ** 33n - 1n) * 1_000_000_000n + 999_999n);
    expect(roundTrip(times).slice(0, 5)).toEqual([]);
  });

  it('misses by 1 µs at most from 2242 to 2446 (some microseconds have no double), which mtimesMatch counts as equal there only', () => {
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    const rand = prng(23);
    let missed = 0;
    for (let i = 0; i < 2000; i++) {
      const ns = (2n ** 33n + BigInt(Math.floor(rand() * 5e9))) * 1_000_000_000n + BigInt(Math.floor(rand() * 1e9));
      fs.utimesSync(file, utimeSeconds(ns), utimeSeconds(ns));
      const got = fs.lstatSync(file, { bigint: true }).mtimeNs;
      const off = micros(got) - micros(ns);
      expect(off === 0n || off === 1n || off === -1n, `${ns} ns → ${got} ns`).toBe(true);
      if (off !== 0n) missed++;
      expect(mtimesMatch(got, ns, 0)).toBe(true);
    }
    expect(missed).toBeGreaterThan(0); // the slack is needed there
    // Before 2^33 s a microsecond apart stays a difference (without --modify-window).
    expect(mtimesMatch(5_616_936_000_999_998_000n, 5_616_936_000_999_999_000n, 0)).toBe(false);
    expect(mtimesMatch(5_616_936_000_999_998_000n, 5_616_936_000_999_999_000n, 1)).toBe(true);
    expect(mtimesMatch(2n ** 33n * 1_000_000_000n + 2000n, 2n ** 33n * 1_000_000_000n, 0)).toBe(false);
  });

  it('also works through futimes on an open file', () => {
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    const fd = fs.openSync(file, 'r+');
    try {
      for (const ns of randomTimes(500, 3, { negative: false })) {
        fs.futimesSync(fd, utimeSeconds(ns), utimeSeconds(ns));
        expect(fs.fstatSync(fd, { bigint: true }).mtimeNs).toBe(micros(ns) * 1000n);
      }
    } finally {
      fs.closeSync(fd);
    }
  });
});
