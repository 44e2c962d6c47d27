import { describe, expect, it } from 'vitest';
import { PcopyError } from '../../src/errors.js';
import { MAX_CHUNK, MIN_CHUNK, parseChunkSize, parseSize, parseWorkers, resolveOptions } from '../../src/options.js';

function usageError(fn: () => unknown): PcopyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PcopyError);
    expect((err as PcopyError).code).toBe('USAGE');
    return err as PcopyError;
  }
  throw new Error('expected a USAGE PcopyError, nothing was thrown');
}

describe('parseSize', () => {
  it.each([
    ['4096', 4096],
    ['0', 0],
    ['1k', 1024],
    ['1K', 1024],
    ['1kb', 1024],
    ['64KiB', 65536],
    ['64kib', 65536],
    ['16 k', 16384],
    [' 2k ', 2048],
    ['1m', 1024 * 1024],
    ['1MiB', 1024 * 1024],
    ['0.5m', 512 * 1024],
    ['1.5k', 1536],
    ['10b', 10],
  ])('%j is %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', ' ', 'k', 'abc', '1x', '1kk', '-1', '-1k', '+4', '1e3', '0x10', '1.5', '0.1k', '1 2', '1g', '12 bytes'])(
    'refuses %j with a USAGE error naming the value',
    (text) => {
      const err = usageError(() => parseSize(text));
      expect(err.message).toContain(`'${text}'`);
    },
  );
});

describe('parseChunkSize', () => {
  it('has the documented bounds', () => {
    expect(MIN_CHUNK).toBe(1024);
    expect(MAX_CHUNK).toBe(65536);
  });

  it.each([
    ['1k', 1024],
    ['1024', 1024],
    ['1025', 1025],
    ['16k', 16384],
    ['64k', 65536],
    ['64KiB', 65536],
    ['65536', 65536],
  ])('accepts %j as %i', (text, bytes) => {
    expect(parseChunkSize(text)).toBe(bytes);
  });

  it.each(['0', '100', '1023', '65537', '65k', '1m', '0.5k', 'big', ''])('refuses %j (outside 1 KiB–64 KiB or not a size)', (text) => {
    const err = usageError(() => parseChunkSize(text));
    expect(err.message).toContain(`'${text}'`);
  });

  it('says the allowed range when out of range', () => {
    expect(usageError(() => parseChunkSize('100')).message).toMatch(/1 KiB to 64 KiB/);
    expect(usageError(() => parseChunkSize('65k')).message).toMatch(/1 KiB to 64 KiB/);
  });
});

describe('parseWorkers', () => {
  it.each([
    ['1', 1],
    ['4', 4],
    [' 8 ', 8],
    ['256', 256],
  ])('accepts %j as %i', (text, n) => {
    expect(parseWorkers(text)).toBe(n);
  });

  it.each(['0', '257', '-1', '1.5', '2k', 'two', '', ' ', '1e2', '0x4'])('refuses %j', (text) => {
    const err = usageError(() => parseWorkers(text));
    expect(err.message).toMatch(/worker count/);
    expect(err.message).toMatch(/1 to 256/);
  });
});

describe('resolveOptions', () => {
  it('defaults to 64 KiB chunks and 1–4 workers', () => {
    const o = resolveOptions();
    expect(o.chunkSize).toBe(65536);
    expect(Number.isInteger(o.workers)).toBe(true);
    expect(o.workers).toBeGreaterThanOrEqual(1);
    expect(o.workers).toBeLessThanOrEqual(4);
  });

  it('keeps given values and the signal', () => {
    const signal = new AbortController().signal;
    const o = resolveOptions({ workers: 3, chunkSize: 2048, signal });
    expect(o.workers).toBe(3);
    expect(o.chunkSize).toBe(2048);
    expect(o.signal).toBe(signal);
  });

  it.each([{ workers: 0 }, { workers: 1.5 }, { workers: 257 }, { chunkSize: 1023 }, { chunkSize: 65537 }, { chunkSize: 1024.5 }])(
    'refuses %j',
    (partial) => {
      usageError(() => resolveOptions(partial));
    },
  );
});
