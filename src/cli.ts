/**
 * The command line: parse argv with commander, run `copy`, show progress and the summary, and map
 * the outcome to an exit code. `main` sets `process.exitCode` and returns; it never calls
 * `process.exit()` while workers may be alive (only a second interrupt forces an exit, and then the
 * workers see the IPC channel close, remove their temp files and exit by themselves).
 */
import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { copy, type CopyEvent, type CopyResult } from './copy.js';
import { ExitCode, PcopyError } from './errors.js';
import { defaultWorkers, parseChunkSize, parseWorkers } from './options.js';
import { createReporter, type Reporter } from './progress.js';
import { formatFailure, formatSkipped, formatSummary } from './summary.js';

const HELP_AFTER = `
What gets copied:
  SRC a directory   DEST becomes a copy of SRC's contents. DEST and missing parents are
                    created; an existing DEST directory is merged into (no DEST/SRC nesting),
                    so running the same command again gives the same DEST. A trailing slash
                    on SRC changes nothing. (This is rclone's and robocopy's rule; cp -r
                    would nest SRC inside an existing DEST.)
  SRC a file        DEST is the copy, or DEST/<name> when DEST is an existing directory.
  Symlinks given as SRC or DEST are followed; inside the tree none is ever followed:
  links are recreated with the same target text. FIFOs, sockets and devices are skipped
  with a message. Files whose size and modification time already match are not rewritten.

Exit codes: 0 all copied, 1 some entries failed, 2 usage error or refused before copying,
            130 interrupted (SIGINT), 143 terminated (SIGTERM), 129 hung up (SIGHUP).

Examples:
  $ pcopy photos /mnt/backup/photos        copy a folder (run it again to resume)
  $ pcopy -j 4 build/ /srv/www             four workers
  $ pcopy --chunk-size 16k big.iso /media  one file into a directory
  $ pcopy -q src dest && echo done         only errors are printed
`;

const SIGNAL_EXIT: Record<string, number> = { SIGINT: ExitCode.sigint, SIGTERM: ExitCode.sigterm, SIGHUP: ExitCode.sighup };

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Wraps a pcopy value parser so commander reports its message as a usage error. */
function commanderParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

interface CliOptions {
  workers?: number;
  chunkSize?: number;
  quiet?: boolean;
}

function buildProgram(): Command {
  return new Command()
    .name('pcopy')
    .usage('[options] SRC DEST')
    .description('Copy a folder tree (or one file) exactly and atomically, in parallel, with a live progress bar.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .argument('<SRC>', 'directory or file to copy')
    .argument('<DEST>', 'where the copy goes')
    .option('-j, --workers <n>', `worker processes (default: ${defaultWorkers()} on this machine)`, commanderParser(parseWorkers))
    .option('--chunk-size <size>', 'bytes per read/write, 1k to 64k (default: 64k)', commanderParser(parseChunkSize))
    .option('-q, --quiet', 'print only errors')
    .addHelpText('after', HELP_AFTER)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/** Runs pcopy with `argv` (as `process.argv`: node, script, args…); sets `process.exitCode`. */
export async function main(argv: string[]): Promise<void> {
  ignoreClosedPipes();
  const program = buildProgram();
  try {
    program.parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander exits 1 on usage errors; ours are 2, like cp and rsync. Help and version are 0.
      process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    throw err;
  }
  const [src, dest] = program.args as [string, string];
  const opts = program.opts<CliOptions>();
  await runCopy(src, dest, opts);
}

async function runCopy(src: string, dest: string, opts: CliOptions): Promise<void> {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // Second interrupt: leave now. Workers notice the closed channel and remove their temp files.
      process.exit(SIGNAL_EXIT[signal] ?? ExitCode.sigint);
    }
    signalled = signal;
    controller.abort();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  let reporter: Reporter | undefined;
  try {
    reporter = createReporter(process.stderr, !opts.quiet);
    const result = await copy(src, dest, {
      workers: opts.workers,
      chunkSize: opts.chunkSize,
      signal: controller.signal,
      onEvent: (event) => report(event, reporter!, src, dest, opts.quiet ?? false),
    });
    reporter.stop(!result.interrupted && result.failures.length === 0);
    if (!opts.quiet) process.stdout.write(`${formatSummary(result)}\n`);
    process.exitCode = exitCodeOf(result, signalled);
  } catch (err) {
    reporter?.stop(false);
    if (err instanceof PcopyError) {
      process.stderr.write(`pcopy: ${err.message}\n`);
      process.exitCode = err.code === 'INTERNAL' ? ExitCode.someFailed : ExitCode.usage;
    } else {
      process.stderr.write(`pcopy: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = ExitCode.someFailed;
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

function report(event: CopyEvent, reporter: Reporter, src: string, dest: string, quiet: boolean): void {
  switch (event.type) {
    case 'failed':
      return reporter.log(`pcopy: ${formatFailure(event.failure, src, dest)}`);
    case 'skipped':
      if (!quiet) reporter.log(`pcopy: ${formatSkipped(event.entry, src)}`);
      return;
    case 'warning':
      if (!quiet) reporter.log(`pcopy: ${event.message}`);
      return;
    default:
      reporter.onEvent(event);
  }
}

export function exitCodeOf(result: CopyResult, signal?: NodeJS.Signals): number {
  if (result.interrupted) return SIGNAL_EXIT[signal ?? 'SIGINT'] ?? ExitCode.sigint;
  return result.failures.length > 0 ? ExitCode.someFailed : ExitCode.ok;
}

/** `pcopy … | head -1`: a reader that goes away must not turn into a crash trace. */
function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}
