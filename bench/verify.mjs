/**
 * Checks every copy against its source: paths, types, sizes, link targets, file mtimes to the
 * second, and for pcopy (any build) content hashes of a sample of files plus every big file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MiB, walk } from './trees.mjs';

/** Files whose content pcopy's copy is hashed for, per run (plus every big file, see below). */
const HASH_SAMPLE = 64;
/** pcopy handles files from 8 MiB on differently (src/copy.ts BIG_FILE_BYTES), so all of them are hashed. */
const BIG_FILE = 8 * MiB;

/**
 * mtimes must agree to within a second. Not "the same whole second": fs.cp keeps milliseconds and
 * rounds, so x.9996 s becomes x+1.000 s; the check is meant to catch a missing or wrong time, not to
 * rank precision.
 */
const sameSecond = (a, b) => (a > b ? a - b : b - a) < 1_000_000_000n;

/** Differences between the source and the copy, as readable lines (empty when they match). */
function compareTrees(src, dest) {
  const problems = [];
  for (const [rel, a] of src) {
    const b = dest.get(rel);
    if (!b) problems.push(`missing: ${rel}`);
    else if (a.type !== b.type) problems.push(`${rel}: is a ${b.type}, not a ${a.type}`);
    else if (a.type === 'file' && a.size !== b.size) problems.push(`${rel}: size ${b.size}, not ${a.size}`);
    else if (a.type === 'file' && !sameSecond(a.mtimeNs, b.mtimeNs)) problems.push(`${rel}: mtime ${b.mtimeNs} ns, not ${a.mtimeNs} ns`);
    else if (a.type === 'link' && a.target !== b.target) problems.push(`${rel}: link to '${b.target}', not '${a.target}'`);
  }
  for (const rel of dest.keys()) if (!src.has(rel)) problems.push(`extra: ${rel}`);
  return problems;
}

function hashFile(file) {
  const hash = createHash('sha1');
  const buf = Buffer.allocUnsafe(4 * MiB);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Files whose content is compared after a pcopy run: every big file, and an evenly spread sample of
 * the rest whose offset moves with the run, so successive runs look at different files.
 */
function hashSample(srcEntries, run) {
  const files = [...srcEntries].filter(([, e]) => e.type === 'file').map(([rel, e]) => [rel, e.size]);
  files.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const stride = Math.max(1, Math.ceil(files.length / HASH_SAMPLE));
  return files.filter(([, size], i) => size >= BIG_FILE || i % stride === run % stride).map(([rel]) => rel);
}

/**
 * Problems with the copy a tool made of `row.src` in `row.dest` (empty when it is right).
 * `how`: 'tree' compares the listings, 'hash' also contents, 'none' checks nothing (the references
 * that copy nothing: the parallel read and `node -e 0`; for them DEST must not even exist).
 */
export function verifyCopy(row, how, run) {
  if (how === 'none') return fs.existsSync(row.dest) ? [`${row.dest} exists, but this tool copies nothing`] : [];
  const problems = compareTrees(row.entries, walk(row.dest));
  if (problems.length === 0 && how === 'hash') {
    for (const rel of hashSample(row.entries, run)) {
      // Source hashes are kept across runs: the source never changes.
      if (!row.srcHashes.has(rel)) row.srcHashes.set(rel, hashFile(path.join(row.src, rel)));
      if (hashFile(path.join(row.dest, rel)) !== row.srcHashes.get(rel)) problems.push(`${rel}: content differs`);
    }
  }
  return problems;
}
