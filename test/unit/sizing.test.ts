/** A worker's sizing: what a source that is gone since the scan is reported as. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPolicy } from '../../src/copy-file.js';
import { JobQueue } from '../../src/job-queue.js';
import { resolveOptions } from '../../src/options.js';
import { Sizing } from '../../src/sizing.js';
import { ReportBatch } from '../../src/worker-report.js';
import { tempPerTest } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-sizing-');

describe('Sizing', () => {
  it('a file whose directory was removed, or replaced by a file, since the scan has vanished (not a raw ENOENT / ENOTDIR)', () => {
    const root = tmp();
    fs.mkdirSync(path.join(root, 'gone'));
    fs.writeFileSync(path.join(root, 'gone', 'f'), 'x');
    fs.mkdirSync(path.join(root, 'swapped'));
    fs.writeFileSync(path.join(root, 'swapped', 'f'), 'x');
    fs.writeFileSync(path.join(root, 'kept'), 'x');
    // Since the scan: one directory removed, the other replaced by a file of its name.
    fs.rmSync(path.join(root, 'gone'), { recursive: true });
    fs.rmSync(path.join(root, 'swapped'), { recursive: true });
    fs.writeFileSync(path.join(root, 'swapped'), 'now a file');
    const queue = new JobQueue();
    const report = new ReportBatch();
    const sizing = new Sizing(root, copyPolicy(resolveOptions(), false, 0o022), queue, report);
    sizing.size(
      ['gone/f', 'swapped/f', 'kept'].map((rel, id) => ({ id, kind: 'file' as const, rel, attempt: 0, fresh: false })),
      8 * 1024 * 1024,
    );
    expect(report.results).toEqual([
      { id: 0, error: { code: 'VANISHED', message: 'vanished since the scan' } },
      { id: 1, error: { code: 'VANISHED', message: 'vanished since the scan' } },
    ]);
    expect(report.sizes).toEqual([2, 1]);
    expect(queue.length).toBe(1);
  });
});
