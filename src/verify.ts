/** --verify: the source read again and the copy read back must hash the same, before the rename. */
import fs from 'node:fs';
import { osPath } from './byte-names.js';
import type { CopyContext } from './copy-file.js';
import { EntryFailure, entryError } from './errors.js';
import { YIELD_EVERY_BYTES } from './write-chunks.js';

const { O_RDONLY, O_NOFOLLOW } = fs.constants;

/** --verify: hash the source again and the temp copy, before the copy gets its final name. */
export function* verifyCopy(fdIn: number, tmp: string, ctx: CopyContext): Generator<void, void> {
  const fdCopy = fs.openSync(osPath(tmp), O_RDONLY | O_NOFOLLOW);
  try {
    const a = yield* hashFd(fdIn, ctx.buffer);
    const b = yield* hashFd(fdCopy, ctx.buffer);
    if (a !== b) throw new EntryFailure(entryError.verifyFailed());
  } finally {
    fs.closeSync(fdCopy);
  }
}

function* hashFd(fd: number, buffer: Buffer): Generator<void, string> {
  // node:crypto is loaded only for --verify: every worker start pays for what it imports.
  const { createHash } = process.getBuiltinModule('node:crypto');
  const hash = createHash('sha256');
  let position = 0;
  let sinceYield = 0;
  for (;;) {
    const n = fs.readSync(fd, buffer, 0, buffer.length, position);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    position += n;
    sinceYield += n;
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      yield;
    }
  }
  return hash.digest('hex');
}
