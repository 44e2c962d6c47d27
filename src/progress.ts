/**
 * Progress behind one interface: a live cli-progress bar on a terminal, plain lines otherwise.
 * The bar goes to stderr (so stdout keeps only the summary); messages printed while it is drawn
 * clear its line first and let it redraw below them.
 */
import cliProgress from 'cli-progress';
import type { CopyEvent, CopyProgress } from './copy.js';
import { formatBytes, formatDuration } from './summary.js';

export interface Reporter {
  /** Progress snapshots (about ten a second) and per-entry news. */
  onEvent(event: CopyEvent): void;
  /** A line for the user (an error or warning), on stderr. */
  log(line: string): void;
  /** Final state; `complete` draws exactly 100%. */
  stop(complete: boolean): void;
}

/** Rate over the last few seconds, not the whole run, so it follows the current speed. */
const RATE_WINDOW_MS = 5000;

export function createReporter(stream: NodeJS.WriteStream, showBar: boolean): Reporter {
  return showBar && stream.isTTY ? new BarReporter(stream) : new LineReporter(stream);
}

class LineReporter implements Reporter {
  constructor(private readonly stream: NodeJS.WriteStream) {}
  onEvent(): void {}
  log(line: string): void {
    this.stream.write(`${line}\n`);
  }
  stop(): void {}
}

class BarReporter implements Reporter {
  private readonly bar: cliProgress.SingleBar;
  private readonly samples: Array<[number, number]> = [];
  private shownPercent = 0;
  private last: CopyProgress | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.bar = new cliProgress.SingleBar({
      stream,
      fps: 10,
      hideCursor: true,
      clearOnComplete: false,
      gracefulExit: false,
      linewrap: false,
      format: (_options, _params, payload: { line: string }) => payload.line,
    });
    this.bar.start(1, 0, { line: 'pcopy: starting…' });
  }

  onEvent(event: CopyEvent): void {
    if (event.type !== 'progress') return;
    this.last = event.progress;
    this.bar.update(0, { line: this.describe(event.progress) });
  }

  log(line: string): void {
    this.stream.write(`\r\x1b[2K${line}\n`);
    (this.bar as unknown as { lastDrawnString: string }).lastDrawnString = '';
  }

  stop(complete: boolean): void {
    if (this.last && complete) this.bar.update(1, { line: this.describe(this.last, true) });
    this.bar.stop();
  }

  private describe(p: CopyProgress, complete = false): string {
    const now = p.elapsedMs;
    this.samples.push([now, p.bytesDone]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > RATE_WINDOW_MS) this.samples.shift();
    const [t0, b0] = this.samples[0]!;
    const rate = now > t0 ? ((p.bytesDone - b0) * 1000) / (now - t0) : 0;
    const files = `${p.entriesDone.toLocaleString('en-US')}/${p.entriesFound.toLocaleString('en-US')} entries`;
    if (!p.totalsKnown && !complete) {
      return `pcopy: scanning… ${p.entriesFound.toLocaleString('en-US')} entries, ${formatBytes(p.bytesFound)} found so far | ${formatBytes(p.bytesDone)} copied | ${files}`;
    }
    const fraction = complete ? 1 : p.bytesFound > 0 ? p.bytesDone / p.bytesFound : p.entriesFound > 0 ? p.entriesDone / p.entriesFound : 1;
    // Never backwards, never past 100% before the end.
    this.shownPercent = Math.max(this.shownPercent, Math.min(complete ? 100 : 99.9, fraction * 100));
    const width = 24;
    const filled = Math.round((this.shownPercent / 100) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const eta = !complete && rate > 0 ? ` | ETA ${formatDuration(((p.bytesFound - p.bytesDone) * 1000) / rate)}` : '';
    return `${bar} ${this.shownPercent.toFixed(complete ? 0 : 1)}% | ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesFound)} | ${files} | ${formatBytes(Math.round(rate))}/s${eta}`;
  }
}
