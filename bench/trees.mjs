/**
 * The benchmark's source trees: the seeded presets of fixtures/make-tree.mjs, a real tree copied
 * with `cp -a`, and tiny trees for start-to-exit times. Sources are made once and cached (a marker
 * file records a complete tree); only destinations are removed between runs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTree } from '../fixtures/make-tree.mjs';

export const SEED = 42;
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Tree names, in table order, with the help text for each. */
export const TREES = {
  small: '20,000 files of 0.5-16 KiB',
  large: '4 files of 512 MiB (2 GiB; needs 4 GiB of tmpfs with its copy)',
  mixed: '2,000 small, 40 of 1-8 MiB, 2 of 256 MiB, 200 symlinks, empty dirs',
  scale: '200,000 files of 0.5-4 KiB: memory and linear growth',
  real: 'a copy (cp -a) of --real-tree, by default /usr/share',
  tiny10: '10 files of 1-4 KiB: start to exit, against `node -e 0`',
  tiny100: '100 files of 1-4 KiB: start to exit, against `node -e 0`',
};
export const TINY = { tiny10: 10, tiny100: 100 };
export const isTiny = (tree) => tree in TINY;

/**
 * Disk space (bytes) and inodes one copy of each preset needs, from the preset definitions in
 * fixtures/make-tree.mjs. Deliberately on the high side: each file is counted as its mean size plus a
 * whole 4 KiB block, and each folder or link as one block.
 */
const filesNeed = (count, lo, hi) => count * ((lo + hi) / 2 + 4 * KiB);
const NEEDS = {
  small: { bytes: filesNeed(20000, 512, 16 * KiB) + 200 * 4 * KiB, inodes: 20200 },
  large: { bytes: filesNeed(4, 512 * MiB, 512 * MiB) + 4 * KiB, inodes: 5 },
  mixed: {
    bytes: filesNeed(2000, 512, 16 * KiB) + filesNeed(40, 1 * MiB, 8 * MiB) + filesNeed(2, 256 * MiB, 256 * MiB) + 350 * 4 * KiB,
    inodes: 2400,
  },
  scale: { bytes: filesNeed(200000, 512, 4 * KiB) + 2000 * 4 * KiB, inodes: 202000 },
  tiny10: { bytes: 10 * 8 * KiB, inodes: 11 },
  tiny100: { bytes: 100 * 8 * KiB, inodes: 101 },
};

/** mkdir -p, by hand: Node 20's recursive mkdirSync spins forever where mkdir fails with ENOENT under an existing parent (as in /proc). */
export function makeDirs(dir) {
  if (fs.existsSync(dir)) return;
  makeDirs(path.dirname(dir));
  fs.mkdirSync(dir);
}

/** Makes files and folders writable again so leftovers of any copy can be removed. */
export function removeTree(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    if (err.code !== 'EACCES' && err.code !== 'EPERM') throw err;
    spawnSync('chmod', ['-R', 'u+rwx', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const treeDirs = (base, tree) => ({ src: path.join(base, tree, 'src'), dest: path.join(base, tree, 'dest') });

/** The marker of a complete real or tiny tree; it holds what the tree was made from. */
const markerOf = (src, tree) => path.join(path.dirname(src), `.${path.basename(src)}.${tree}.complete`);
const markerText = (tree, opts) => (tree === 'real' ? opts.realTree : `${TINY[tree]} files, seed ${SEED}`);

/** Mirrors makeTree's cache marker (fixtures/make-tree.mjs) for the seeded trees. */
export function isCached(src, tree, opts) {
  if (!fs.existsSync(src)) return false;
  if (tree in NEEDS && !isTiny(tree)) return fs.existsSync(path.join(path.dirname(src), `.${path.basename(src)}.${tree}-${SEED}.complete`));
  try {
    return fs.readFileSync(markerOf(src, tree), 'utf8') === markerText(tree, opts);
  } catch {
    return false;
  }
}

/** Small files with distinct contents and fixed times, straight in the tree's root. */
function makeTinyTree(src, count) {
  fs.mkdirSync(src);
  for (let i = 0; i < count; i++) {
    const file = path.join(src, `f${String(i).padStart(3, '0')}.txt`);
    fs.writeFileSync(file, `tiny file ${i}\n`.repeat(64 + ((i * 37) % 192)));
    fs.utimesSync(file, 1_600_000_000 + i, 1_600_000_000 + i);
  }
}

/**
 * Makes the source of `tree` in `src` unless a complete one is there; returns true if it made one.
 * Throws with a readable message when it cannot.
 */
export function prepareSource(tree, src, opts) {
  if (!isTiny(tree) && tree !== 'real') return makeTree(tree, src, SEED);
  if (isCached(src, tree, opts)) return false;
  removeTree(src);
  fs.rmSync(markerOf(src, tree), { force: true });
  makeDirs(path.dirname(src));
  if (isTiny(tree)) makeTinyTree(src, TINY[tree]);
  else {
    const r = spawnSync('cp', ['-a', opts.realTree, src], { encoding: 'utf8' });
    if (r.status !== 0) {
      removeTree(src);
      throw new Error(`cp -a ${opts.realTree} ${src} failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(0, 3).join(' / ')}`);
    }
  }
  fs.writeFileSync(markerOf(src, tree), markerText(tree, opts));
  return true;
}

/**
 * Every entry below `root`, keyed by relative path, with what the verification compares. Never
 * follows links.
 */
export function walk(root) {
  const entries = new Map();
  const visit = (rel) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs, { bigint: true });
      if (st.isSymbolicLink()) entries.set(r, { type: 'link', target: fs.readlinkSync(abs) });
      else if (st.isFile()) entries.set(r, { type: 'file', size: Number(st.size), mtimeNs: st.mtimeNs });
      else if (st.isDirectory()) {
        entries.set(r, { type: 'dir' });
        visit(r);
      } else entries.set(r, { type: 'other' });
    }
  };
  visit('');
  return entries;
}

export function describeTree(entries) {
  let files = 0;
  let bytes = 0;
  let dirs = 0;
  let links = 0;
  for (const e of entries.values()) {
    if (e.type === 'file') {
      files++;
      bytes += e.size;
    } else if (e.type === 'dir') dirs++;
    else if (e.type === 'link') links++;
  }
  return { files, bytes, dirs, links };
}

/** What one copy of the real tree needs, measured by walking it (with the same 4 KiB-per-entry margin). */
export function realTreeNeeds(realTree) {
  const info = describeTree(walk(realTree));
  const inodes = info.files + info.dirs + info.links;
  return { bytes: info.bytes + inodes * 4 * KiB, inodes };
}

export const gib = (n) => `${(n / GiB).toFixed(2)} GiB`;

/**
 * Why the trees do not fit in `dir`, or undefined: every source in `sourceTrees` still to make, plus
 * one copy of the biggest of `copyTrees` (each tree's destination is removed before the next tree
 * starts). Failing here beats an ENOSPC half-way.
 */
export function spaceProblem(dir, sourceTrees, copyTrees, opts) {
  const needsOf = (tree) => (tree === 'real' ? opts.realNeeds : NEEDS[tree]);
  const st = fs.statfsSync(dir);
  let bytes = 0;
  let inodes = 0;
  for (const tree of sourceTrees) {
    if (isCached(treeDirs(dir, tree).src, tree, opts)) continue;
    bytes += needsOf(tree).bytes;
    inodes += needsOf(tree).inodes;
  }
  bytes += Math.max(0, ...copyTrees.map((t) => needsOf(t).bytes));
  inodes += Math.max(0, ...copyTrees.map((t) => needsOf(t).inodes));
  const all = [...new Set([...sourceTrees, ...copyTrees])].join(',');
  if (bytes > st.bavail * st.bsize) {
    return (
      `not enough space in ${dir}: the trees ${all} need about ${gib(bytes)} there ` +
      `(sources not yet made${copyTrees.length ? ', plus one copy' : ''}), but only ${gib(st.bavail * st.bsize)} is free`
    );
  }
  // Some file systems (btrfs) report no inode limit at all (files = 0).
  if (st.files > 0 && inodes > st.ffree) return `not enough inodes in ${dir}: the trees need about ${inodes.toLocaleString('en-US')}, ${st.ffree.toLocaleString('en-US')} are free`;
  return undefined;
}
