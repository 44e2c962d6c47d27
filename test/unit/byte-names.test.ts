import { describe, expect, it } from 'vitest';
import { decode, decodeLatin1, display, escapeRawBytes, hasRawBytes, isErrorPath, osPath, toBytes } from '../../src/byte-names.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

describe('byte names', () => {
  it('leaves UTF-8 names as their text, and hands them to fs as strings', () => {
    for (const name of ['plain.txt', 'café', '日本語', 'emoji-💀', 'a\nb', '']) {
      const decoded = decode(Buffer.from(name, 'utf8'));
      expect(decoded).toBe(name);
      expect(osPath(decoded)).toBe(name);
      expect(hasRawBytes(decoded)).toBe(false);
      expect(escapeRawBytes(decoded)).toBe(name);
    }
    // U+1F480 is the pair D83D DC80: its low half is no lone surrogate, so no byte.
    expect(hasRawBytes('\ud83d\udc80')).toBe(false);
  });

  it('maps each byte that is not UTF-8 to U+DC80 + byte, and back', () => {
    expect(decode(bytes(0x63, 0x61, 0x66, 0xe9))).toBe('caf\udce9');
    expect(osPath('caf\udce9')).toEqual(bytes(0x63, 0x61, 0x66, 0xe9));
    expect(display('caf\udce9')).toBe('caf\\xe9');
    // A truncated sequence, then valid text: only the stray bytes are escaped.
    expect(decode(bytes(0xe2, 0x82, 0x41, 0xc3, 0xa9))).toBe('\udce2\udc82Aé');
  });

  it('reads names from a latin1 readdir exactly as from a buffer one', () => {
    const names = [bytes(0x63, 0x61, 0x66, 0xe9), Buffer.from('café 日本語 💀'), Buffer.from('plain.txt'), bytes(0xff, 0x0a, 0xc3), bytes()];
    for (const raw of names) expect(decodeLatin1(raw.toString('latin1'))).toBe(decode(raw));
    const ascii = 'plain-name.txt';
    expect(decodeLatin1(ascii)).toBe(ascii);
  });

  // coreutils init.cfg bad_unicode (used by tests/cp/non-utf8-name.sh): invalid UTF-8, an encoded
  // unpaired surrogate, a C1 control, an encoded surrogate pair (CESU-8). Each must come back byte-exact.
  it('round-trips coreutils bad_unicode byte for byte', () => {
    const raw = Buffer.concat([bytes(0xff), Buffer.from('|'), bytes(0xed, 0xba, 0xad), Buffer.from('|'), bytes(0xc2, 0x89), Buffer.from('|'), bytes(0xed, 0xa6, 0xbf, 0xed, 0xbf, 0xbf)]);
    const name = decode(raw);
    expect(hasRawBytes(name)).toBe(true);
    expect(toBytes(name)).toEqual(raw);
    expect(display(name)).toBe('\\xff|\\xed\\xba\\xad|\\xc2\\x89|\\xed\\xa6\\xbf\\xed\\xbf\\xbf');
    // --json shows the raw bytes escaped; the C1 character is left for JSON to escape.
    expect(escapeRawBytes(name)).toBe('\\xff|\\xed\\xba\\xad|\u0089|\\xed\\xa6\\xbf\\xed\\xbf\\xbf');
  });

  it('round-trips any bytes (overlongs, out of range, truncated, mixed)', () => {
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let n = 0; n < 3000; n++) {
      const len = 1 + (n % 12);
      const raw = Buffer.from(Array.from({ length: len }, rand));
      const name = decode(raw);
      expect(toBytes(name), raw.toString('hex')).toEqual(raw);
      expect(Buffer.from(osPath(name))).toEqual(raw);
    }
    for (const raw of [bytes(0xc0, 0x80), bytes(0xf4, 0x90, 0x80, 0x80), bytes(0xf0, 0x9f, 0x92), bytes(0xe0, 0x80, 0x80), bytes(0x80)]) {
      expect(toBytes(decode(raw))).toEqual(raw);
      expect(hasRawBytes(decode(raw))).toBe(true);
    }
  });

  it('shows control characters escaped for people', () => {
    expect(display('new\nline')).toBe('new\\x0aline');
    expect(display('c0_\u001b_esc')).toBe('c0_\\x1b_esc');
    expect(display('del\u007f')).toBe('del\\x7f');
    expect(display('dir/ok.txt')).toBe('dir/ok.txt');
  });

  it('recognises the path of an error raised for a Buffer path', () => {
    expect(isErrorPath('/a/b', '/a/b')).toBe(true);
    expect(isErrorPath('/a/caf\ufffd', '/a/caf\udce9')).toBe(true);
    expect(isErrorPath('/a/other', '/a/caf\udce9')).toBe(false);
    expect(isErrorPath(undefined, '/a/b')).toBe(false);
  });
});
