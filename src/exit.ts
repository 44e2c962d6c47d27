/**
 * Leaving the process. When the terminal has gone away (its window closed, the ssh connection
 * lost), Node 20 still restores the terminal settings of its stdio as it exits: that fails with EIO,
 * and an assertion then aborts the process with a native stack trace and SIGABRT instead of the exit
 * code it was given (nodejs/node#51519, fixed in later Node). A hung-up terminal is still a
 * character device but no longer answers as a terminal (isatty is false), and Node skips a
 * descriptor that is closed by then: so such stdio, and only such, is closed first. Pipes and files
 * are never closed here: Node may still hold what did not fit in a pipe, and writes it out as it
 * exits (a --json document of 140 KiB into a pipe was cut at 64 KiB when they were).
 */
import fs from 'node:fs';
import { isatty } from 'node:tty';

/** process.exit: with `code`, or else with `process.exitCode`. */
export function exitProcess(code?: number): never {
  for (const fd of [0, 1, 2]) if (isHungUpTerminal(fd)) closeQuietly(fd);
  // Not `process.exit(undefined)`: an argument given, even undefined, replaces process.exitCode.
  return code === undefined ? process.exit() : process.exit(code);
}

/** A character device that is not a terminal (any more): a hung-up one, or /dev/null, which holds nothing to lose. */
function isHungUpTerminal(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isCharacterDevice() && !isatty(fd);
  } catch {
    return false; // not open
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
