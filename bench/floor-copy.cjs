#!/usr/bin/env node
/**
 * The floor of pcopy's shape: what a copy costs when a parent walks and forked workers copy, and
 * nothing else. It does plain-copy.mjs's work (the same per-file steps, see floor-worker.cjs) on as
 * many forked workers as pcopy's default pool holds, all forked at once, and none of pcopy's own:
 * no scheduler, no sizing pass, no progress, no source-changed check, no nanosecond times, no
 * filters, one message per batch of files. A target below what this takes is out of reach for
 * pcopy on that machine while a forked worker does the copying. Not a competitor: a yardstick (see
 * the README).
 *
 *   node bench/floor-copy.cjs SRC DEST [WORKERS]   (DEST's parent must exist; DEST itself need not)
 *
 * WORKERS: how many workers (default: pcopy's default pool size). One worker is the floor of a pool
 * that never grows (pcopy's on a tree too small for a second worker to pay for its start).
 *
 * - the workers are forked first, so they start while the parent walks (as pcopy's first one does);
 * - the parent walks SRC breadth first with readdirSync (dirent types), makes each directory as it
 *   meets it, and sends the files found to the workers, each the same count, BATCH to each at a
 *   time (on npm's tree, 1,943 files, batches of 256 took 5% longer than one message each);
 * - then it tells them to end; once they have exited it recreates the symlinks and sets the
 *   directories' times, deepest first: plain-copy.mjs's last steps, written out again for the
 *   reason floor-worker.cjs gives.
 * CommonJS, as pcopy's entry points: Node starts it without its ES module loader.
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const { availableParallelism } = require('node:os');
const path = require('node:path');

const BATCH = 2048;
const WORKER = path.join(__dirname, 'floor-worker.cjs');

const [src, dest, count] = process.argv.slice(2);
// pcopy's default pool size (src/options.ts) unless WORKERS says.
const size = count === undefined ? Math.min(availableParallelism(), 4) : Number(count);
if (!src || !dest || !Number.isInteger(size) || size < 1) {
  process.stderr.write('usage: node bench/floor-copy.cjs SRC DEST [WORKERS]\n');
  process.exit(2);
}

// They inherit this process's environment, which the bench gives without NODE_EXTRA_CA_CERTS
// (bench/tools.mjs), as pcopy starts its own.
const workers = Array.from({ length: size }, () =>
  fork(WORKER, [src, dest], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
);
const exited = workers.map((w) => new Promise((resolve) => w.on('exit', (code) => resolve(code))));

// Files found and not yet sent: each worker gets every n-th of them, so all get the same count.
let pending = [];
const send = () => {
  workers.forEach((w, k) => w.send(pending.filter((_, i) => i % workers.length === k)));
  pending = [];
};

fs.mkdirSync(dest);
const dirs = [''];
const links = [];
for (let i = 0; i < dirs.length; i++) {
  const rel = dirs[i];
  for (const d of fs.readdirSync(path.join(src, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) {
      fs.mkdirSync(path.join(dest, r));
      dirs.push(r);
    } else if (d.isFile()) pending.push(r);
    else if (d.isSymbolicLink()) links.push(r);
  }
  if (pending.length >= BATCH * workers.length) send();
}
if (pending.length > 0) send();
// Each worker disconnects once it has copied everything sent before this.
for (const w of workers) w.send('end');

Promise.all(exited).then((codes) => {
  if (codes.some((code) => code !== 0)) process.exit(1);
  finish();
});

function finish() {
  for (const rel of links) {
    const from = path.join(src, rel);
    const to = path.join(dest, rel);
    const st = fs.lstatSync(from);
    fs.symlinkSync(fs.readlinkSync(from), to);
    fs.lutimesSync(to, st.atimeMs / 1000, st.mtimeMs / 1000);
  }
  for (let i = dirs.length - 1; i >= 0; i--) {
    const st = fs.lstatSync(path.join(src, dirs[i]));
    fs.utimesSync(path.join(dest, dirs[i]), st.atimeMs / 1000, st.mtimeMs / 1000);
  }
}
