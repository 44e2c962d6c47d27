/**
 * Output: the progress display. Under a pseudo-terminal (`script`) a live bar whose
 * percent never goes backwards and ends at 100%; in a real terminal (tmux) the messages printed
 * under it all stay on screen; `--no-progress` turns it off; on a non-terminal
 * `--progress` gives plain `pcopy: …%` lines without control codes. The copy is slowed with the
 * test-only PCOPY_TEST_DELAY_MS (a pause after every chunk) and small chunks.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, diffTrees, hashFile, snapshot, tempPerTest, writeFile } from '../helpers/tree.js';
import { pcopyCommand, q, runInPty, runPcopy, waitFor } from '../helpers/run.js';
import { canDropCaps, hasCommand, NO_CAPS, unavailable } from '../helpers/host.js';
import { ESC, stripAnsi } from '../helpers/output.js';

const tmp = tempPerTest('pcopy-feat-progress-');
const MiB = 1024 * 1024;
const SLOW = { PCOPY_TEST_DELAY_MS: '2' };

/** A few small files and one big file (media/big-video.bin) of `bigBytes`. */
function slowTree(bigBytes: number): string {
  const src = path.join(tmp(), 'src');
  build(src, { 'a.txt': 'a\n', 'b.txt': 'b\n', docs: { 'c.txt': 'c\n', 'd.txt': 'd\n' } });
  writeFile(path.join(src, 'media', 'big-video.bin'), bigBytes);
  return src;
}

/** Percents shown by successive redraws of the bar (cli-progress redraws from column 1). */
function percents(raw: string): number[] {
  const out: number[] = [];
  for (const frame of raw.split(`${ESC}[1G`)) {
    const m = /pcopy [█░]+ (\d+(?:\.\d+)?)% \|/.exec(stripAnsi(frame));
    if (m) out.push(Number(m[1]));
  }
  return out;
}

describe('progress on a terminal', () => {
  // cli-progress saves the cursor where the bar starts and restores it when it stops: with messages
  // printed under the bar, the summary landed on the first of them (and the shell's prompt on the
  // last). tmux is a real terminal: its screen is what a person sees.
  const tmuxWorks = hasCommand('tmux') && canDropCaps();
  it.skipIf(unavailable(!tmuxWorks, 'needs tmux(1), root and setpriv(1) (unreadable files)'))('messages printed under the bar all stay on screen, the summary below them', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'ok.txt': 'ok\n', more: { 'm1.txt': '1\n', 'm2.txt': '2\n' } });
    for (let i = 1; i <= 3; i++) {
      writeFile(path.join(src, `bad${i}`), 10);
      fs.chmodSync(path.join(src, `bad${i}`), 0o000);
    }
    const socket = `pcopy-test-${process.pid}`;
    const tmux = (...args: string[]): string => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' }).stdout;
    try {
      const command = `cd ${q(tmp())} && ${NO_CAPS.map(q).join(' ')} ${pcopyCommand(['src', 'dest'])}; sleep 60`;
      tmux('new-session', '-d', '-x', '150', '-y', '30', '-s', 'copy', command);
      await waitFor(() => tmux('capture-pane', '-p', '-t', 'copy').includes('files copied'), 'the summary on screen');
      const screen = tmux('capture-pane', '-p', '-t', 'copy').split('\n').filter((l) => l.trim() !== '');
      expect(screen.filter((l) => /^pcopy: Cannot copy `src\/bad\d` to `dest\/bad\d`: EACCES/.test(l)).sort(), screen.join('\n')).toHaveLength(3);
      expect(screen.at(-1), screen.join('\n')).toMatch(/^pcopy: 3 files copied, .* 3 failed, 0 skipped$/);
    } finally {
      tmux('kill-server');
    }
  });

  it('a refusal on a terminal shows its one line, no bar and no "starting" line before it', async () => {
    const { code, output } = await runInPty(`cd ${q(tmp())} && ${pcopyCommand(['nosuch', 'dest'])}`, {});
    expect(code).toBe(2);
    expect(stripAnsi(output).split(/\r?\n/).filter((l) => l.trim() !== '')).toEqual(['pcopy: source `nosuch` does not exist']);
  });

  it('draws a bar whose percent never decreases and ends at 100%, in binary units, naming the big file in flight', async () => {
    const src = slowTree(8 * MiB + 4096);
    const dest = path.join(tmp(), 'dest');
    const { code, output } = await runInPty(pcopyCommand(['--chunk-size', '4k', src, dest]), SLOW);
    expect(code).toBe(0);
    const shown = percents(output);
    expect(shown.length).toBeGreaterThan(5);
    for (let i = 1; i < shown.length; i++) expect(shown[i], `redraw ${i}: ${shown.join(' ')}`).toBeGreaterThanOrEqual(shown[i - 1]!);
    expect(shown.at(-1)).toBe(100);
    expect(shown.filter((p) => p > 0 && p < 100).length).toBeGreaterThan(2);
    expect(shown.slice(0, -1).every((p) => p < 100)).toBe(true);
    const text = stripAnsi(output);
    expect(text).toMatch(/pcopy [█]{24} 100% \| 8\.0 MiB \/ 8\.0 MiB \| 5\/5 entries/);
    expect(text).toMatch(/\d+\.\d MiB \/ 8\.0 MiB/);
    expect(text).toMatch(/\| media\/big-video\.bin/);
    expect(text).toMatch(/pcopy: 5 files copied, 0 unchanged, 3 directories, 0 symlinks, 8\.0 MiB in /);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });

  it.each([
    [40, 0],
    [80, 12],
    [150, 24],
  ])('on a terminal %i columns wide the bar takes %i cells: the numbers come first where the line is cut', async (columns, cells) => {
    const src = slowTree(2 * MiB);
    const dest = path.join(tmp(), 'dest');
    const { code, output } = await runInPty(`stty cols ${columns} && ${pcopyCommand(['--chunk-size', '4k', src, dest])}`, SLOW);
    expect(code).toBe(0);
    const text = stripAnsi(output);
    const last = /pcopy ([█░]* ?)100% \| 2\.0 MiB \/ 2\.0 MiB/.exec(text);
    expect(last, text.slice(-600)).not.toBeNull();
    expect(last![1]!.trim().length).toBe(cells);
  });

  it('--no-progress under a terminal prints no bar and no control codes, just the summary', async () => {
    const src = slowTree(1 * MiB);
    const dest = path.join(tmp(), 'dest');
    const { code, output } = await runInPty(pcopyCommand(['--no-progress', '--chunk-size', '4k', src, dest]), SLOW);
    expect(code).toBe(0);
    expect(output).not.toContain(ESC);
    expect(output).not.toMatch(/[█░]|%|scanning/);
    expect(output.replace(/\r/g, '')).toMatch(/^pcopy: 5 files copied, 0 unchanged, 3 directories, 0 symlinks, 1\.0 MiB in .*, 0 failed, 0 skipped\n$/);
    expect(hashFile(path.join(dest, 'media', 'big-video.bin'))).toBe(hashFile(path.join(src, 'media', 'big-video.bin')));
  });
});

describe('no bar where the output is for scripts, even on a terminal', () => {
  it('--json under a terminal: only the JSON document, no bar, no control codes', async () => {
    const src = slowTree(64 * 1024);
    const dest = path.join(tmp(), 'dest');
    const { code, output } = await runInPty(pcopyCommand(['--json', src, dest]));
    expect(code).toBe(0);
    expect(output).not.toContain(ESC);
    const doc = JSON.parse(output.replace(/\r/g, '')) as { filesCopied: number; failures: unknown[] };
    expect(doc).toMatchObject({ filesCopied: 5, failures: [] });
  });

  it('-q under a terminal: nothing at all on success', async () => {
    const src = slowTree(64 * 1024);
    const dest = path.join(tmp(), 'dest');
    const { code, output } = await runInPty(pcopyCommand(['-q', src, dest]));
    expect(code).toBe(0);
    expect(output).toBe('');
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });
});

describe('progress without a terminal', () => {
  it('--progress prints plain `pcopy: …%` lines on stderr (every few seconds), no control codes', async () => {
    const src = slowTree(8 * MiB + 4096);
    const dest = path.join(tmp(), 'dest');
    const r = await runPcopy(['--progress', '--chunk-size', '4k', src, dest], { cwd: tmp(), env: { ...process.env, ...SLOW } });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain(ESC);
    expect(r.stdout).not.toContain(ESC);
    const progressLines = r.stderr.split('\n').filter((l) => /^pcopy: \d+(\.\d+)?% \| /.test(l));
    expect(progressLines.length, r.stderr).toBeGreaterThanOrEqual(1);
    expect(progressLines[0]).toMatch(/^pcopy: \d+(\.\d+)?% \| [\d.]+ (B|KiB|MiB) \/ 8\.0 MiB \| \d+\/5 entries \| /);
    for (const l of r.stderr.split('\n').filter(Boolean)) expect(l).toMatch(/^pcopy: /);
    expect(r.stdout).toMatch(/^pcopy: 5 files copied, /);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });
});
