#!/usr/bin/env node
/**
 * The benchmark's warm-cache reference: one plain Node process that copies SRC into DEST with the
 * same guarantees as pcopy's per-file work and nothing more. Issue 9 fixes it exactly, so that its
 * times stay comparable between runs and between versions of pcopy; do not "improve" it.
 *
 *   node bench/plain-copy.mjs SRC DEST        (DEST's parent must exist; DEST itself need not)
 *
 * - walk SRC with readdirSync (dirent types, no stat while walking);
 * - make every directory first;
 * - per file: one lstat, open, open of a temp name with O_EXCL and the source's mode, 64 KiB
 *   read/write chunks, futimes, two closes, rename;
 * - recreate symlinks (readlink, symlink, lutimes);
 * - set directory times last.
 *
 * Synchronous calls throughout: a single process doing one thing at a time is the point.
 * Other entry types (FIFOs, sockets, devices) are left out, as pcopy reports and skips them.
 */
import fs from 'node:fs';
import path from 'node:path';

const CHUNK = 64 * 1024;
const { O_WRONLY, O_CREAT, O_EXCL } = fs.constants;

const [src, dest] = process.argv.slice(2);
if (!src || !dest) {
  process.stderr.write('usage: node bench/plain-copy.mjs SRC DEST\n');
  process.exit(2);
}

// Breadth first, so every directory comes after its parent.
const dirs = [''];
const files = [];
const links = [];
for (let i = 0; i < dirs.length; i++) {
  const rel = dirs[i];
  for (const d of fs.readdirSync(path.join(src, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) dirs.push(r);
    else if (d.isFile()) files.push(r);
    else if (d.isSymbolicLink()) links.push(r);
  }
}

for (const rel of dirs) fs.mkdirSync(path.join(dest, rel), { recursive: rel === '' });

const buf = Buffer.allocUnsafe(CHUNK);
for (const rel of files) {
  const from = path.join(src, rel);
  const to = path.join(dest, rel);
  const temp = path.join(path.dirname(to), `.${path.basename(to)}.plain-copy.tmp`);
  const st = fs.lstatSync(from);
  const input = fs.openSync(from, 'r');
  const output = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL, st.mode & 0o7777);
  for (let n; (n = fs.readSync(input, buf, 0, CHUNK, null)) > 0; ) {
    for (let off = 0; off < n; ) off += fs.writeSync(output, buf, off, n - off);
  }
  fs.futimesSync(output, st.atimeMs / 1000, st.mtimeMs / 1000);
  fs.closeSync(input);
  fs.closeSync(output);
  fs.renameSync(temp, to);
}

for (const rel of links) {
  const from = path.join(src, rel);
  const to = path.join(dest, rel);
  const st = fs.lstatSync(from);
  fs.symlinkSync(fs.readlinkSync(from), to);
  fs.lutimesSync(to, st.atimeMs / 1000, st.mtimeMs / 1000);
}

// Deepest first: nothing is written into a directory after its times are set.
for (let i = dirs.length - 1; i >= 0; i--) {
  const st = fs.lstatSync(path.join(src, dirs[i]));
  fs.utimesSync(path.join(dest, dirs[i]), st.atimeMs / 1000, st.mtimeMs / 1000);
}
