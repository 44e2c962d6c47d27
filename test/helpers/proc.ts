/**
 * Looking at processes through /proc: pcopy's workers, whether a process still lives (pid reuse
 * safe), the temp files a worker has open, and the peak memory of a whole process tree.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses: the fields start after the last ')'.
  const after = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: after[0]!, ppid: Number(after[1]), pgrp: Number(after[2]), startTime: after[19]! };
}

/** Every process visible in /proc that is not a zombie. */
function liveProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st && st.state !== 'Z' && st.state !== 'X') out.push(st);
  }
  return out;
}

/** A process identity that survives pid reuse: pid plus its start time. */
export interface ProcId {
  pid: number;
  startTime: string;
}

export function procId(pid: number): ProcId | undefined {
  const st = readStat(pid);
  return st ? { pid, startTime: st.startTime } : undefined;
}

/** True while that very process exists and is not a zombie. */
export function isAlive(id: ProcId): boolean {
  const st = readStat(id.pid);
  return !!st && st.startTime === id.startTime && st.state !== 'Z' && st.state !== 'X';
}

/** All live descendants of `pid` (children, grandchildren …). */
export function descendants(pid: number): ProcId[] {
  const children = new Map<number, ProcStat[]>();
  for (const st of liveProcesses()) children.set(st.ppid, [...(children.get(st.ppid) ?? []), st]);
  const out: ProcId[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push({ pid: c.pid, startTime: c.startTime });
      stack.push(c.pid);
    }
  }
  return out;
}

/** Live processes in process group `pgrp`. */
export function groupMembers(pgrp: number): number[] {
  return liveProcesses()
    .filter((p) => p.pgrp === pgrp)
    .map((p) => p.pid);
}

/** The command line of a process ('' if gone). */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Worker processes (children running dist/worker-start.cjs) of a pcopy parent. */
export function workersOf(parentPid: number): ProcId[] {
  return descendants(parentPid).filter((p) => cmdline(p.pid).includes('dist/worker-start.cjs'));
}

/** Paths of every file process `pid` has open (targets of /proc/pid/fd; [] if gone). */
export function openFiles(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      out.push(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Paths of the pcopy temp files process `pid` has open. */
export function openTemps(pid: number): string[] {
  return openFiles(pid).filter((target) => /\/\.pcopy-[^/]*\.tmp$/.test(target));
}

/** Resident set size of one process in KiB (0 if gone). */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface TreeWatch {
  /** Every process seen below (and including) the root while watching. */
  seen: Map<string, ProcId>;
  /** Largest sum of RSS of the root and all its descendants at one sample, KiB. */
  peakTotalKiB: number;
  /** Largest RSS of any single process, KiB. */
  peakSingleKiB: number;
  samples: number;
  stop(): void;
}

/** Samples the process tree under `rootPid` every `intervalMs`: who ran, and peak memory. */
export function watchTree(rootPid: number, intervalMs = 25): TreeWatch {
  const watch: TreeWatch = {
    seen: new Map(),
    peakTotalKiB: 0,
    peakSingleKiB: 0,
    samples: 0,
    stop: () => clearInterval(timer),
  };
  const sample = (): void => {
    const root = procId(rootPid);
    if (!root) return;
    let total = 0;
    for (const p of [root, ...descendants(rootPid)]) {
      watch.seen.set(`${p.pid}/${p.startTime}`, p);
      const rss = rssKiB(p.pid);
      total += rss;
      watch.peakSingleKiB = Math.max(watch.peakSingleKiB, rss);
    }
    watch.peakTotalKiB = Math.max(watch.peakTotalKiB, total);
    watch.samples++;
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return watch;
}

/** A pid that belonged to a process which has exited (and was reaped). */
export function deadPid(): number {
  return spawnSync('true').pid!;
}
