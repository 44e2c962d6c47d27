import { describe, expect, it } from 'vitest';
import { fromWireJobs, toWire, type JobRef, type ParentMessage } from '../../src/protocol.js';

describe('a size batch on the wire', () => {
  it('goes as columns and comes back as the same jobs, whatever their names, kinds, attempts and freshness', () => {
    const jobs: JobRef[] = [
      { id: 0, kind: 'file', rel: 'a.txt', attempt: 0, fresh: true },
      { id: 7, kind: 'link', rel: 'd/link', attempt: 0, fresh: false },
      { id: 12, kind: 'file', rel: 'line\nbreak/tab\there', attempt: 1, fresh: true },
      // A name that is not UTF-8 (see byte-names.ts), spaces, and a backslash.
      { id: 13, kind: 'file', rel: 'caf\udce9/ a \\b', attempt: 2, fresh: false },
      { id: 2 ** 31, kind: 'link', rel: 'x', attempt: 1, fresh: false },
    ];
    const wire = toWire({ type: 'size', jobs, keepBelow: 8 * 1024 * 1024, found: 40000 });
    // Through JSON, as Node's IPC sends it.
    const received = JSON.parse(JSON.stringify(wire)) as typeof wire;
    expect(received.type).toBe('size');
    if (received.type !== 'size') return;
    expect(received.keepBelow).toBe(8 * 1024 * 1024);
    expect(received.found).toBe(40000);
    expect(Array.isArray(received.jobs)).toBe(false);
    expect(fromWireJobs(received.jobs)).toEqual(jobs);
    // None, and one whose name is '' (SRC itself a file).
    for (const batch of [[], [{ id: 0, kind: 'file', rel: '', attempt: 0, fresh: false }]] as JobRef[][]) {
      const m = toWire({ type: 'size', jobs: batch, keepBelow: 1, found: batch.length });
      expect(m.type === 'size' && fromWireJobs(m.jobs)).toEqual(batch);
    }
  });

  it('leaves every other message as it is', () => {
    const messages: ParentMessage[] = [{ type: 'release' }, { type: 'end' }, { type: 'abort' }, { type: 'tasks', tasks: [{ t: 'copy', job: { id: 1, kind: 'file', rel: 'a', attempt: 0, fresh: true }, size: 3 }] }];
    for (const m of messages) expect(toWire(m)).toBe(m);
  });
});
