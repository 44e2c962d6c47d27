/**
 * File names are bytes; pcopy carries them as JS strings. A name that is valid UTF-8 is its decoded
 * text. Each byte that is not part of valid UTF-8 becomes a lone surrogate U+DC80 + (byte - 0x80),
 * as Python's "surrogateescape" does: a string decoded from valid UTF-8 never holds a lone surrogate,
 * so the mapping is lossless both ways, and the common case costs nothing. Such strings go through
 * everything a name goes through (relative paths, `path.join`, IPC — JSON.stringify writes lone
 * surrogates as `\udcXX` escapes —, patterns, sets and maps) unchanged.
 *
 * Conversions happen at the edges only: names read from the file system are `decode`d (readdir in
 * latin1 mode: `decodeLatin1`), every fs call takes `osPath(p)` (a Buffer only for a path that holds such bytes), and
 * what people read shows those bytes escaped (`display`: `caf\xe9`).
 */
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';

/** A lone low surrogate standing for one byte (`u`: the low half of a real surrogate pair is not one). */
const BYTE = /[\udc80-\udcff]/u;
const BYTES = /[\udc80-\udcff]+/gu;

/** The bytes of a name or path (from readdir, readlink, /proc/self/cmdline) as pcopy's string form. */
export function decode(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let start = 0; // start of the pending run of valid UTF-8
  let i = 0;
  while (i < bytes.length) {
    const n = validSequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', start, i) + String.fromCharCode(0xdc00 + bytes[i]!);
    start = ++i;
  }
  return out + bytes.toString('utf8', start);
}

const NOT_ASCII = /[^\x00-\x7f]/;

/**
 * A name read in latin1 (one character per byte) as pcopy's string form: ASCII as it is, anything
 * else through `decode`. Directories are read this way: ~2x cheaper than a Buffer per name.
 */
export function decodeLatin1(name: string): string {
  return NOT_ASCII.test(name) ? decode(Buffer.from(name, 'latin1')) : name;
}

/** The length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), or 0. */
function validSequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  // ED A0..BF would encode a surrogate: not UTF-8, so each of those bytes is escaped.
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** True when the path holds bytes that are not UTF-8 (escaped as lone surrogates). */
export function hasRawBytes(p: string): boolean {
  return BYTE.test(p);
}

/**
 * What to hand an fs call: the string itself, or, when it holds escaped bytes, the exact bytes (Node
 * would write a lone surrogate as EF BF BD, another name).
 */
export function osPath(p: string): string | Buffer {
  return BYTE.test(p) ? toBytes(p) : p;
}

/** The exact bytes of a path. */
export function toBytes(p: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of p.matchAll(BYTES)) {
    parts.push(Buffer.from(p.slice(last, m.index), 'utf8'));
    const run = m[0];
    const bytes = Buffer.allocUnsafe(run.length);
    for (let k = 0; k < run.length; k++) bytes[k] = run.charCodeAt(k) - 0xdc00;
    parts.push(bytes);
    last = m.index! + run.length;
  }
  parts.push(Buffer.from(p.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** What `display` escapes: bytes that are not UTF-8, and control characters (C0, DEL, C1). */
const UNSHOWN = /[\udc80-\udcff\x00-\x1f\x7f-\x9f]/u;
const UNSHOWN_RUNS = /[\udc80-\udcff\x00-\x1f\x7f-\x9f]+/gu;

/**
 * A path for people: each byte that is not UTF-8 as `\xNN` (`caf\xe9`), and so is each byte of a
 * control character (a line break would split a message in two; an escape sequence would reach the
 * terminal: rsync escapes both too). Any other path is shown as it is.
 */
export function display(p: string): string {
  return UNSHOWN.test(p) ? p.replace(UNSHOWN_RUNS, (run) => [...toBytes(run)].map(hex).join('')) : p;
}

/** Only the bytes that are not UTF-8 escaped, as `\xNN`: for --json, where JSON escapes control characters itself. */
export function escapeRawBytes(p: string): string {
  return BYTE.test(p) ? p.replace(BYTES, (run) => [...toBytes(run)].map(hex).join('')) : p;
}

const hex = (byte: number): string => `\\x${byte.toString(16).padStart(2, '0')}`;

/**
 * Whether an error from an fs call is about path `p`: Node sets `err.path` to the path given, but a
 * Buffer path comes back as a string with its invalid bytes replaced, so that is compared too.
 */
export function isErrorPath(errPath: unknown, p: string): boolean {
  if (errPath === p) return true;
  return typeof errPath === 'string' && BYTE.test(p) && errPath === toBytes(p).toString('utf8');
}

/**
 * The arguments with their exact bytes. Node decodes the command line as UTF-8 and replaces each byte
 * that is not with U+FFFD, so SRC `caf\xe9` would arrive as `caf\uFFFD`, a name that does not exist
 * (and a pattern with such a byte would match nothing). On Linux the bytes are in /proc/self/cmdline,
 * NUL-terminated: the user's arguments are its last ones (node's own flags and the script come
 * first). An argument holding U+FFFD is taken from there, decoded as byte-names does, only when those
 * bytes decode with replacement to exactly that argument; anything else is left as Node gave it.
 */
export function exactArgv(argv: string[]): string[] {
  if (!argv.slice(2).some((a) => a.includes('\uFFFD'))) return argv;
  let cmdline: Buffer;
  try {
    cmdline = fs.readFileSync('/proc/self/cmdline');
  } catch {
    return argv; // not Linux
  }
  const raw: Buffer[] = [];
  for (let start = 0; start < cmdline.length; ) {
    const end = cmdline.indexOf(0, start);
    raw.push(cmdline.subarray(start, end < 0 ? cmdline.length : end));
    start = end < 0 ? cmdline.length : end + 1;
  }
  const offset = raw.length - argv.length; // raw[i + offset] is argv[i] for the user's arguments
  if (offset < 0) return argv;
  return argv.map((arg, i) => {
    const bytes = raw[i + offset];
    return i >= 2 && arg.includes('\uFFFD') && bytes?.toString('utf8') === arg ? decode(bytes) : arg;
  });
}
