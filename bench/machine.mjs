/**
 * What the report says about the machine and the builds, so that a table can be read later.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { ROOT } from './tools.mjs';
import { GiB } from './trees.mjs';

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error || r.status !== 0 ? undefined : r.stdout.split('\n')[0].trim();
}

function cpuModel() {
  try {
    // x86 says "model name"; some ARM kernels only have "Hardware" or "Processor".
    const m = /^(?:model name|Hardware|Processor)\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The commit of a checkout, marked when its src/ has uncommitted changes. */
export function commitOf(dir) {
  const git = firstLine('git', ['-C', dir, 'rev-parse', '--short', 'HEAD']);
  const dirty = firstLine('git', ['-C', dir, 'status', '--porcelain', '--', 'src']) ? '+dirty' : '';
  return `${git ?? 'unknown'}${dirty}`;
}

/** The file system's type: findmnt names ext4 as such (stat -f says "ext2/ext3" for all three). */
const fsTypeOf = (dir) => firstLine('findmnt', ['-n', '-o', 'FSTYPE', '--target', dir]) ?? firstLine('stat', ['-f', '-c', '%T', dir]) ?? 'unknown';
/** The device a directory's file system is on, as df names it. */
const deviceOf = (dir) => spawnSync('df', ['--output=source', dir], { encoding: 'utf8' }).stdout?.split('\n')[1]?.trim() || 'unknown';
export const loadAverage = () => os.loadavg().map((n) => n.toFixed(2)).join(' ');

export function machineInfo(opts, available) {
  return {
    nproc: Number(firstLine('nproc', [])) || os.availableParallelism(),
    cpu: cpuModel(),
    memory: `${(os.totalmem() / GiB).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    cp: firstLine('cp', ['--version']) ?? 'not found',
    rsync: available.rsync ? firstLine('rsync', ['--version']) : 'not found',
    dir: `${opts.dir} (${fsTypeOf(opts.dir)})`,
    diskDir: opts.diskModes.length ? `${opts.diskDir} (${fsTypeOf(opts.diskDir)} on ${deviceOf(opts.diskDir)})` : 'not used',
    pcopy: commitOf(ROOT),
    baseline: opts.baseline ? `${opts.baseline} at ${commitOf(opts.baseline)}` : undefined,
    pcopyArgs: opts.pcopyArgs.join(' '),
    loadAtStart: loadAverage(),
  };
}

