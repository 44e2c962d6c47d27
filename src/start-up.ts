/**
 * What bin/pcopy.js runs: the early fork of the first worker (worker-process.ts), before the ~290 KB
 * CLI bundle is read; then the CLI from its code cache (code-cache.ts), and V8's later tier-up
 * (tier-up.ts) once it has loaded, as the cache and Node's own modules' caches were made under
 * Node's flags. Bundled on its own (dist/start-up.cjs).
 */
import { loadBundle } from './code-cache.js';
import { tierUpLater } from './tier-up.js';
import { forkEarlyWorker } from './worker-process.js';

export { loadBundle };

export function startUp(args: string[]): void {
  forkEarlyWorker(args);
}

/** The CLI's bundle, loaded; V8 tiers up later from now on. */
export function loadCli(file: string): { main(argv: string[]): unknown } {
  const cli = loadBundle(file) as { main(argv: string[]): unknown };
  tierUpLater();
  return cli;
}
