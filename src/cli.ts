/**
 * The command line: parse argv with commander, run `copy`, show progress and the summary, and map
 * the outcome to an exit code. `main` sets `process.exitCode`; it never calls `process.exit()` while
 * workers may be alive (only a second interrupt forces an exit, and then the workers see the IPC
 * channel close, remove their temp files and exit by themselves). A copy ends with `process.exit()`
 * once its pool is closed, so no late Ctrl-C meets Node's teardown (see the end of `runCopy`).
 */
import fs from 'node:fs';
import { now } from './clock.js';
import { exitProcess } from './exit.js';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { decode, display, exactArgv, osPath } from './byte-names.js';
import { copy, type CopyEvent, type CopyResult } from './copy.js';
import { describeError, ExitCode, GAVE_UP_CODE, PcopyError, serializeError } from './errors.js';
import {
  defaultWorkers,
  parseChunkSize,
  parsePreserve,
  parseSeconds,
  parseWorkers,
  PRESERVE_NONE,
  resolveOptions,
  type CopyOptions,
  type OverwriteMode,
  type Preserve,
} from './options.js';
import { shownFileDestination, sourceIsDirectory } from './preflight.js';
import { createReporter, type Reporter } from './progress.js';
import { formatEntry, formatFailure, formatJson, formatSkipped, formatSummary, groupDigits } from './summary.js';
import { settleWhen } from './tier-up.js';

const HELP_AFTER = `
What gets copied:
  SRC a directory   DEST becomes a copy of SRC's contents. DEST and missing parents are
                    created; an existing DEST directory is merged into (no DEST/SRC nesting),
                    so running the same command again gives the same DEST. A trailing slash
                    on SRC changes nothing. (This is rclone's and robocopy's rule; cp -r
                    would nest SRC inside an existing DEST.)
  SRC a file        DEST is the copy, or DEST/<name> when DEST is an existing directory.
  One SRC per run. Symlinks given as SRC or DEST are followed; inside the tree none is
  followed (unless -L): links are recreated with the same target text. FIFOs, sockets
  and devices are skipped with a message. Files whose size and modification time
  already match are not rewritten, so a rerun resumes an interrupted copy. Nothing in
  DEST is ever deleted. Each file is written to a temp name and renamed when complete.

Patterns (--exclude, --include): fast-glob patterns relative to SRC. Without a slash a
  pattern matches a name at any depth (*.log is **/*.log); with a slash, or a leading /,
  it is anchored at SRC (/build, docs/old). An excluded directory is not walked into.
  --exclude wins over --include. With --include only matching entries are copied, with
  the directories that hold them.

Exit codes: 0 all copied, 1 some entries failed, 2 usage error or refused before copying,
            130 interrupted (SIGINT), 143 terminated (SIGTERM), 129 hung up (SIGHUP).

Examples:
  $ pcopy photos /mnt/backup/photos           copy a folder (run it again to resume)
  $ pcopy -j 4 build/ /srv/www                four workers
  $ pcopy --chunk-size 16k big.iso /media     one file into a directory
  $ pcopy --exclude node_modules --exclude '*.log' app /tmp/app
  $ pcopy --include '*.jpg' photos /tmp/jpgs  only JPEGs, in their folders
  $ pcopy -n -u src dest                      what would --update copy?
  $ pcopy --json src dest | jq .failures      results for scripts
`;

const SIGNAL_EXIT: Record<string, number> = { SIGINT: ExitCode.sigint, SIGTERM: ExitCode.sigterm, SIGHUP: ExitCode.sighup };

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Wraps a pcopy value parser so commander reports its message as a usage error. */
function commanderParser<T>(parse: (text: string, previous?: T) => T): (text: string, previous?: T) => T {
  return (text, previous) => {
    try {
      return parse(text, previous);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

/** Repeatable options collect one value per flag, so they never swallow SRC and DEST. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface CliOptions {
  workers?: number;
  chunkSize?: number;
  ignoreTimes?: boolean;
  ignoreExisting?: boolean;
  update?: boolean;
  modifyWindow?: number;
  exclude?: string[];
  include?: string[];
  excludeFrom?: string[];
  dereference?: boolean;
  oneFileSystem?: boolean;
  hardLinks?: boolean;
  preserve?: Preserve | false;
  fsync?: boolean;
  dryRun?: boolean;
  verify?: boolean;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  progress?: boolean;
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
    .addOption(new Option('-I, --ignore-times', 'copy even files whose size and time match').conflicts(['ignoreExisting', 'update']))
    .addOption(new Option('--ignore-existing', 'never touch an existing destination entry').conflicts(['update']))
    .option('-u, --update', 'replace a destination file only when the source is newer')
    .option('--modify-window <seconds>', 'treat times this close as equal (2 for FAT)', commanderParser(parseSeconds))
    .option('--exclude <glob>', 'skip entries matching the pattern (repeatable)', collect)
    .option('--include <glob>', 'copy only entries matching the pattern (repeatable)', collect)
    .option('--exclude-from <file>', 'read exclude patterns from a file, one a line (# comments)', collect)
    .option('-L, --dereference', 'copy what symlinks point to, not the links')
    .option('-x, --one-file-system', 'do not descend into directories on other file systems')
    .option('-H, --hard-links', 'keep files hard-linked together in SRC hard-linked in DEST')
    .option('--preserve <list>', 'metadata to keep: mode,times,owner (default: all; owner only as root)', commanderParser(parsePreserve))
    .option('--no-preserve', 'keep no metadata (modes less the umask, times of the copy)')
    .option('--fsync', 'flush each file to disk before its rename (survives power loss)')
    .option('-n, --dry-run', 'list what would be copied, unchanged or refused; write nothing')
    .option('--verify', 'read source and copy back after each file and compare hashes')
    .addOption(new Option('--json', 'print one JSON document with the result on stdout').conflicts(['verbose', 'quiet']))
    .addOption(new Option('-v, --verbose', 'print one line per entry as it completes (stdout)').conflicts(['quiet']))
    .option('-q, --quiet', 'print only errors')
    .option('--progress', 'show progress (a plain line every few seconds when not on a terminal)')
    .option('--no-progress', 'no progress bar')
    .addHelpText('after', HELP_AFTER)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/** Runs pcopy with `argv` (as `process.argv`: node, script, args…); sets `process.exitCode`. */
export async function main(args: string[]): Promise<void> {
  ignoreClosedPipes();
  const argv = exactArgv(args);
  const program = buildProgram();
  if (argv.length <= 2) {
    // No arguments at all: say what the command takes and where to learn more, not commander's
    // bare "missing required argument" (cp: "missing file operand" + "Try 'cp --help'").
    process.stderr.write(`Usage: pcopy ${program.usage()}\n${program.description()}\nRun \`pcopy --help\` for the options and examples.\n`);
    process.exitCode = ExitCode.usage;
    return;
  }
  let options: Partial<CopyOptions>;
  let cli: CliOptions;
  // Which of the two spellings of `preserve` were given as options (not as operands or values).
  const preserveFlags = new Set<string>();
  program.on('option:preserve', () => preserveFlags.add('--preserve'));
  program.on('option:no-preserve', () => preserveFlags.add('--no-preserve'));
  try {
    program.parse(argv);
    cli = program.opts<CliOptions>();
    if (preserveFlags.size === 2) throw new PcopyError('USAGE', 'options --preserve and --no-preserve cannot be used together');
    options = toCopyOptions(cli);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander exits 1 on usage errors; ours are 2, like cp and rsync. Help and version are 0.
      process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    if (err instanceof PcopyError) {
      process.stderr.write(`pcopy: ${err.message}\n`);
      process.exitCode = ExitCode.usage;
      return;
    }
    throw err;
  }
  const [src, dest] = program.args as [string, string];
  await runCopy(src, dest, options, cli);
}

/** CLI flags → copy options. */
function toCopyOptions(cli: CliOptions): Partial<CopyOptions> {
  const overwrite: OverwriteMode = cli.ignoreTimes ? 'always' : cli.ignoreExisting ? 'never' : cli.update ? 'update' : 'quick-check';
  const exclude = [...(cli.exclude ?? []), ...(cli.excludeFrom ?? []).flatMap(readPatternFile)];
  return {
    workers: cli.workers,
    chunkSize: cli.chunkSize,
    overwrite,
    modifyWindow: cli.modifyWindow,
    exclude,
    include: cli.include,
    dereference: cli.dereference,
    oneFileSystem: cli.oneFileSystem,
    hardLinks: cli.hardLinks,
    preserve: cli.preserve === false ? PRESERVE_NONE : cli.preserve,
    fsync: cli.fsync,
    dryRun: cli.dryRun,
    verify: cli.verify,
  };
}

/** One pattern a line; blank lines and `#` comments are ignored. */
function readPatternFile(file: string): string[] {
  let text: string;
  try {
    // Patterns are names: bytes that are not UTF-8 are kept (see byte-names.ts).
    text = decode(fs.readFileSync(osPath(file)));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PcopyError('USAGE', `cannot read --exclude-from file \`${display(file)}\`: ${e.code ?? e.message}`);
  }
  // Spaces are part of a pattern, at either end too (as rsync reads such a file); a line of only
  // spaces is blank.
  // Lines end with LF, CRLF or a lone CR, as rsync reads them.
  return text.split(/\r\n|\r|\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

async function runCopy(src: string, dest: string, options: Partial<CopyOptions>, cli: CliOptions): Promise<void> {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  let signalledAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // A second interrupt: leave now. Workers notice the closed channel and remove their temp
      // files. Not the same signal again at once: `timeout` and `kill` of a group send it to pcopy
      // and to its process group, which is one request to stop, not two.
      if (signal === signalled && now() - signalledAt < SAME_SIGNAL_MS) return;
      // The bar hid the cursor and turned line wrapping off: the terminal gets them back.
      reporter?.stop(false);
      exitProcess(SIGNAL_EXIT[signal] ?? ExitCode.sigint);
    }
    signalled = signal;
    signalledAt = now();
    // On a terminal, say that the stop has begun: workers may take a moment to remove their temps.
    if (process.stderr.isTTY) reporter?.print(`pcopy: stopping (${signal}); ${signal === 'SIGINT' ? 'Ctrl-C' : 'the same signal'} again quits at once`, process.stderr);
    controller.abort();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  const quiet = cli.quiet ?? false;
  const listEntries = (cli.verbose || cli.dryRun) && !cli.json && !quiet;
  // Drawn from the first event on, once SRC and DEST passed preflight: a refusal prints only itself.
  let reporter: Reporter | undefined;
  const shown = (): Reporter => (reporter ??= createReporter(process.stderr, quiet || cli.json ? false : cli.progress));
  // The root entry has path '': DEST for a directory SRC; for a file SRC where it goes (DEST, or DEST/<name>).
  let rootShown: string | undefined;
  const destOfRoot = (): string => (rootShown ??= sourceIsDirectory(src) ? dest : shownFileDestination(src, dest));
  // Entries that failed only because the pool gave up: the first few are named, the rest counted.
  let gaveUp = 0;
  try {
    const onEvent = (event: CopyEvent): void => {
      switch (event.type) {
        case 'progress':
          // A big run: V8 may optimize sooner in this process (tier-up.ts; the library leaves V8 alone).
          settleWhen(event.progress.entriesFound);
          return shown().update(event.progress);
        case 'failed':
          if (event.failure.error.code === GAVE_UP_CODE && ++gaveUp > GAVE_UP_LINES) return;
          return shown().print(`pcopy: ${formatFailure(event.failure, src, dest, event.failure.path === '' ? destOfRoot() : dest)}`, process.stderr);
        case 'skipped':
          if (!quiet) shown().print(`pcopy: ${formatSkipped(event.entry, src)}`, process.stderr);
          return;
        case 'warning':
          if (!quiet) shown().print(`pcopy: ${event.message}`, process.stderr);
          return;
        case 'entry-done':
          if (listEntries) shown().print(formatEntry(event.path, event.kind, event.outcome, options.dryRun ?? false, event.path === '' ? destOfRoot() : ''), process.stdout);
      }
    };
    const result = await copy(src, dest, { ...options, signal: controller.signal, onEvent });
    shown().stop(!result.interrupted && result.failures.length === 0);
    if (gaveUp > GAVE_UP_LINES) {
      process.stderr.write(`pcopy: … and ${groupDigits(gaveUp - GAVE_UP_LINES)} more entries not copied for the same reason (--json lists every one)\n`);
    }
    if (cli.json) process.stdout.write(`${formatJson(result, { ...resolveOptions(options) })}\n`);
    else if (!quiet) process.stdout.write(`${formatSummary(result)}\n`);
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
  }
  // Output errors come as events: one turn of the loop lets the last write's arrive.
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (stdoutError) {
    process.stderr.write(`pcopy: cannot write to standard output: ${stdoutError}\n`);
    if (!process.exitCode) process.exitCode = ExitCode.someFailed;
  }
  // What did not fit in a pipe is still queued in Node: out before the exit, or a slow reader loses
  // it (~90 KB of skip lines beyond the first 64 KiB of a pipe were dropped). A write of nothing
  // calls back once everything before it is written, or failed (a reader gone: EPIPE).
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  // The handlers stay until the process ends, and the process ends here: once the pool is closed
  // (every worker has exited), leave with process.exit rather than by draining the event loop. Node's
  // natural teardown closes the signal handles (default action again) before the process is gone, so a
  // second Ctrl-C landing in that window killed pcopy by SIGINT instead of exiting with 130.
  exitProcess();
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/** The same signal this soon after the first is the same request (sent to pcopy and its group). */
const SAME_SIGNAL_MS = 100;

/** Failure lines shown for entries left when the pool gave up (they all share one cause). */
const GAVE_UP_LINES = 10;

function exitCodeOf(result: CopyResult, signal?: NodeJS.Signals): number {
  if (result.interrupted) return SIGNAL_EXIT[signal ?? 'SIGINT'] ?? ExitCode.sigint;
  return result.failures.length > 0 ? ExitCode.someFailed : ExitCode.ok;
}

/** The first error writing to stdout other than a closed pipe (`> /dev/full`: ENOSPC), told at the end. */
let stdoutError: string | undefined;

/**
 * `pcopy … | head -1`: a reader that goes away must not turn into a crash trace, and neither may a
 * full disk under `> log`: the copy goes on, and a failed stdout is told on stderr at the end, exit
 * 1 (as cp's "write error"). A closed pipe is no error. Errors on stderr have nowhere to be told.
 */
function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (stream === process.stdout && err.code !== 'EPIPE') stdoutError ??= describeError(serializeError(err));
    });
  }
}
