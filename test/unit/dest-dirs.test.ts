/** Destination directories as they are made: the mode they have until the end of the run. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPolicy } from '../../src/copy-file.js';
import { DestDirs, pidNamespace, removeStaleTemps, runTagFor } from '../../src/dest-dirs.js';
import { TEMP_NAME_PATTERN, tempName } from '../../src/protocol.js';
import { deadPid } from '../helpers/proc.js';
import { resolveOptions } from '../../src/options.js';
import { tempPerTest } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-dest-dirs-');

describe('DestDirs', () => {
  // cp makes a directory without group and other write, and without any group or other bits when it
  // keeps owners, until its contents are in: no one else may slip a file or link into it meanwhile.
  it.each([
    ['modes not kept (--no-preserve)', resolveOptions({ preserve: { mode: false, times: false, owner: false } }), 0o755],
    ['modes kept, owners not', resolveOptions({ preserve: { mode: true, times: true, owner: false } }), 0o755],
    ['owners kept (as root)', resolveOptions(), 0o700],
  ])('a 0777 (or 1777) source directory is made with at most %s: %o until finish, then its own mode', (_name, opts, during) => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(path.join(src, 'open', 'sticky'), { recursive: true });
    fs.chmodSync(path.join(src, 'open'), 0o777);
    fs.chmodSync(path.join(src, 'open', 'sticky'), 0o1777);
    const umask = process.umask(0);
    try {
      const policy = copyPolicy(opts, true, 0);
      const dirs = new DestDirs({ srcRoot: src, destRoot: dest, policy }, { made: () => {}, failed: (rel, e) => expect.fail(`${rel}: ${e.message}`), foundDestination: () => {} });
      dirs.makeRoot();
      expect(dirs.parentReady('open/sticky/file')).toBe(true);
      for (const d of ['open', 'open/sticky']) expect(fs.statSync(path.join(dest, d)).mode & 0o7777, d).toBe(during);
      dirs.finish();
      const want = policy.mode ? [0o777, 0o1777] : [0o777, 0o777];
      expect(['open', 'open/sticky'].map((d) => fs.statSync(path.join(dest, d)).mode & 0o7777)).toEqual(want);
    } finally {
      process.umask(umask);
    }
  });

  it('finish runs once: a second call (after an error late in a run) neither sets nor reports anything again', () => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(path.join(src, 'a', 'b'), { recursive: true });
    fs.utimesSync(path.join(src, 'a'), 1_000_000, 1_000_000);
    const failed: string[] = [];
    const dirs = new DestDirs({ srcRoot: src, destRoot: dest, policy: copyPolicy(resolveOptions(), false, 0o022) }, { made: () => {}, failed: (rel) => failed.push(rel), foundDestination: () => {} });
    dirs.makeRoot();
    expect(dirs.parentReady('a/b/file')).toBe(true);
    dirs.finish();
    expect(fs.statSync(path.join(dest, 'a')).mtimeMs).toBe(1_000_000_000);
    // Changed since, and one gone: a second finish would set the first back and report the second.
    fs.rmdirSync(path.join(dest, 'a', 'b'));
    fs.utimesSync(path.join(dest, 'a'), 2_000_000, 2_000_000);
    dirs.finish();
    expect(fs.statSync(path.join(dest, 'a')).mtimeMs).toBe(2_000_000_000);
    expect(failed).toEqual([]);
  });
});

describe('stale temp files', () => {
  it('a run\'s temp names carry its PID namespace; only dead runs of this namespace (or of none named) lose theirs', () => {
    const ns = pidNamespace();
    expect(ns).toMatch(/^[0-9a-z]+$/); // Linux: /proc/self/ns/pid
    const ours = tempName(runTagFor(process.pid, 0xabcdef), 7, 0);
    expect(ours).toBe(`.pcopy-${process.pid}-abcdef${ns}-7.tmp`);
    expect(TEMP_NAME_PATTERN.exec(ours)?.slice(1)).toEqual([String(process.pid), ns]);
    const dir = tmp();
    const dead = deadPid();
    const names = {
      deadHere: `.pcopy-${dead}-abcdef${ns}-1.tmp`,
      deadBefore: `.pcopy-${dead}-abcdef-2.tmp`, // a name from before namespaces were in it
      deadElsewhere: `.pcopy-${dead}-abcdef${ns}x-3.tmp`, // another namespace: its run may be alive there
      liveHere: `.pcopy-${process.pid}-abcdef${ns}-4.tmp`,
      inSource: `.pcopy-${dead}-abcdef${ns}-5.tmp`,
    };
    for (const n of Object.values(names)) fs.writeFileSync(path.join(dir, n), 'partial');
    removeStaleTemps(dir, (name) => name === names.inSource);
    expect(fs.readdirSync(dir).sort()).toEqual([names.deadElsewhere, names.liveHere, names.inSource].sort());
  });
});
