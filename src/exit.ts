/**
 * Leaving the process. When the terminal has gone away (its window closed, the ssh connection
 * lost), Node 20 still restores the terminal settings of its stdio as it exits: that fails with EIO,
 * and an assertion then aborts the process with a native stack trace and SIGABRT instead of the exit
 * code it was given (nodejs/node#51519, fixed in later Node). A hung-up terminal no longer answers
 * as one (isatty is false), and Node skips a descriptor that is closed by then: so the stdio that is
 * not a terminal (any more) is closed first. Nothing is lost: pcopy's writes to files, pipes and
 * terminals are synchronous on Linux, so all of them are out by then.
 */
import fs from 'node:fs';
import { isatty } from 'node:tty';

/** process.exit: with `code`, or else with `process.exitCode`. */
export function exitProcess(code?: number): never {
  for (const fd of [0, 1, 2]) {
    if (isatty(fd)) continue;
    try {
      fs.closeSync(fd);
    } catch {
      // not open
    }
  }
  // Not `process.exit(undefined)`: an argument given, even undefined, replaces process.exitCode.
  return code === undefined ? process.exit() : process.exit(code);
}
