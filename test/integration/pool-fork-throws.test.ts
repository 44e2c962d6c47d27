/**
 * A fork that throws at once (rather than reporting 'error', as Node does for EMFILE or EAGAIN) ends
 * like a worker that could not start: the pool gives up after as many in a row as it may have
 * workers, every job fails with that cause, and the pool finishes instead of hanging or crashing.
 */
import { describe, expect, it, vi } from 'vitest';
import { copyPolicy } from '../../dist/copy-file.js';
import { resolveOptions } from '../../dist/options.js';
import { WorkerPool } from '../../dist/pool.js';

vi.mock('../../dist/worker-process.js', () => ({
  forkWorker: () => {
    throw Object.assign(new Error('spawn EAGAIN'), { code: 'EAGAIN' });
  },
}));

describe('a fork that throws', () => {
  it('fails every job with the pool giving up, and the pool finishes', async () => {
    const failed: Array<{ id: number; code: string; message: string }> = [];
    const warnings: string[] = [];
    const pool = new WorkerPool(
      {
        workers: 2,
        initialWorkers: 1,
        srcRoot: '/nonexistent-src',
        destRoot: '/nonexistent-dest',
        chunkSize: 65536,
        runTag: `${process.pid}-fork`,
        policy: copyPolicy(resolveOptions(), false, 0o022),
        bigFileBytes: 8 * 1024 * 1024,
        splitFileBytes: Infinity,
        partBytes: 32 * 1024 * 1024,
        delayMs: 0,
      },
      {
        sized: () => {},
        bytes: () => {},
        done: () => {
          throw new Error('nothing can be copied here');
        },
        failed: (id, error) => failed.push({ id, code: error.code, message: error.message }),
        warn: (message) => warnings.push(message),
        hardLinked: () => {},
      },
    );
    const ids = ['a', 'b', 'c'].map((rel) => pool.add('file', rel, false));
    pool.finishInput();
    await pool.finished;
    expect(failed.map((f) => f.id).sort()).toEqual(ids);
    expect(new Set(failed.map((f) => f.code))).toEqual(new Set(['GAVE_UP']));
    expect(failed[0]!.message).toMatch(/could not start \(EAGAIN\)/);
    expect(warnings.filter((w) => /workers keep dying/.test(w))).toHaveLength(1);
  });
});
