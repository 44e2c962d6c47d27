/**
 * V8's tier-up (src/tier-up.ts) in whole runs: the parent and the workers start young and settle
 * once the walk has found a big run's worth of jobs. PCOPY_TEST_BIG_RUN makes a small tree big, a
 * pause after each chunk (PCOPY_TEST_DELAY_MS) makes the run last past the parent's progress ticks,
 * and PCOPY_DEBUG_TIMING's lines say whether each process settled.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tiersUpLater } from '../../src/tier-up.js';
import { clip, workerLines } from '../helpers/output.js';
import { diffTrees, findTemps, runPcopy, snapshot, srcDestPerTest, writeFile } from '../helpers/tree.js';

let work: string;
let src: string;
srcDestPerTest('pcopy-tier-up-', (dirs) => ({ work, src } = dirs));

/** Copies 60 files, a run "big" from `bigRun` jobs on; what the parent and each worker said of their tier-up. */
async function run(bigRun: number): Promise<{ parent: string | undefined; workers: string[] }> {
  for (let i = 0; i < 60; i++) writeFile(path.join(src, `d${i % 3}`, `f${i}`), 4096 + i);
  const out = path.join(work, `out-${bigRun}`);
  const r = await runPcopy([src, out], { extraEnv: { PCOPY_DEBUG_TIMING: '1', PCOPY_TEST_BIG_RUN: String(bigRun), PCOPY_TEST_DELAY_MS: '5' } });
  expect(r.code, clip(r.stderr)).toBe(0);
  expect(diffTrees(snapshot(src), snapshot(out))).toEqual([]);
  expect(findTemps(out)).toEqual([]);
  const workers = workerLines(r.stderr).map((l) => / tier-up (\w+),/.exec(l)?.[1] ?? 'missing');
  expect(workers.length).toBeGreaterThan(0);
  return { parent: /^pcopy timing .* tier-up (\w+),/m.exec(r.stderr)?.[1], workers };
}

describe.skipIf(!tiersUpLater)('tier-up in a run', () => {
  it('the parent and every worker settle once the walk has found a big run of jobs', async () => {
    const { parent, workers } = await run(20);
    expect(parent).toBe('settled');
    expect(workers.every((w) => w === 'settled'), workers.join()).toBe(true);
  });

  it('they stay young on a run smaller than that', async () => {
    const { parent, workers } = await run(1000);
    expect(parent).toBe('young');
    expect(workers.every((w) => w === 'young'), workers.join()).toBe(true);
  });
});
