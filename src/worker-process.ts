/**
 * How a worker process is started, in one place, and the early start of the first one.
 *
 * A worker takes as long to start as pcopy itself (Node's start-up, ~45-90 ms here), and on a tiny
 * tree that start-up is most of the run. So bin/pcopy.js forks the first worker before it loads the
 * CLI, when its arguments look like a copy: the worker starts while the parent loads its modules,
 * parses the arguments and checks SRC and DEST. The pool's first fork then takes that worker over.
 *
 * The early worker is kept in a process-wide slot (`Symbol.for`), because bin/pcopy.js loads this
 * module on its own while the CLI bundle holds a copy of it. It is unreferenced until taken over: a
 * run that never forks (help, a usage error, a refused SRC) exits as if it were not there, and the
 * worker sees its parent's channel close and exits too.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { WORKER_THREADS } from './worker-threads.js';

/**
 * What a worker runs (scripts/bundle.mjs): worker-start.ts, which loads the worker's bundle from its
 * code cache. CommonJS: a forked child starts ~10 ms sooner than with an ES module.
 */
const WORKER_FILE = new URL('./worker-start.cjs', import.meta.url);
/**
 * No V8 flags, and nothing of the parent's own. Not `--max-semi-space-size=2` (a smaller young
 * generation: 88 instead of 109 MiB per worker on 200,000 files, no slower there): any heap-size
 * flag on Node 20's command line costs ~7 ms of its start-up (a forked child's script started at
 * 22-25 ms instead of 15-18 ms, 6 runs each; --max-old-space-size alike, --stack-size not), and a
 * worker's start is on the critical path of every small copy.
 * Not `--single-threaded` (V8 without its helper threads): no faster once measured with memory to
 * spare (warm, 6-8 alternating runs: large 0.950 vs 0.974 s, small 0.930 vs 0.923 s).
 */
const WORKER_EXEC_ARGV: string[] = [];

const EARLY = Symbol.for('pcopy.earlyWorker');
type Slot = { [EARLY]?: ChildProcess };

/** `args` only name the worker in `ps` and in PCOPY_DEBUG_TIMING's lines. */
function spawn(args: string[]): ChildProcess {
  return fork(WORKER_FILE, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: WORKER_EXEC_ARGV,
    env: workerEnv(process.env),
  });
}

/**
 * The worker's environment: pcopy's, with its thread pool's size, less what only costs it time.
 * NODE_EXTRA_CA_CERTS makes Node read and parse a CA bundle as it starts (a system bundle: ~40 ms
 * of a core, more than the rest of Node's start-up), and a worker makes no TLS connection.
 */
function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _unused, ...rest } = env;
  return { ...rest, UV_THREADPOOL_SIZE: String(WORKER_THREADS) };
}

/** A worker process: the early one if it is still alive, else a new one. */
export function forkWorker(): ChildProcess {
  const slot = globalThis as Slot;
  const early = slot[EARLY];
  delete slot[EARLY];
  if (early && early.connected && early.exitCode === null && early.signalCode === null) {
    early.ref();
    early.channel?.ref();
    return early;
  }
  early?.kill(); // the slot holds only a worker that started (see forkEarlyWorker)
  return spawn([]);
}

/**
 * Whether `args` (argv without node and the script) look like a copy: two words that are not
 * options (option values count too), and no help or version flag. A wrong guess costs only the CPU
 * of a worker that exits with pcopy.
 */
export function looksLikeCopy(args: string[]): boolean {
  const operands = args.filter((a) => !a.startsWith('-'));
  return operands.length >= 2 && !args.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version');
}

/** Forks the first worker now when `args` look like a copy. */
export function forkEarlyWorker(args: string[]): void {
  if (!looksLikeCopy(args)) return;
  let child: ChildProcess;
  try {
    child = spawn(['early']);
  } catch {
    return; // out of processes or descriptors: the pool forks (and reports) as usual
  }
  child.on('error', () => {});
  // It failed (EMFILE, EAGAIN…): its error comes on the next tick, and until then its handle has no
  // pid, so a kill() would signal pid 0, our own process group. Not kept: the pool forks again.
  if (!child.pid) return;
  child.unref();
  child.channel?.unref();
  (globalThis as Slot)[EARLY] = child;
}
