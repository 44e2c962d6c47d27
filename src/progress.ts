/**
 * Progress behind one interface: a live cli-progress bar on a terminal, plain lines otherwise.
 * The bar goes to stderr (so stdout keeps only the summary); lines printed while it is drawn
 * clear its line first and let it redraw below them.
 */
import cliProgress from 'cli-progress';
import { display } from './byte-names.js';
import type { CopyProgress } from './copy.js';
import { formatBytes, formatDuration, groupDigits } from './summary.js';

export interface Reporter {
  /** A progress snapshot (about ten a second). */
  update(progress: CopyProgress): void;
  /** A line for the user: errors and warnings on stderr, --verbose lines on stdout. */
  print(line: string, stream: NodeJS.WriteStream): void;
  /** Final state; `complete` draws exactly 100%. */
  stop(complete: boolean): void;
}

/** A bar on a terminal; on a non-terminal, a plain line every few seconds only if asked (`--progress`). */
export function createReporter(stream: NodeJS.WriteStream, wanted: boolean | undefined): Reporter {
  if (wanted === false) return new LineReporter(stream, false);
  if (stream.isTTY) return new BarReporter(stream);
  return new LineReporter(stream, wanted === true);
}

/** Rate over the last few seconds, not the whole run, so it follows the current speed. */
const RATE_WINDOW_MS = 5000;
const LINE_EVERY_MS = 3000;

/** Turns snapshots into the words of the bar; keeps the rate window and the never-backwards percent. */
export class ProgressText {
  private readonly samples: Array<[number, number]> = [];
  private shownPercent = 0;

  describe(p: CopyProgress, complete = false): { percent: number | undefined; text: string } {
    const rate = this.rate(p);
    const files = `${groupDigits(p.entriesDone)}/${groupDigits(p.entriesFound)} entries`;
    const current = p.currentFile ? ` | ${shorten(display(p.currentFile), 40)}` : '';
    if (!p.totalsKnown && !complete) {
      const text = `scanning… ${groupDigits(p.entriesFound)} entries, ${formatBytes(p.bytesFound)} found so far | ${formatBytes(p.bytesDone)} copied | ${formatBytes(rate)}/s${current}`;
      return { percent: undefined, text };
    }
    const fraction = complete ? 1 : p.bytesFound > 0 ? p.bytesDone / p.bytesFound : p.entriesFound > 0 ? p.entriesDone / p.entriesFound : 1;
    // Never backwards, and not 100% until it is over.
    this.shownPercent = Math.max(this.shownPercent, Math.min(complete ? 100 : 99.9, fraction * 100));
    const eta = !complete && rate > 0 ? ` | ETA ${formatDuration(((p.bytesFound - p.bytesDone) * 1000) / rate)}` : '';
    const text = `${this.shownPercent.toFixed(complete ? 0 : 1)}% | ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesFound)} | ${files} | ${formatBytes(rate)}/s${eta}${current}`;
    return { percent: this.shownPercent, text };
  }

  private rate(p: CopyProgress): number {
    this.samples.push([p.elapsedMs, p.bytesDone]);
    while (this.samples.length > 2 && p.elapsedMs - this.samples[0]![0] > RATE_WINDOW_MS) this.samples.shift();
    const [t0, b0] = this.samples[0]!;
    // Never below 0: a file copied again after a change takes its first try's bytes back.
    return p.elapsedMs > t0 ? Math.max(0, Math.round(((p.bytesDone - b0) * 1000) / (p.elapsedMs - t0))) : 0;
  }
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

class LineReporter implements Reporter {
  private readonly text = new ProgressText();
  private lastLine = -Infinity;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly periodic: boolean,
  ) {}
  update(p: CopyProgress): void {
    if (!this.periodic) return;
    const line = this.text.describe(p);
    if (p.elapsedMs - this.lastLine < LINE_EVERY_MS) return;
    this.lastLine = p.elapsedMs;
    this.stream.write(`pcopy: ${line.text}\n`);
  }
  print(line: string, stream: NodeJS.WriteStream): void {
    stream.write(`${line}\n`);
  }
  stop(): void {}
}

/** The bar's cells for a terminal this wide: 24 (and when the width is not known), fewer below 100 columns, none below 60. */
export function barWidth(columns: number | undefined): number {
  return !columns || columns >= 100 ? 24 : columns >= 60 ? 12 : 0;
}

class BarReporter implements Reporter {
  private readonly bar: cliProgress.SingleBar;
  private readonly text = new ProgressText();
  private last: CopyProgress | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.bar = new cliProgress.SingleBar({
      stream,
      fps: 10,
      hideCursor: true,
      clearOnComplete: false,
      gracefulExit: false,
      linewrap: false,
      format: (_options, params, payload: { text: string; known: boolean }) => {
        // The line is cut at the terminal's edge: on a narrow one the numbers come before the bar.
        const width = barWidth(stream.columns);
        const filled = Math.round(params.progress * width);
        const bar = payload.known && width > 0 ? `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ` : '';
        return `pcopy ${bar}${payload.text}`;
      },
    });
    this.bar.start(1000, 0, { text: 'starting…', known: false });
    process.on('SIGTSTP', this.onSuspend);
    process.on('SIGCONT', this.onResume);
  }

  /**
   * Ctrl-Z: the terminal gets its cursor and line wrapping back while pcopy is stopped (the shell's
   * prompt comes next), then pcopy stops itself, as the signal would have done (its workers, in the
   * same process group, stop by themselves). Back in the foreground, the bar takes them again.
   */
  private readonly onSuspend = (): void => {
    this.stream.write('\x1b[?25h\x1b[?7h');
    process.kill(process.pid, 'SIGSTOP');
  };

  private readonly onResume = (): void => {
    this.stream.write('\x1b[?25l\x1b[?7l');
    (this.bar as unknown as { lastDrawnString: string }).lastDrawnString = '';
  };

  update(p: CopyProgress): void {
    this.last = p;
    this.draw(p, false);
  }

  private draw(p: CopyProgress, complete: boolean): void {
    const { percent, text } = this.text.describe(p, complete);
    this.bar.update(Math.round((percent ?? 0) * 10), { text, known: percent !== undefined });
  }

  print(line: string, stream: NodeJS.WriteStream): void {
    this.stream.write('\r\x1b[2K');
    stream.write(`${line}\n`);
    // The bar is one line lower now. cli-progress saved the cursor where it started and restores it
    // when it stops: saved again here, so the summary does not land on the first message printed.
    this.stream.write('\x1b7');
    // Make the bar redraw itself on its next tick even if its text did not change.
    (this.bar as unknown as { lastDrawnString: string }).lastDrawnString = '';
  }

  stop(complete: boolean): void {
    process.off('SIGTSTP', this.onSuspend);
    process.off('SIGCONT', this.onResume);
    if (this.last && complete) this.draw(this.last, true);
    // cli-progress goes back to where it saved the cursor as it started: that is where the bar is now
    // (the bar redraws on whatever line the cursor is on; the shell or another program may have
    // written below where it started, e.g. after Ctrl-Z and fg), so the summary does not land on
    // older lines.
    this.stream.write('\x1b7');
    this.bar.stop();
  }
}
