/**
 * Reading what pcopy printed: lines, its failure lines and summary counts, crash traces, control
 * codes, and long output clipped for assertion messages.
 */

export const ESC = '\x1b';

/** Non-blank lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** Removes ANSI/VT100 control sequences. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b[()][0-9A-Za-z]/g, '').replace(/\x1b[=>78]/g, '');
}

/** `pcopy: Cannot copy …` lines on stderr. */
export function failureLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('pcopy: Cannot copy '));
}

/** The failed count of the summary line on stdout (undefined if no summary). */
export function failedCount(stdout: string): number | undefined {
  const m = /, ([\d,]+) failed,/.exec(stdout);
  return m ? Number(m[1]!.replace(/,/g, '')) : undefined;
}

/** Lines that look like a JavaScript stack trace or an uncaught error. */
export function crashLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at \S|node:internal|Uncaught|internal error|^\w*Error\b|Error \[E|Assertion failed|Native stack trace/.test(l));
}

/** Long output shortened for assertion messages: the first and last characters. */
export function clip(text: string, max = 1500): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max / 2)}\n… (${text.length - max} characters left out) …\n${text.slice(-max / 2)}`;
}

/** The PCOPY_DEBUG_TIMING line of each worker that ended normally (`pcopy worker <pid>[ (forked early)]: …`). */
export function workerLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^pcopy worker \d+( \(forked early\))?: /.test(l));
}

/** Files the workers of a run read ahead, summed from their PCOPY_DEBUG_TIMING lines. */
export function filesReadAhead(stderr: string): number {
  return workerLines(stderr).reduce((sum, l) => sum + Number(/ read ahead (\d+) files/.exec(l)?.[1] ?? 0), 0);
}
