/**
 * A worker of bench/floor-copy.cjs: copies each batch of files it is sent (paths relative to SRC and
 * DEST, its arguments) with plain-copy.mjs's per-file steps: one lstat, open, open of a temp name
 * with O_EXCL and the source's mode, 64 KiB read/write chunks, futimes, two closes, rename. Those
 * steps are written out again here, not shared: plain-copy.mjs is the fixed reference, and
 * it stays one file that does only what it says. Exits at `end`, which comes after every batch.
 * CommonJS: a forked child starts sooner than with an ES module (as pcopy's worker).
 */
const fs = require('node:fs');
const path = require('node:path');

const CHUNK = 64 * 1024;
const { O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
const [src, dest] = process.argv.slice(2);
const buf = Buffer.allocUnsafe(CHUNK);

process.on('message', (files) => {
  if (files === 'end') return process.disconnect();
  for (const rel of files) {
    const from = path.join(src, rel);
    const to = path.join(dest, rel);
    const temp = path.join(path.dirname(to), `.${path.basename(to)}.floor-copy.tmp`);
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
});
